package org.lguest.device.internal;

import java.util.concurrent.atomic.AtomicLongArray;
import java.util.concurrent.locks.Condition;
import java.util.concurrent.locks.ReentrantLock;

import org.lguest.api.abi.LguestPending;
import org.lguest.api.cpu.Reg;
import org.lguest.api.cpu.Vcpu;
import org.lguest.api.cpu.VcpuBackend;
import org.lguest.api.cpu.VcpuState;

/**
 * "struct lg_cpu": one guest CPU. The owner thread (the seed's task) runs
 * it inside read() and holds {@link #lock} all the time except while the
 * guest actually runs or the CPU sleeps ({@link #phase} says which); other
 * threads (LHREQ_IRQ, GETREG/SETREG, the timer, close, a departing
 * backend) take the lock, so they see the CPU between two runs.
 */
final class Cpu {
    /**
     * Where the owner thread is with this CPU, as Firecracker names its vCPU
     * states. Only the owner moves it, always under {@link #lock}; other
     * threads read it under the lock to know whether to kick (RUNNING) or
     * wait for the owner to leave read() (anything but OUTSIDE).
     */
    enum Phase {
        /** Not in read(): the Launcher holds the last answer, or has not asked yet. */
        OUTSIDE,
        /** In read(), running Host code with the lock held: settling hypercalls, notifications, interrupts. */
        IN_HOST,
        /** In Vcpu.run(): guest code runs and the lock is free; reaching the CPU needs a kick. */
        RUNNING,
        /** Asleep in read() after LHCALL_HALT, until an interrupt or close() wakes it. */
        HALTED,
        /** Asleep in read() while another thread works on the CPU through Core.paused(). */
        PAUSED;

        /** Whether the owner may go from this phase to {@code next}: every move passes through IN_HOST. */
        boolean mayBecome(Phase next) {
            return switch (this) {
                case OUTSIDE -> next == IN_HOST;
                case IN_HOST -> next != IN_HOST;
                case RUNNING, HALTED, PAUSED -> next == IN_HOST;
            };
        }
    }

    // Fixed when made.
    final int id;
    final Guest lg;

    // Set by LHREQ_INITIALIZE before any other thread can reach the CPU; state is dropped by close() under lock.
    /** task: the Launcher thread which owns this CPU; only it may read(). */
    Thread tsk;
    /** regs: the registers and descriptor state, which outlive any one engine. */
    VcpuState state;
    /** hrt: this CPU's clock event device. */
    ClockDevice hrt;

    // The lock every other group below lives under, and its two conditions.
    final ReentrantLock lock = new ReentrantLock();
    /** Signalled when an interrupt arrives, a pause ends, or the file closes. */
    final Condition wake = lock.newCondition();
    /** Signalled when the CPU leaves run() or read(). */
    final Condition idle = lock.newCondition();

    // Under lock: the owner's phase, and the threads waiting to work on a CPU that is not running.
    private Phase phase = Phase.OUTSIDE;
    int pauseRequests;

    // Under lock: the engine (made by the owner; dropped by the owner, close() or a departing backend).
    /** The engine and the backend that made it: null until first needed. */
    Vcpu vcpu;
    VcpuBackend vcpuFrom;
    /** We said once that there is no engine or page-table manager; do not say it on every read. */
    boolean warnedNoEngine;

    // Under lock: guest CPU state, written by the owner in hypercalls and traps, read by requests from others.
    /** arch.idt: the guest's IDT as lguest keeps it after its checks, the two 32-bit halves of each entry. */
    final int[] idtLo = new int[Abi.IDT_ENTRIES];
    final int[] idtHi = new int[Abi.IDT_ENTRIES];
    /** esp1, ss1: the kernel stack SET_STACK gave us, where traps from user mode land. */
    int esp1;
    int ss1;
    /** ts: LHCALL_TS, the guest wants device-not-available traps. */
    long ts;
    /** halted: LHCALL_HALT, sleep until an interrupt. */
    boolean halted;
    /** pending_notify: an LHCALL_NOTIFY address not yet delivered (0: none). */
    long pendingNotify;
    /** pending: a trap for the Launcher, or null. */
    LguestPending pendingTrap;
    /** reg_read: after LHREQ_GETREG, the register the next read returns, or null. */
    Reg regRead;
    /** hcall: a synchronous hypercall waiting to be done, arg0 (the call) to arg4, or null. */
    long[] hcall;
    /** next_hcall: where we are in the asynchronous hypercall ring. */
    int nextHcall;
    /** The gpgdir of lguest's pgdirs[cpu_pgd]: the guest page directory of the last NEW_PGTABLE, -1 on the boot tables. */
    long guestPgdir = -1;
    /** arch.last_pagefault: the faulting address of the last page fault. */
    long lastPagefault;

    // Lock-free: raised by any thread, taken by the owner.
    /** irqs_pending: pending virtual interrupts, one bit per external vector. */
    final AtomicLongArray irqsPending = new AtomicLongArray(4);
    /** The Host's look, every few milliseconds, for an interrupted reader (see Core); volatile. */
    volatile java.util.concurrent.ScheduledFuture<?> watch;

    // Owner thread writes, any thread reads racily: figures for /metrics and lguest:stats, not for decisions.
    /** Exits, hypercalls, faults, interrupts, time running and halted (CpuCounters). */
    final CpuCounters counters;

    Cpu(int id, Guest lg) {
        this.id = id;
        this.lg = lg;
        this.counters = CpuCounters.of(lg.host);
    }

    /** The owner's phase; read with {@link #lock} held. */
    Phase phase() {
        return phase;
    }

    /**
     * Moves the owner to {@code next}, with {@link #lock} held. A move the
     * run loop never makes means the loop is broken, so it fails loudly.
     */
    void enter(Phase next) {
        if (!phase.mayBecome(next)) {
            throw new IllegalStateException("CPU " + id + " cannot go from " + phase + " to " + next);
        }
        phase = next;
    }

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
    // Under lock: written by Core.handleNow, read when the engine closes.
    final long[] hookCounts = new long[HOOK_OUTCOMES.length];

    String hookCountsText() {
        StringBuilder text = new StringBuilder();
        for (int i = 0; i < HOOK_OUTCOMES.length; i++) {
            text.append(i == 0 ? "" : ", ").append(HOOK_OUTCOMES[i]).append(' ').append(hookCounts[i]);
        }
        return text.toString();
    }

    /** Something in pending_notify or pending.trap: the Launcher must see it first. */
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
