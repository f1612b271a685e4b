package org.lguest.api.paging;

import java.util.function.Consumer;

import org.lguest.api.cpu.GuestMachine;
import org.osgi.annotation.versioning.ConsumerType;

/** A service that keeps shadow page tables; the Host core creates one set per guest. */
@ConsumerType
public interface PageTableManager {

    /**
     * The guest's page tables as lguest sets them up at boot: until the guest
     * loads its own directory, virtual addresses map linearly onto its RAM.
     *
     * @param machine the guest's RAM, frame limit and host area (where shadows live)
     * @param killGuest called with a reason when the guest breaks a paging rule
     */
    GuestPageTables create(GuestMachine machine, Consumer<String> killGuest);

    /**
     * What kind of page tables it keeps, for people ("shadow"). The default
     * is the implementation's class name.
     *
     * @since 1.1
     */
    default String description() {
        return getClass().getSimpleName();
    }
}
