package org.lguest.api.cpu;

import org.osgi.annotation.versioning.ConsumerType;

/**
 * Where a guest CPU's port I/O ({@code in}, {@code out}) goes when its
 * engine runs those instructions instead of trapping them. The backend calls
 * it synchronously on the CPU's owner thread, inside {@link Vcpu#run}, once
 * per access; the guest waits for the answer. A port nobody owns reads as all
 * ones and swallows writes, as an absent device does on a PC.
 * <p>
 * Implementations must not throw: a failure here is the engine's, and ends
 * the run with a {@link VcpuException}.
 */
@ConsumerType
public interface PortIo {

    /** Whether a device answers at I/O port {@code port} (0 to 0xFFFF). */
    boolean owns(int port);

    /**
     * An {@code in} of {@code size} bytes (1, 2 or 4) from a port this handler
     * owns; only the low {@code size} bytes of the answer count.
     */
    int in(int port, int size);

    /** An {@code out} of the low {@code size} bytes (1, 2 or 4) of {@code value} to a port this handler owns. */
    void out(int port, int size, int value);
}
