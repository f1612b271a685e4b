package org.lguest.device.internal;

import static org.lguest.api.abi.Lguest.LGUEST_IRQS;

import java.lang.System.Logger.Level;
import java.lang.foreign.MemorySegment;
import java.util.concurrent.TimeUnit;

import org.lguest.api.abi.Errno;
import org.lguest.api.abi.LguestPending;
import org.lguest.api.abi.Lhreq;
import org.lguest.api.abi.ProtocolWords;
import org.lguest.api.cpu.ExitHandler;
import org.lguest.api.cpu.Vcpu;
import org.lguest.api.cpu.VcpuBackend;
import org.lguest.api.cpu.VcpuException;
import org.lguest.api.cpu.VcpuExit;
import org.lguest.api.paging.GuestPageTables;
import org.lguest.api.paging.PageTableManager;

/*P:400
 * The run loop behind read(): it enters the Guest through the vCPU
 * backend, handles each exit, and returns once the Launcher has work.
 * The engine and the shadow page tables are services that can be swapped
 * or vanish at any time, so Core (re)creates them on demand; the Guest's
 * own state never depends on them.
 */
final class Core {
    private static final System.Logger LOG = System.getLogger("org.lguest.device");
    /** How long a thread that needs a running CPU out of the guest waits before kicking again. */
    private static final long KICK_INTERVAL_MS = 100;
    /** After this long we say we are still waiting for a CPU to come out. */
    private static final long WARN_AFTER_MS = 5_000;

    private final Host host;

    Core(Host host) {
        this.host = host;
    }

    /*L:040
     * The file has already checked the request (a Guest, a valid CPU, the
     * owning thread, not dead). Core holds the CPU's lock for the whole
     * read, letting go only while Guest code runs.
     */
    long read(Cpu cpu, MemorySegment user) {
        cpu.lock.lock();
        try {
            if (cpu.lg.closed) {
                return -Errno.EBADF;
            }
            cpu.enter(Cpu.Phase.IN_HOST);
            watch(cpu);
            /* A NOTIFY or trap handed out by the previous read() is now the Launcher's; forget it. */
            cpu.pendingNotify = 0;
            cpu.pendingTrap = null;
            return runGuest(cpu, user);
        } finally {
            leaveRead(cpu);
            cpu.lock.unlock();
        }
    }

    /** The owner leaves read(), with the lock held: an engine close() left behind is freed by the thread that made it. */
    private static void leaveRead(Cpu cpu) {
        if (cpu.phase() != Cpu.Phase.OUTSIDE) {
            cpu.enter(Cpu.Phase.OUTSIDE);
        }
        if (cpu.lg.closed && cpu.vcpu != null) {
            closeVcpu(cpu);
        }
        cpu.idle.signalAll();
    }

    /** A step of the loop below that has no answer for read() yet: go on. */
    private static final long CARRY_ON = Long.MIN_VALUE;

    /*H:030
     * The loop: settle what is pending (hypercalls, notifications, traps,
     * interrupts), enter the Guest, handle the exit, repeat. Each return
     * hands the Launcher a word, a trap record or an errno.
     */
    private long runGuest(Cpu cpu, MemorySegment user) {
        Guest lg = cpu.lg;
        /* A pending LHREQ_GETREG: this read answers with the register and runs nothing. */
        if (cpu.regRead != null) {
            return answerRegister(cpu, user);
        }
        /* A dead Guest leaves the loop; deathAnswer says how it died. */
        while (!lg.isDead()) {
            if (lg.closed) {
                return -Errno.EBADF;
            }
            /* Hypercalls the Guest left us (a trap or the ring) come first. */
            long answer = doHypercalls(cpu);
            if (answer != CARRY_ON) {
                return answer;
            }
            /* LHCALL_NOTIFY: for an eventfd if one is attached to the value, else for the Launcher. */
            if (cpu.pendingNotify != 0) {
                if (!sendNotifyToEventfd(cpu)) {
                    return answerWord(user, cpu.pendingNotify);
                }
                /* An eventfd took it. A ring paused at it is finished before entry (lguest dropped the call). */
                if (cpu.hcall != null) {
                    continue;
                }
            }
            /* A trap meant for the Launcher: copy its record out and return. */
            if (cpu.pendingTrap != null) {
                return answerTrap(cpu, user);
            }
            /* Thread interrupt is our signal: EINTR, with the flag left set for the caller. */
            if (Thread.currentThread().isInterrupted()) {
                return -Errno.EINTR;
            }
            /* An interrupt the Guest accepts now is pushed, so its handler runs first on entry. */
            answer = deliverInterrupt(cpu);
            if (answer != CARRY_ON) {
                return answer;
            }
            /* The work above may have killed the Guest; check before entering it. */
            if (lg.isDead()) {
                break;
            }
            /* LHCALL_HALT: park until an interrupt (the clock timer, an LHREQ_IRQ) wakes the CPU. */
            if (cpu.halted) {
                answer = sleepWhileHalted(cpu);
                if (answer != CARRY_ON) {
                    return answer;
                }
                continue;
            }
            /* Another thread needs the CPU outside the Guest (a service swap): wait until it is done. */
            answer = waitOutPauses(cpu);
            if (answer != CARRY_ON) {
                return answer;
            }
            if (lg.closed) {
                continue;
            }
            /* Enter the Guest, then act on the exit: fault, hypercall, interrupt window, and so on. */
            answer = enterGuestAndHandleExit(cpu);
            if (answer != CARRY_ON) {
                return answer;
            }
        }
        return deathAnswer(lg);
    }

