package org.lguest.api.cpu;

import org.osgi.annotation.versioning.ConsumerType;

/** A service that runs guest CPUs. The Host core takes the highest-ranked one. */
@ConsumerType
public interface VcpuBackend {

    /** A short name for listings ("unicorn"). */
    String name();

    /**
     * What runs the guests, for people: the name and the engine's version
     * ("unicorn 2.1.1"). The default is {@link #name()}.
     *
     * @since 1.1
     */
    default String description() {
        return name();
    }

    /**
     * Creates an engine for one guest CPU over the guest's machine and the
     * CPU's state, on the CPU's owner thread.
     *
     * @throws VcpuException when the engine cannot be created
     */
    Vcpu create(GuestMachine machine, VcpuState state) throws VcpuException;
}
