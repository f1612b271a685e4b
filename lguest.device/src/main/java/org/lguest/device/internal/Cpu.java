package org.lguest.device.internal;

import java.util.concurrent.atomic.AtomicLongArray;
import java.util.concurrent.locks.Condition;
import java.util.concurrent.locks.ReentrantLock;

import org.lguest.api.cpu.Reg;
import org.lguest.api.cpu.Vcpu;
import org.lguest.api.cpu.VcpuBackend;
import org.lguest.api.cpu.VcpuState;

/**
 * "struct lg_cpu": one guest CPU. The owner thread (the seed's task) runs
 * it inside read() and holds {@link #lock} all the time except while the
 * guest actually runs ({@link #running}) or the CPU sleeps; other threads
 * (LHREQ_IRQ, GETREG/SETREG, the timer, close, a departing backend) take
 * the lock, so they see the CPU between two runs.
 */
final class Cpu {
    final int id;
    final Guest lg;

    /** The Launcher thread which owns this CPU: only it may read(). */
    Thread tsk;
    /** The registers and descriptor state: the seed's register page. */
    VcpuState state;

    final ReentrantLock lock = new ReentrantLock();
    /** Signalled when an interrupt arrives, a pause ends, or the file closes. */
    final Condition wake = lock.newCondition();
    /** Signalled when the CPU leaves run() or read(). */
    final Condition idle = lock.newCondition();
    /** The owner is inside read(). */
    boolean inRead;
    /** The owner is inside Vcpu.run() (the lock is then free). */
    boolean running;
    /** Threads waiting to do something to a CPU that is not running. */
    int pauseRequests;

    /** The engine and the backend that made it: null until first needed. */
    Vcpu vcpu;
    VcpuBackend vcpuFrom;
    /** We said once that there is no engine or page-table manager; do not say it on every read. */
    boolean warnedNoEngine;

    /** The guest's IDT, as lguest keeps it after its checks: the two 32-bit halves of each entry. */
    final int[] idtLo = new int[Abi.IDT_ENTRIES];
    final int[] idtHi = new int[Abi.IDT_ENTRIES];

    /** The kernel stack SET_STACK gave us: where traps from user mode land. */
    int esp1;
    int ss1;
    /** LHCALL_TS: the guest wants device-not-available traps. */
    long ts;
    /** LHCALL_HALT: sleep until an interrupt. */
    boolean halted;

    /** An LHCALL_NOTIFY address not yet delivered (0: none). */
    long pendingNotify;
    /** A trap for the Launcher, or null. */
    PendingTrap pendingTrap;
    /** LHREQ_GETREG: the register the next read returns, or null. */
    Reg regRead;

    /** A synchronous hypercall waiting to be done: arg0 (the call) to arg4, or null. */
    long[] hcall;
    /** Where we are in the asynchronous hypercall ring. */
    int nextHcall;

    /** Pending virtual interrupts: one bit per external vector. */
    final AtomicLongArray irqsPending = new AtomicLongArray(4);

    /** This CPU's clock event device. */
    ClockDevice hrt;
    /** The Host's look, every few milliseconds, for an interrupted reader (see Core). */
    volatile java.util.concurrent.ScheduledFuture<?> watch;

    /** The guest page directory of the last NEW_PGTABLE, -1 while on the boot tables. */
    long guestPgdir = -1;
    /** The faulting address of the last page fault. */
    long lastPagefault;

    /** Exits, hypercalls, faults, interrupts, time (CpuCounters); written only by the owner thread. */
    final CpuCounters counters;

    Cpu(int id, Guest lg) {
        this.id = id;
        this.lg = lg;
        this.counters = CpuCounters.of(lg.host);
    }

    /** Something in pending_notify or pending.trap: the Launcher must see it first. */
    /*
     * What became of the exits a backend handed over from inside its engine
     * (Core.handleNow), by outcome: settled and resumed; stopped because the
     * Launcher, a halt or the loop (death, pause, signal, a service gone)
     * needs read(); declined because another thread held the lock, or the
     * CPU could not take it then.
     */
    static final int HOOK_RESUMED = 0, HOOK_LAUNCHER = 1, HOOK_HALT = 2, HOOK_LOOP = 3, HOOK_BUSY = 4, HOOK_NOT_NOW = 5;
    private static final String[] HOOK_OUTCOMES = {"resumed", "stopped for the Launcher", "stopped for a halt",
        "stopped for the loop", "declined (lock busy)", "declined (not now)"};
    final long[] hookCounts = new long[HOOK_OUTCOMES.length];

    String hookCountsText() {
        StringBuilder text = new StringBuilder();
        for (int i = 0; i < HOOK_OUTCOMES.length; i++) {
            text.append(i == 0 ? "" : ", ").append(HOOK_OUTCOMES[i]).append(' ').append(hookCounts[i]);
        }
        return text.toString();
    }

    boolean needsLauncher() {
        return pendingNotify != 0 || pendingTrap != null;
    }

    /** Any interrupt pending at all (blocked or not): the run loop's fast check. */
    boolean anyIrqPending() {
        for (int i = 0; i < irqsPending.length(); i++) {
            if (irqsPending.get(i) != 0) {
                return true;
            }
        }
        return false;
    }

    boolean irqPending(int irq) {
        return (irqsPending.get(irq >>> 6) & (1L << (irq & 63))) != 0;
    }

    void setIrq(int irq) {
        irqsPending.getAndUpdate(irq >>> 6, w -> w | (1L << (irq & 63)));
    }

    void clearIrq(int irq) {
        irqsPending.getAndUpdate(irq >>> 6, w -> w & ~(1L << (irq & 63)));
    }
}
