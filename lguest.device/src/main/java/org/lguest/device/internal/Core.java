package org.lguest.device.internal;

import static org.lguest.api.abi.Lguest.LGUEST_IRQS;

import java.lang.System.Logger.Level;
import java.lang.foreign.MemorySegment;
import java.util.concurrent.TimeUnit;

import org.lguest.api.abi.Errno;
import org.lguest.api.cpu.Vcpu;
import org.lguest.api.cpu.VcpuBackend;
import org.lguest.api.cpu.VcpuException;
import org.lguest.api.cpu.VcpuExit;
import org.lguest.api.paging.GuestPageTables;
import org.lguest.api.paging.PageTableManager;

/*P:400
 * This contains run_guest() which actually runs the Guest through the
 * vCPU backend and analyzes the return, such as determining if the Guest
 * wants the Host to do something. It also keeps the engine and the shadow
 * page tables of each CPU present: both come from services that may come
 * and go, and the guest's state outlives them.
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
     * Once our Guest is initialized, the Launcher makes it run by reading.
     * The checks before this (initialized, CPU index, owner thread, dead)
     * are the file's; here we hold the CPU for the whole read, except while
     * the Guest runs.
     */
    long read(Cpu cpu, MemorySegment user) {
        cpu.lock.lock();
        try {
            if (cpu.lg.closed) {
                return -Errno.EBADF;
            }
            cpu.inRead = true;
            watch(cpu);
            /* If we returned from read() last time because the Guest sent I/O, clear the flag. */
            cpu.pendingNotify = 0;
            cpu.pendingTrap = null;
            return runGuest(cpu, user);
        } finally {
            cpu.inRead = false;
            if (cpu.lg.closed && cpu.vcpu != null) {
                /* Closed while we ran: release the engine on its own thread. */
                closeVcpu(cpu);
            }
            cpu.idle.signalAll();
            cpu.lock.unlock();
        }
    }

    /*H:030
     * Let's jump straight to the main loop which runs the Guest. We keep
     * going around and around until something interesting happens.
     */
    private long runGuest(Cpu cpu, MemorySegment user) {
        Guest lg = cpu.lg;
        /* If the launcher asked for a register with LHREQ_GETREG */
        if (cpu.regRead != null) {
            try {
                Words.put(user, cpu.state.regs().get(cpu.regRead) & 0xFFFF_FFFFL);
            } catch (Words.UserFault e) {
                return -Errno.EFAULT;
            }
            cpu.regRead = null;
            return Words.WORD;
        }

        /* We stop running once the Guest is dead. */
        while (!lg.isDead()) {
            if (lg.closed) {
                return -Errno.EBADF;
            }

            /* First we run any hypercalls the Guest wants done. */
            if (cpu.hcall != null) {
                int err = ensureEngine(cpu);
                if (err < 0) {
                    return err;
                }
                host.hypercalls.doHypercalls(cpu);
            }

            /* It's possible the Guest did a NOTIFY hypercall to the Launcher. */
            if (cpu.pendingNotify != 0) {
                /* Does it just need to write to a registered eventfd (ie. the appropriate virtqueue thread)? */
                if (!sendNotifyToEventfd(cpu)) {
                    /* OK, we tell the main Launcher. */
                    try {
                        Words.put(user, cpu.pendingNotify);
                    } catch (Words.UserFault e) {
                        return -Errno.EFAULT;
                    }
                    return Words.WORD;
                }
                /*
                 * An eventfd took it. If the ring stopped for it, the rest of the
                 * ring and the synchronous call are still to do: do them before
                 * the Guest runs again. (lguest ran the Guest here and so lost
                 * the pending call.)
                 */
                if (cpu.hcall != null) {
                    continue;
                }
            }

            /* Do we have to tell the Launcher about a trap? */
            if (cpu.pendingTrap != null) {
                try {
                    Words.copyOut(user, cpu.pendingTrap.bytes(), PendingTrap.SIZE);
                } catch (Words.UserFault e) {
                    return -Errno.EFAULT;
                }
                return PendingTrap.SIZE;
            }

            /* Check for signals: an interrupted reading thread gets EINTR (and keeps its flag). */
            if (Thread.currentThread().isInterrupted()) {
                return -Errno.EINTR;
            }

            /*
             * Check if there are any interrupts which can be delivered now: if
             * so, this sets up the handler to be executed when we next run the
             * Guest.
             */
            int irq = host.interrupts.interruptPending(cpu);
            if (irq < LGUEST_IRQS) {
                int err = ensurePaging(cpu);
                if (err < 0) {
                    return err;
                }
                host.interrupts.tryDeliverInterrupt(cpu, irq);
            }

            /* Just make absolutely sure the Guest is still alive. One of those hypercalls could have been fatal. */
            if (lg.isDead()) {
                break;
            }

            /* If the Guest asked to be stopped, we sleep. The Guest's clock timer will wake us. */
            if (cpu.halted) {
                /* Just before we sleep, make sure no interrupt snuck in which we should be doing. */
                if (host.interrupts.interruptPending(cpu) >= LGUEST_IRQS && !lg.closed) {
                    try {
                        cpu.wake.await();
                    } catch (InterruptedException e) {
                        Thread.currentThread().interrupt();
                        return -Errno.EINTR;
                    }
                }
                continue;
            }

            /* Someone needs this CPU out of the Guest for a moment (a backend or page tables going away). */
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

            /* OK, now we're ready to jump into the Guest. */
            int err = ensureEngine(cpu);
            if (err < 0) {
                return err;
            }
            VcpuExit exit;
            try {
                exit = runOnce(cpu);
            } catch (VcpuException | RuntimeException e) {
                /* The engine failed, not the Guest: drop the engine, keep the Guest. */
                LOG.log(Level.ERROR, "lguest: CPU " + cpu.id + ": the vCPU engine failed; the guest is kept", e);
                closeVcpu(cpu);
                return -Errno.EIO;
            }

            /* Now we deal with whatever happened to the Guest. */
            host.traps.handleTrap(cpu, exit);
        }

        /* Special case: Guest is 'dead' but wants a reboot. */
        if (Integer.valueOf(-Errno.ERESTART).equals(lg.dead())) {
            return -Errno.ERESTART;
        }
        /* The Guest is dead => "No such file or directory" */
        return -Errno.ENOENT;
    }

    /** lguest_arch_run_guest(): the lock is free while the Guest runs, so others can reach the CPU. */
    private static VcpuExit runOnce(Cpu cpu) throws VcpuException {
        Vcpu vcpu = cpu.vcpu;
        cpu.state.pageTableRoot(cpu.lg.pageTables.root(cpu.id));
        vcpu.portIo(cpu.lg.portIo);
        cpu.running = true;
        cpu.lock.unlock();
        try {
            return vcpu.run();
        } finally {
            cpu.lock.lock();
            cpu.running = false;
            cpu.idle.signalAll();
        }
    }

    /*L:056
     * The notification value is in cpu.pendingNotify: we return true if it
     * went to an eventfd. We load the map once and search that one: even if
     * they add an eventfd while we do this, we'll continue to use the old
     * array and just won't see the new one.
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
        /* If we cleared the notification, it's because we found a match. */
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
                LOG.log(Level.WARNING, "lguest: no page-table manager service: read() answers EAGAIN until one is present");
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
                LOG.log(Level.WARNING, "lguest: no vCPU backend service: read() answers EAGAIN until one is present");
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