    /** The register an LHREQ_GETREG asked for, as this read's one word. */
    private static long answerRegister(Cpu cpu, MemorySegment user) {
        long answer = answerWord(user, cpu.state.regs().get(cpu.regRead) & 0xFFFF_FFFFL);
        if (answer > 0) {
            cpu.regRead = null;
        }
        return answer;
    }

    /** read() answers one word: its length, or EFAULT when the caller's buffer cannot take it. */
    private static long answerWord(MemorySegment user, long word) {
        try {
            ProtocolWords.put(user, word);
        } catch (ProtocolWords.BadBuffer e) {
            return -Errno.EFAULT;
        }
        return Lhreq.WORD;
    }

    /** read() answers the pending trap's record. */
    private static long answerTrap(Cpu cpu, MemorySegment user) {
        try {
            ProtocolWords.putBytes(user, cpu.pendingTrap.encode(), LguestPending.SIZE);
        } catch (ProtocolWords.BadBuffer e) {
            return -Errno.EFAULT;
        }
        return LguestPending.SIZE;
    }

    /** do_hypercalls(), once an engine exists for them to use. */
    private long doHypercalls(Cpu cpu) {
        if (cpu.hcall == null) {
            return CARRY_ON;
        }
        int err = ensureEngine(cpu);
        if (err < 0) {
            return err;
        }
        host.hypercalls.doHypercalls(cpu);
        return CARRY_ON;
    }

    /** try_deliver_interrupt() for the first pending interrupt, once the page tables exist to push its frame. */
    private long deliverInterrupt(Cpu cpu) {
        int irq = host.interrupts.interruptPending(cpu);
        if (irq < LGUEST_IRQS) {
            int err = ensurePaging(cpu);
            if (err < 0) {
                return err;
            }
            host.interrupts.tryDeliverInterrupt(cpu, irq);
        }
        return CARRY_ON;
    }

    /** Sleeps in HALTED until woken; EINTR if the owner is interrupted meanwhile. */
    private long sleepWhileHalted(Cpu cpu) {
        /* Re-check under the lock: an interrupt raised since the loop looked must not be slept through. */
        if (host.interrupts.interruptPending(cpu) >= LGUEST_IRQS && !cpu.lg.closed) {
            /*
             * A sleeping thread sees a Java interrupt at once, so the clock's watch has nothing to do for a halted
             * CPU: it is cancelled for the sleep and set again before the guest runs. With a thousand idle guests
             * that saves the shared clock thread a hundred thousand wake-ups a second.
             */
            unwatch(cpu);
            long haltedSince = cpu.counters.start();
            try {
                return sleep(cpu, Cpu.Phase.HALTED);
            } finally {
                cpu.counters.halted(haltedSince);
                watch(cpu);
            }
        }
        return CARRY_ON;
    }

    /** paused(): another thread needs the CPU outside the Guest, e.g. to swap a service; wait until it is done. */
    private static long waitOutPauses(Cpu cpu) {
        while (cpu.pauseRequests > 0 && !cpu.lg.closed) {
            long answer = sleep(cpu, Cpu.Phase.PAUSED);
            if (answer != CARRY_ON) {
                return answer;
            }
        }
        return CARRY_ON;
    }

    /** One wait on {@code wake}, in {@code phase}; EINTR, with the flag kept, if interrupted. */
    private static long sleep(Cpu cpu, Cpu.Phase phase) {
        cpu.enter(phase);
        try {
            cpu.wake.await();
            return CARRY_ON;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return -Errno.EINTR;
        } finally {
            cpu.enter(Cpu.Phase.IN_HOST);
        }
    }

