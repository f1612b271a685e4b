package org.lguest.device.internal;

import java.util.LinkedHashMap;
import java.util.Map;
import java.util.TreeMap;

import org.lguest.api.abi.Lguest;
import org.lguest.api.abi.Lhcall;
import org.lguest.api.cpu.VcpuExit;
import org.lguest.api.device.GuestCounters;
import org.lguest.api.paging.GuestPageTables;

/**
 * One guest CPU's counters for /metrics and lguest:stats: exits by kind,
 * hypercalls by number, page faults filled or reflected, interrupts delivered,
 * time running and halted.
 * <p>
 * Owner: the CPU's own thread (the Launcher's reader inside read(), and the
 * engine's exit hook on that same thread) is the only writer, so every field
 * is a plain long with no fence or atomic on the hot path. Any other thread
 * reads them racily through {@link #addTo}: a 64-bit JVM never tears a long,
 * and a figure a moment old is good enough for a scrape.
 * <p>
 * A Host configured not to count makes CPUs whose counters are off: every
 * method then returns at its first test.
 */
final class CpuCounters {
    /** Exit kinds, in the order they are listed. */
    private static final String[] EXIT_KINDS = {"hypercall", "page fault", "general protection",
        "software interrupt", "external interrupt", "other trap", "kick"};
    private static final int HYPERCALL = 0, PAGE_FAULT = 1, GP = 2, SOFTWARE = 3, EXTERNAL = 4, OTHER = 5,
        KICK = 6;
    /** Hypercall numbers past this are counted in the last slot (the Host kills the guest for them anyway). */
    private static final int HYPERCALL_SLOTS = 32;

    /** Final for a CPU's counters; a guest's sum turns it on while it adds (see of(Guest)). */
    private boolean on;
    private final long[] exits = new long[EXIT_KINDS.length];
    private final long[] hypercalls = new long[HYPERCALL_SLOTS];
    private long faultsFilled;
    private long faultsReflected;
    private long interruptsDelivered;
    private long runningNanos;
    private long haltedNanos;

    CpuCounters(boolean on) {
        this.on = on;
    }

    /** For a CPU of {@code host}: on unless the Host's configuration turned counting off. */
    static CpuCounters of(Host host) {
        return new CpuCounters(host == null || host.countPerGuest);
    }

    /** Every exit the run loop or the engine's hook handles. */
    void exit(VcpuExit exit) {
        if (!on) {
            return;
        }
        exits[kindOf(exit)]++;
    }

    private static int kindOf(VcpuExit exit) {
        if (exit.kind() == VcpuExit.Kind.KICKED) {
            return KICK;
        }
        int vector = exit.vector();
        if (vector == Lhcall.TRAP_ENTRY) {
            return HYPERCALL;
        }
        if (exit.softwareInterrupt()) {
            return SOFTWARE;
        }
        if (vector == Abi.TRAP_PF) {
            return PAGE_FAULT;
        }
        if (vector == Abi.TRAP_GP) {
            return GP;
        }
        return vector >= Lguest.FIRST_EXTERNAL_VECTOR ? EXTERNAL : OTHER;
    }

    /** One hypercall about to be done (synchronous or from the ring). */
    void hypercall(long call) {
        if (!on) {
            return;
        }
        hypercalls[call >= 0 && call < HYPERCALL_SLOTS ? (int) call : HYPERCALL_SLOTS - 1]++;
    }

    /** What the shadow page tables made of a guest page fault; returned as given, for the caller's switch. */
    GuestPageTables.Fault pageFault(GuestPageTables.Fault fault) {
        if (on) {
            if (fault == GuestPageTables.Fault.FILLED) {
                faultsFilled++;
            } else if (fault == GuestPageTables.Fault.GUEST) {
                faultsReflected++;
            }
        }
        return fault;
    }

    /** An interrupt's frame pushed for the guest's handler. */
    void interruptDelivered() {
        if (on) {
            interruptsDelivered++;
        }
    }

    /** A start time for {@link #running} or {@link #halted}; 0 (and no clock read) when off. */
    long start() {
        return on ? System.nanoTime() : 0;
    }

    /** The CPU ran guest code since {@code start}. */
    void running(long start) {
        if (on) {
            runningNanos += System.nanoTime() - start;
        }
    }

    /** The CPU slept halted since {@code start}. */
    void halted(long start) {
        if (on) {
            haltedNanos += System.nanoTime() - start;
        }
    }

    /** The sum over {@code guest}'s CPUs; NONE for no guest. Any thread. */
    static GuestCounters of(Guest guest) {
        if (guest == null) {
            return GuestCounters.NONE;
        }
        // The sum is a CpuCounters of its own, owned by this thread; it is "on" once any CPU counts.
        CpuCounters sum = new CpuCounters(false);
        for (int i = 0; i < guest.nrCpus; i++) {
            Cpu cpu = guest.cpus[i];
            if (cpu != null) {
                cpu.counters.addTo(sum);
            }
        }
        return sum.toCounters();
    }

    /** Adds this CPU's figures into a guest's sum. Any thread; racy reads (see the class comment). */
    private void addTo(CpuCounters sum) {
        sum.on |= on;
        for (int i = 0; i < exits.length; i++) {
            sum.exits[i] += exits[i];
        }
        for (int i = 0; i < hypercalls.length; i++) {
            sum.hypercalls[i] += hypercalls[i];
        }
        sum.faultsFilled += faultsFilled;
        sum.faultsReflected += faultsReflected;
        sum.interruptsDelivered += interruptsDelivered;
        sum.runningNanos += runningNanos;
        sum.haltedNanos += haltedNanos;
    }

    private GuestCounters toCounters() {
        Map<String, Long> byKind = new LinkedHashMap<>();
        for (int i = 0; i < exits.length; i++) {
            if (exits[i] != 0) {
                byKind.put(EXIT_KINDS[i], exits[i]);
            }
        }
        Map<Integer, Long> byNumber = new TreeMap<>();
        for (int i = 0; i < hypercalls.length; i++) {
            if (hypercalls[i] != 0) {
                byNumber.put(i, hypercalls[i]);
            }
        }
        return new GuestCounters(on, byKind, byNumber, faultsFilled, faultsReflected, interruptsDelivered,
            runningNanos, haltedNanos);
    }
}
