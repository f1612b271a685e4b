package org.lguest.api.device;

import java.util.Map;

/**
 * What the Host counted for one guest (all its CPUs) since it was initialized:
 * a copy taken when asked, each figure only growing. The Host counts on each
 * CPU's own thread and a reader takes the figures as they are, so two figures
 * of one copy may be a few events apart.
 *
 * @param counting whether the Host counts for this guest (it may be configured not to); all zero when not
 * @param exits times the guest left the CPU, by kind: {@code "hypercall"}, {@code "page fault"},
 *     {@code "general protection"}, {@code "software interrupt"}, {@code "external interrupt"},
 *     {@code "other trap"}, {@code "kick"}; kinds never seen are left out
 * @param hypercalls hypercalls done, by call number ({@link org.lguest.api.abi.Lhcall}), the ring's included
 * @param faultsFilled page faults the Host settled by filling a shadow entry; the guest never saw them
 * @param faultsReflected page faults handed to the guest's own handler
 * @param interruptsDelivered interrupts pushed onto the guest's stack for its handler
 * @param runningNanos time spent running guest code (in the engine, exits handled there included)
 * @param haltedNanos time spent halted, waiting for an interrupt
 * @since 1.3
 */
public record GuestCounters(boolean counting, Map<String, Long> exits, Map<Integer, Long> hypercalls,
        long faultsFilled, long faultsReflected, long interruptsDelivered, long runningNanos, long haltedNanos) {

    /** From a Host that counts nothing. */
    public static final GuestCounters NONE = new GuestCounters(false, Map.of(), Map.of(), 0, 0, 0, 0, 0);

    public GuestCounters {
        exits = Map.copyOf(exits);
        hypercalls = Map.copyOf(hypercalls);
    }
}