    /** Enters the Guest, with an engine made now if there is none, and handles the exit. */
    private long enterGuestAndHandleExit(Cpu cpu) {
        int err = ensureEngine(cpu);
        if (err < 0) {
            return err;
        }
        VcpuExit exit;
        try {
            exit = runOnce(cpu);
        } catch (VcpuException | RuntimeException e) {
            /* A backend fault is not the Guest's: drop the engine, keep the Guest, report EIO. */
            LOG.log(Level.ERROR, "lguest: CPU " + cpu.id + ": the vCPU engine failed; the guest is kept", e);
            closeVcpu(cpu);
            return -Errno.EIO;
        }
        host.traps.handleTrap(cpu, exit);
        return CARRY_ON;
    }

    /*
     * A shutdown asking for a restart answers ERESTART: the Launcher boots
     * again. Any other death answers ENOENT, and the next read() gives the
     * reason.
     */
    private static long deathAnswer(Guest lg) {
        return lg.dead() instanceof DeathReason.RestartRequested ? -Errno.ERESTART : -Errno.ENOENT;
    }

    /** Bounds the hypercall/notify round below; the loop in runGuest has the same shape. */
    private static final int SETTLE_ROUNDS = 4;

    /*H:031
     * The run loop's body, for a backend that can keep the Guest running
     * across an exit: called from inside vcpu.run() on this CPU's thread,
     * while the lock is free. It handles the exit as the loop would and
     * settles what the loop settles before re-entry (hypercalls and the
     * ring, notifications an eventfd takes, interrupts), then lets the
     * Guest go on. Whatever needs read() to return (the Launcher, a halt,
     * a pause, a death, a kick) is left to the loop: STOP. If the lock is
     * taken, another thread is busy with this CPU: DECLINE, and the loop
     * sees the exit as ever.
     */
    ExitHandler.Action handleNow(Cpu cpu, VcpuExit exit) {
        if (!cpu.lock.tryLock()) {
            return decline(cpu, Cpu.HOOK_BUSY);
        }
        try {
            Guest lg = cpu.lg;
            if (lg.closed || lg.isDead() || cpu.pauseRequests > 0 || cpu.vcpu == null || lg.pageTables == null
                || Thread.currentThread().isInterrupted()) {
                return decline(cpu, Cpu.HOOK_NOT_NOW);
            }
            host.traps.handleTrap(cpu, exit);
            for (int round = 0; round < SETTLE_ROUNDS && cpu.hcall != null && !lg.isDead(); round++) {
                host.hypercalls.doHypercalls(cpu);
                if (cpu.pendingNotify != 0 && !sendNotifyToEventfd(cpu)) {
                    break; // the Launcher's
                }
            }
            if (cpu.pendingNotify != 0 && !sendNotifyToEventfd(cpu)) {
                return stop(cpu, Cpu.HOOK_LAUNCHER);
            }
            if (cpu.hcall != null || cpu.pendingTrap != null) {
                return stop(cpu, Cpu.HOOK_LAUNCHER);
            }
            if (cpu.halted) {
                return stop(cpu, Cpu.HOOK_HALT);
            }
            if (lg.isDead() || lg.closed || cpu.pauseRequests > 0 || Thread.currentThread().isInterrupted()) {
                return stop(cpu, Cpu.HOOK_LOOP);
            }
            int irq = host.interrupts.interruptPending(cpu);
            if (irq < LGUEST_IRQS) {
                host.interrupts.tryDeliverInterrupt(cpu, irq);
                if (lg.isDead()) {
                    return stop(cpu, Cpu.HOOK_LOOP);
                }
            }
            /* The engine or the tables may have gone with a service meanwhile; the loop makes them again. */
            if (cpu.vcpu == null || lg.pageTables == null) {
                return stop(cpu, Cpu.HOOK_LOOP);
            }
            cpu.state.pageTableRoot(lg.pageTables.root(cpu.id));
            cpu.hookCounts[Cpu.HOOK_RESUMED]++;
            return ExitHandler.Action.RESUME;
        } finally {
            cpu.lock.unlock();
        }
    }

    private static ExitHandler.Action stop(Cpu cpu, int reason) {
        cpu.hookCounts[reason]++;
        return ExitHandler.Action.STOP;
    }

