package org.lguest.device.internal;

import static org.lguest.api.abi.Lguest.LGUEST_IRQS;

import java.lang.System.Logger.Level;
import java.lang.foreign.MemorySegment;
import java.util.concurrent.TimeUnit;

import org.lguest.api.abi.Errno;
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
            cpu.inRead = true;
            watch(cpu);
            /* A NOTIFY or trap handed out by the previous read() is now the Launcher's; forget it. */
            cpu.pendingNotify = 0;
            cpu.pendingTrap = null;
            return runGuest(cpu, user);
        } finally {
            cpu.inRead = false;
            if (cpu.lg.closed && cpu.vcpu != null) {
                /* close() came meanwhile: the engine is freed here, by the thread that made it. */
                closeVcpu(cpu);
            }
            cpu.idle.signalAll();
            cpu.lock.unlock();
        }
    }

    /*H:030
     * The loop: settle what is pending (hypercalls, notifications, traps,
     * interrupts), enter the Guest, handle the exit, repeat. Each return
     * hands the Launcher a word, a trap record or an errno.
     */
    private long runGuest(Cpu cpu, MemorySegment user) {
        Guest lg = cpu.lg;
        /* A pending LHREQ_GETREG: this read answers with the register and runs nothing. */
        if (cpu.regRead != null) {
            try {
                Words.put(user, cpu.state.regs().get(cpu.regRead) & 0xFFFF_FFFFL);
            } catch (Words.UserFault e) {
                return -Errno.EFAULT;
            }
            cpu.regRead = null;
            return Words.WORD;
        }

        /* A dead Guest leaves the loop; the return below says how it died. */
        while (!lg.isDead()) {
            if (lg.closed) {
                return -Errno.EBADF;
            }

            /* Hypercalls the Guest left us (a trap or the ring) come first. */
            if (cpu.hcall != null) {
                int err = ensureEngine(cpu);
                if (err < 0) {
                    return err;
                }
                host.hypercalls.doHypercalls(cpu);
            }

            /* LHCALL_NOTIFY: for an eventfd if one is attached to the value, else for the Launcher. */
            if (cpu.pendingNotify != 0) {
                if (!sendNotifyToEventfd(cpu)) {
                    /* No eventfd wants it: read() returns the value. */
                    try {
                        Words.put(user, cpu.pendingNotify);
                    } catch (Words.UserFault e) {
                        return -Errno.EFAULT;
                    }
                    return Words.WORD;
                }
                /*
                 * Signalled. If the hypercall ring paused at this NOTIFY, finish
                 * the ring and the trapping call before re-entering the Guest.
                 * (Linux's lguest re-entered here and dropped the pending call.)
                 */
                if (cpu.hcall != null) {
                    continue;
                }
            }

            /* A trap meant for the Launcher: copy its record out and return. */
            if (cpu.pendingTrap != null) {
                try {
                    Words.copyOut(user, cpu.pendingTrap.bytes(), PendingTrap.SIZE);
                } catch (Words.UserFault e) {
                    return -Errno.EFAULT;
                }
                return PendingTrap.SIZE;
            }

            /* Thread interrupt is our signal: EINTR, with the flag left set for the caller. */
            if (Thread.currentThread().isInterrupted()) {
                return -Errno.EINTR;
            }

            /*
             * An interrupt the Guest accepts now gets its frame pushed here, so
             * the handler is the first thing the next entry runs.
             */
            int irq = host.interrupts.interruptPending(cpu);
            if (irq < LGUEST_IRQS) {
                int err = ensurePaging(cpu);
                if (err < 0) {
                    return err;
                }
                host.interrupts.tryDeliverInterrupt(cpu, irq);
            }

            /* The work above may have killed the Guest; check before entering it. */
            if (lg.isDead()) {
                break;
            }

            /* LHCALL_HALT: park until an interrupt (the clock timer, an LHREQ_IRQ) wakes the CPU. */
            if (cpu.halted) {
                /* Re-check under the lock: an interrupt raised since the test above must not be slept through. */
                if (host.interrupts.interruptPending(cpu) >= LGUEST_IRQS && !lg.closed) {
                    long haltedSince = cpu.counters.start();
                    try {
                        cpu.wake.await();
                    } catch (InterruptedException e) {
                        Thread.currentThread().interrupt();
                        return -Errno.EINTR;
                    } finally {
                        cpu.counters.halted(haltedSince);
                    }
                }
                continue;
            }

            /* paused(): another thread needs the CPU outside the Guest, e.g. to swap a service. */
            while (cpu.pauseRequests > 0 && !lg.closed) {
                try {
                    cpu.wake.await();
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                    return -Errno.EINTR;
                }
            }
            if (lg.closed) {
                continue;
            }

            /* Enter the Guest, with an engine made now if there is none. */
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

            /* Act on the exit: fault, hypercall, interrupt window, and so on. */
            host.traps.handleTrap(cpu, exit);
        }

        /* A shutdown asking for a restart leaves ERESTART as the death: the Launcher boots again. */
        if (Integer.valueOf(-Errno.ERESTART).equals(lg.dead())) {
            return -Errno.ERESTART;
        }
        /* Any other death: ENOENT, and the next read() gives the reason. */
        return -Errno.ENOENT;
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
        cpu.running = true;
        cpu.lock.unlock();
        long runningSince = cpu.counters.start();
        try {
            return vcpu.run();
        } finally {
            cpu.counters.running(runningSince);
            cpu.lock.lock();
            cpu.running = false;
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
                        if (cpu.running && cpu.vcpu != null && cpu.tsk.isInterrupted() && !cpu.lg.closed) {
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
            awaitNot(cpu, () -> cpu.running);
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
            awaitNot(cpu, () -> cpu.inRead);
        } finally {
            cpu.lock.unlock();
        }
    }

    private static void awaitNot(Cpu cpu, java.util.function.BooleanSupplier busy) {
        long start = System.nanoTime();
        boolean warned = false;
        boolean interrupted = false;
        while (busy.getAsBoolean()) {
            if (cpu.running && cpu.vcpu != null) {
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
