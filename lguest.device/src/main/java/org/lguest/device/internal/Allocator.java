package org.lguest.device.internal;

import java.lang.System.Logger.Level;
import java.util.function.Supplier;

/**
 * Where the Host core allocates what a guest needs, one named step at a
 * time, so a test can make any one of them fail and watch the unwinding
 * (the seed's {@code kzalloc}/{@code get_zeroed_page} returning NULL).
 */
interface Allocator {

    /** The allocations, in the order {@code LHREQ_INITIALIZE} makes them, and the eventfd map entry. */
    enum Step {
        /** {@code struct lguest}. */
        GUEST,
        /** The empty eventfd map. */
        EVENTFD_MAP,
        /** CPU 0's register page (its {@link org.lguest.api.cpu.VcpuState}). */
        REGISTER_PAGE,
        /** The native host area the shadow page tables and the switcher live in. */
        HOST_AREA,
        /** The shadow page tables ({@code init_guest_pagetable}). */
        PAGE_TABLES,
        /** The one-larger eventfd map of {@code LHREQ_EVENTFD}. */
        EVENTFD_ENTRY
    }

    /**
     * Performs one allocation.
     *
     * @return what {@code allocation} made, or null when it could not be made (the caller answers ENOMEM)
     */
    <T> T allocate(Step step, Supplier<? extends T> allocation);

    /** The real allocator: the JVM's and the native heap's failures become null. */
    Allocator DEFAULT = new Allocator() {
        private final System.Logger log = System.getLogger("org.lguest.device");

        @Override
        public <T> T allocate(Step step, Supplier<? extends T> allocation) {
            try {
                return allocation.get();
            } catch (OutOfMemoryError | RuntimeException e) {
                log.log(Level.WARNING, "lguest: allocation " + step + " failed: " + e);
                return null;
            }
        }
    };
}