    private static ExitHandler.Action decline(Cpu cpu, int reason) {
        cpu.hookCounts[reason]++;
        return ExitHandler.Action.DECLINE;
    }

    /** lguest_arch_run_guest(): the lock is free while the Guest runs, so others can reach the CPU. */
    private static VcpuExit runOnce(Cpu cpu) throws VcpuException {
        Vcpu vcpu = cpu.vcpu;
        cpu.state.pageTableRoot(cpu.lg.pageTables.root(cpu.id));
        vcpu.portIo(cpu.lg.portIo);
        cpu.enter(Cpu.Phase.RUNNING);
        cpu.lock.unlock();
        long runningSince = cpu.counters.start();
        try {
            return vcpu.run();
        } finally {
            cpu.counters.running(runningSince);
            cpu.lock.lock();
            cpu.enter(Cpu.Phase.IN_HOST);
            cpu.idle.signalAll();
        }
    }

    /*L:056
     * Signals the eventfd attached to cpu.pendingNotify, if any, and says
     * whether one was. The map is read once; an eventfd attached during the
     * search is simply not seen this time.
     */
    static boolean sendNotifyToEventfd(Cpu cpu) {
        EventfdMap map = cpu.lg.eventfds;
        for (int i = 0; i < map.size(); i++) {
            if (map.addr(i) == cpu.pendingNotify) {
                map.event(i).signal(1);
                cpu.pendingNotify = 0;
                break;
            }
        }
        /* Cleared means delivered. */
        return cpu.pendingNotify == 0;
    }

    /**
     * The shadow page tables, made again if their manager went away and
     * another came: boot tables, then the directory each CPU was on.
     *
     * @return 0, -EAGAIN (no manager), or -ENOMEM (the manager could not make them)
     */
    int ensurePaging(Cpu cpu) {
        Guest lg = cpu.lg;
        if (lg.pageTables != null) {
            return 0;
        }
        PageTableManager manager = host.pageTableManager();
        if (manager == null) {
            if (!cpu.warnedNoEngine) {
                cpu.warnedNoEngine = true;
                LOG.log(Level.WARNING, "lguest: no page-table manager service (is lguest.paging active? try 'lb lguest'):"
                    + " read() answers EAGAIN until one is present");
            }
            return -Errno.EAGAIN;
        }
        GuestPageTables pt;
        try {
            pt = manager.create(lg.machine, lg::kill);
        } catch (RuntimeException e) {
            LOG.log(Level.ERROR, "lguest: the page-table manager could not make this guest's page tables", e);
            return -Errno.ENOMEM;
        }
        lg.pageTables = pt;
        lg.pageTablesFrom = manager;
        if (lg.initialized()) {
            pt.setKernelAddress(lg.kernelAddress);
        }
        for (int i = 0; i < lg.nrCpus; i++) {
            Cpu c = lg.cpus[i];
            if (c.vcpu != null) {
                pt.setSwitcherEntry(c.vcpu.switcherEntry());
            }
            if (c.guestPgdir != -1) {
                pt.newPgtable(c.id, c.guestPgdir);
            }
            host.interrupts.pinStackPages(c);
            if (c.vcpu != null) {
                c.vcpu.flushTlb();
            }
        }
        LOG.log(Level.INFO, "lguest: guest page tables now kept by " + manager.getClass().getName());
        return 0;
    }

    /**
     * The engine for this CPU, made on the owner thread by the current
     * backend when there is none, and the page tables it runs on.
     *
     * @return 0, -EAGAIN (no backend or manager), -ENOMEM, or -EIO (the backend failed)
     */
    int ensureEngine(Cpu cpu) {
        int err = ensurePaging(cpu);
        if (err < 0) {
            return err;
        }
        if (cpu.vcpu != null) {
            return 0;
        }
        VcpuBackend backend = host.backend();
        if (backend == null) {
            if (!cpu.warnedNoEngine) {
                cpu.warnedNoEngine = true;
                LOG.log(Level.WARNING, "lguest: no vCPU backend service (is lguest.cpu.x86 active? try 'lb lguest';"
                    + " it logs why it did not start): read() answers EAGAIN until one is present");
            }
            return -Errno.EAGAIN;
        }
        Vcpu vcpu;
        try {
            vcpu = backend.create(cpu.lg.machine, cpu.state);
            if (vcpu == null) {
                throw new VcpuException("backend " + backend.name() + " returned no vCPU");
            }
        } catch (VcpuException | RuntimeException e) {
            LOG.log(Level.ERROR, "lguest: backend " + backend.name() + " could not create CPU " + cpu.id
                + ": " + e.getMessage() + "; read() answers EIO", e);
            return -Errno.EIO;
        }
        cpu.vcpu = vcpu;
        cpu.vcpuFrom = backend;
        vcpu.exitHandler(exit -> handleNow(cpu, exit));
        cpu.warnedNoEngine = false;
        cpu.lg.pageTables.setSwitcherEntry(vcpu.switcherEntry());
        LOG.log(Level.DEBUG, "lguest: CPU " + cpu.id + " runs on backend " + backend.name());
        return 0;
    }

    /** How often we look whether a reader whose guest is running was interrupted. */
    private static final long WATCH_INTERVAL_MS = 10;

    /*
     * The seed's read() returns when a signal arrives, even with the Guest
     * running. A Java thread's interrupt reaches nobody while the engine
     * runs, so the Host's clock thread looks every few milliseconds and
     * kicks the CPU out when its reader was interrupted; the run loop then
     * answers EINTR.
     */
    private void watch(Cpu cpu) {
        if (cpu.watch != null) {
            return;
        }
        try {
            cpu.watch = host.timers.scheduleWithFixedDelay(() -> {
                if (cpu.lock.tryLock()) {
                    try {
                        if (cpu.phase() == Cpu.Phase.RUNNING && cpu.vcpu != null && cpu.tsk.isInterrupted() && !cpu.lg.closed) {
                            cpu.vcpu.kick();
                        }
                    } finally {
                        cpu.lock.unlock();
                    }
                }
            }, WATCH_INTERVAL_MS, WATCH_INTERVAL_MS, TimeUnit.MILLISECONDS);
        } catch (java.util.concurrent.RejectedExecutionException e) {
            // The Host is going away; the reader will be told soon enough.
        }
    }

    static void unwatch(Cpu cpu) {
        java.util.concurrent.ScheduledFuture<?> w = cpu.watch;
        cpu.watch = null;
        if (w != null) {
            w.cancel(false);
        }
    }

    /** Releases the CPU's engine; the guest's state stays. Called with the CPU's lock held. */
    static void closeVcpu(Cpu cpu) {
        Vcpu vcpu = cpu.vcpu;
        if (vcpu != null) {
            LOG.log(Level.DEBUG, () -> "lguest: CPU " + cpu.id + " exits handed over from inside the engine: " + cpu.hookCountsText());
        }
        cpu.vcpu = null;
        cpu.vcpuFrom = null;
        if (vcpu != null) {
            try {
                vcpu.close();
            } catch (RuntimeException e) {
                LOG.log(Level.WARNING, "lguest: closing CPU " + cpu.id + "'s engine failed", e);
            }
        }
    }

    /**
     * Runs {@code action} while the CPU is certainly not inside the Guest:
     * the CPU's owner stays out until it is done. A CPU that is running is
     * kicked out first.
     */
    static void paused(Cpu cpu, Runnable action) {
        cpu.lock.lock();
        cpu.pauseRequests++;
        try {
            awaitNot(cpu, () -> cpu.phase() == Cpu.Phase.RUNNING);
            action.run();
        } finally {
            cpu.pauseRequests--;
            cpu.wake.signalAll();
            cpu.lock.unlock();
        }
    }

    /** Waits, with the CPU's lock held, until the owner has left read(): the close path. */
    static void awaitOutOfRead(Cpu cpu) {
        cpu.lock.lock();
        try {
            cpu.wake.signalAll();
            awaitNot(cpu, () -> cpu.phase() != Cpu.Phase.OUTSIDE);
        } finally {
            cpu.lock.unlock();
        }
    }

    private static void awaitNot(Cpu cpu, java.util.function.BooleanSupplier busy) {
        long start = System.nanoTime();
        boolean warned = false;
        boolean interrupted = false;
        while (busy.getAsBoolean()) {
            if (cpu.phase() == Cpu.Phase.RUNNING && cpu.vcpu != null) {
                cpu.vcpu.kick();
            }
            try {
                cpu.idle.await(KICK_INTERVAL_MS, TimeUnit.MILLISECONDS);
            } catch (InterruptedException e) {
                interrupted = true;
            }
            if (!warned && System.nanoTime() - start > TimeUnit.MILLISECONDS.toNanos(WARN_AFTER_MS)) {
                warned = true;
                LOG.log(Level.WARNING, "lguest: still waiting for CPU " + cpu.id + " to come out of the guest");
            }
        }
        if (interrupted) {
            Thread.currentThread().interrupt();
        }
    }
}
