package org.lguest.device.internal;

import static org.lguest.api.abi.Errno.EBADF;
import static org.lguest.api.abi.Errno.EBUSY;
import static org.lguest.api.abi.Errno.EFAULT;
import static org.lguest.api.abi.Errno.EINVAL;
import static org.lguest.api.abi.Errno.ENOENT;
import static org.lguest.api.abi.Errno.ENOMEM;
import static org.lguest.api.abi.Errno.EPERM;

import java.lang.System.Logger.Level;
import java.lang.foreign.MemorySegment;
import java.nio.charset.StandardCharsets;
import java.util.Optional;
import java.util.concurrent.atomic.AtomicBoolean;

import org.lguest.api.abi.Errno;
import org.lguest.api.abi.Lguest;
import org.lguest.api.abi.Lhreq;
import org.lguest.api.abi.ProtocolWords;
import org.lguest.api.cpu.GuestMachine;
import org.lguest.api.cpu.HostArea;
import org.lguest.api.cpu.PortIo;
import org.lguest.api.cpu.Reg;
import org.lguest.api.cpu.VcpuState;
import org.lguest.api.device.Eventfd;
import org.lguest.api.device.LauncherTask;
import org.lguest.api.device.LguestFile;
import org.lguest.api.paging.GuestPageTables;
import org.lguest.api.paging.PageTableManager;

/*P:200
 * One open /dev/lguest, as a Launcher sees it. Writes are requests: the
 * first one (LHREQ_INITIALIZE) gives the Guest its memory and entry point,
 * later ones raise interrupts, attach eventfds and get or set registers.
 * A read runs a CPU of the Guest and returns when the Launcher has work:
 * a NOTIFY no eventfd took, a trap, or the Guest's death.
 */
final class LguestFileImpl implements LguestFile {
    private static final System.Logger LOG = System.getLogger("org.lguest.device");

    private final Host host;
    private final LauncherTask task;
    /* Set by a successful LHREQ_INITIALIZE, cleared by close(); null in between means no Guest. */
    private volatile Guest lg;
    private final AtomicBoolean closed = new AtomicBoolean();
    /** The Launcher's port handler; it may come before LHREQ_INITIALIZE, so the file keeps it too. */
    private volatile PortIo portIo;

    LguestFileImpl(Host host, LauncherTask task) {
        this.host = host;
        this.task = task;
    }

    /** The guest, or null before LHREQ_INITIALIZE and after close. */
    Guest guest() {
        return lg;
    }

    boolean isClosed() {
        return closed.get();
    }

    /*L:010
     * Every write opens with one word naming the request. Until a Guest
     * exists, LHREQ_INITIALIZE is the only request accepted; the others
     * (IRQ, EVENTFD, GETREG, SETREG, TRAP) act on that Guest.
     *
     * cpuId stands where the C device uses the file offset. Guests have a
     * single CPU, so anything but 0 is refused.
     */
    @Override
    public long write(MemorySegment in, long cpuId) {
        if (closed.get()) {
            return -EBADF;
        }
        /* Word 0: the request. */
        long req;
        try {
            req = ProtocolWords.decode(in, 0);
        } catch (ProtocolWords.BadBuffer e) {
            return -EFAULT;
        }
        Guest guest = lg;
        Cpu cpu = null;
        /* Every request but INITIALIZE needs a Guest and a valid CPU. */
        if (req != Lhreq.INITIALIZE) {
            if (guest == null || cpuId < 0 || cpuId >= guest.nrCpus) {
                return -EINVAL;
            }
            cpu = guest.cpus[(int) cpuId];
            /* A dead Guest takes no more requests; read() tells why it died. */
            if (guest.isDead()) {
                return -ENOENT;
            }
        }

        if (req == Lhreq.INITIALIZE) {
            return initialize(in);
        } else if (req == Lhreq.IRQ) {
            return userSendIrq(cpu, in);
        } else if (req == Lhreq.EVENTFD) {
            return attachEventfd(guest, in);
        } else if (req == Lhreq.GETREG) {
            return getregSetup(cpu, in);
        } else if (req == Lhreq.SETREG) {
            return setreg(cpu, in);
        } else if (req == Lhreq.TRAP) {
            return trap(cpu, in);
        } else {
            return -EINVAL;
        }
    }

    /*L:038
     * Reading is how the Launcher lends its thread to a CPU of the Guest:
     * the call returns when there is something for the Launcher to do.
     */
    @Override
    public long read(MemorySegment user, long cpuId) {
        if (closed.get()) {
            return -EBADF;
        }
        Guest guest = lg;
        /* No Guest yet: nothing to run. */
        if (guest == null) {
            return -EINVAL;
        }
        /* The CPU number comes from the caller: check it. */
        if (cpuId < 0 || cpuId >= guest.nrCpus) {
            return -EINVAL;
        }
        Cpu cpu = guest.cpus[(int) cpuId];
        /* Only the thread that set the Guest up may run it. */
        if (Thread.currentThread() != cpu.tsk) {
            return -EPERM;
        }
        /* A dead Guest does not run again: hand back the reason instead. */
        DeathReason dead = guest.dead();
        if (dead != null) {
            return deadReason(dead, user);
        }
        /* Core runs the CPU and returns when the Launcher has work. */
        return host.core.read(cpu, user);
    }

    /* A restart is answered with its errno; a kill's message is copied out. */
    static long deadReason(DeathReason dead, MemorySegment user) {
        return switch (dead) {
            case DeathReason.RestartRequested restart -> -Errno.ERESTART;
            case DeathReason.Killed killed -> copyReason(killed.reason(), user);
        };
    }

    private static long copyReason(String message, MemorySegment user) {
        byte[] reason = message.getBytes(StandardCharsets.ISO_8859_1);
        /* The message and its NUL, cut to the reader's buffer. */
        int len = (int) Math.min(ProtocolWords.size(user), reason.length + 1L);
        byte[] withNul = java.util.Arrays.copyOf(reason, reason.length + 1);
        try {
            ProtocolWords.putBytes(user, withNul, len);
        } catch (ProtocolWords.BadBuffer e) {
            return -EFAULT;
        }
        return len;
    }

    /*L:050
     * LHREQ_IRQ, irq: mark an interrupt pending. Returns 0, not a length,
     * which is what the C device returns too.
     */
    private long userSendIrq(Cpu cpu, MemorySegment in) {
        long irq;
        try {
            irq = ProtocolWords.decode(in, 1);
        } catch (ProtocolWords.BadBuffer e) {
            return -EFAULT;
        }
        if (Long.compareUnsigned(irq, Lguest.LGUEST_IRQS) >= 0) {
            return -EINVAL;
        }
        /* Only marked here; Core delivers it on the CPU's next entry, if the Guest lets it. */
        host.interrupts.setInterrupt(cpu, (int) irq);
        return 0;
    }

    /*L:052
     * LHREQ_EVENTFD, value, fd: from now on, an LHCALL_NOTIFY with this value
     * signals the eventfd and the Guest keeps running, instead of read()
     * returning. A device thread can then wait on its own virtqueue's eventfd.
     */
    private long attachEventfd(Guest guest, MemorySegment in) {
        long addr;
        long fd;
        try {
            addr = ProtocolWords.decode(in, 1);
            fd = ProtocolWords.decode(in, 2);
        } catch (ProtocolWords.BadBuffer e) {
            return -EFAULT;
        }
        /*
         * Writers of the map take the big lock so two attachments cannot race
         * and lose one; readers (Core, on every NOTIFY) never lock.
         */
        host.lguestLock.lock();
        try {
            if (closed.get()) {
                return -EBADF;
            }
            return addEventfd(guest, addr, fd);
        } finally {
            host.lguestLock.unlock();
        }
    }

    /*L:054
     * The value-to-eventfd map is immutable: attaching builds a copy one entry
     * longer and publishes it with a single volatile store, so a reader sees
     * either the old map or the new one, whole (see EventfdMap).
     */
    private long addEventfd(Guest guest, long addr, long fd) {
        EventfdMap old = guest.eventfds;
        /* 0 is Cpu.pendingNotify's "none", so no eventfd can claim it. */
        if (addr == 0) {
            return -EINVAL;
        }
        EventfdMap grown = host.allocator.allocate(Allocator.Step.EVENTFD_ENTRY, old::grown);
        if (grown == null) {
            return -ENOMEM;
        }
        /* The fd must be open in the Launcher's table (else EBADF) and be an eventfd (else EINVAL). */
        Optional<Object> file = task.descriptors().get(fd);
        if (file.isEmpty()) {
            return -EBADF;
        }
        if (!(file.get() instanceof Eventfd event)) {
            return -EINVAL;
        }
        /* Publish: readers switch to the new map at once, the old one is garbage. */
        guest.eventfds = grown.withLast(addr, event);
        return 0;
    }

    /* LHREQ_GETREG, which: the value comes back from the next read() instead of a run. */
    private long getregSetup(Cpu cpu, MemorySegment in) {
        long which;
        try {
            which = ProtocolWords.decode(in, 1);
        } catch (ProtocolWords.BadBuffer e) {
            return -EFAULT;
        }
        cpu.lock.lock();
        try {
            if (cpu.lg.closed) {
                return -EBADF;
            }
            /*
             * Remember which register; Core's read() answers with it and clears
             * it. Every register is readable. An unknown selector also drops an
             * earlier pending request, matching the C device.
             */
            cpu.regRead = X86.regptr(which, true);
            if (cpu.regRead == null) {
                return -ENOENT;
            }
        } finally {
            cpu.lock.unlock();
        }
        /* A write returns the bytes it consumed: request and selector. */
        return Lhreq.WORD * 2L;
    }

    private long setreg(Cpu cpu, MemorySegment in) {
        long which;
        long value;
        try {
            which = ProtocolWords.decode(in, 1);
            value = ProtocolWords.decode(in, 2);
        } catch (ProtocolWords.BadBuffer e) {
            return -EFAULT;
        }
        /* Segment and privilege state stay ours; regptr(..., false) refuses them. */
        Reg reg = X86.regptr(which, false);
        if (reg == null) {
            return -ENOENT;
        }
        cpu.lock.lock();
        try {
            if (cpu.lg.closed) {
                return -EBADF;
            }
            cpu.state.regs().set(reg, (int) value);
        } finally {
            cpu.lock.unlock();
        }
        return Lhreq.WORD * 3L;
    }

    /*
     * LHREQ_TRAP, trapnum (from later lguest versions, absent in the seed):
     * the Launcher passes a trap it was given back to the Guest, which then
     * sees it as if the CPU had raised it. EINVAL when the Guest has no gate
     * for it.
     */
    private long trap(Cpu cpu, MemorySegment in) {
        long trapnum;
        try {
            trapnum = ProtocolWords.decode(in, 1);
        } catch (ProtocolWords.BadBuffer e) {
            return -EFAULT;
        }
        cpu.lock.lock();
        try {
            if (cpu.lg.closed) {
                return -EBADF;
            }
            int err = host.core.ensurePaging(cpu);
            if (err < 0) {
                return err;
            }
            if (Long.compareUnsigned(trapnum, Abi.IDT_ENTRIES) >= 0
                || !host.interrupts.deliverTrap(cpu, (int) trapnum)) {
                return -EINVAL;
            }
        } finally {
            cpu.lock.unlock();
        }
        return 0;
    }

    /*L:020
     * LHREQ_INITIALIZE, base, pfnlimit, start:
     *
     * base: the Launcher address where Guest-physical address 0 lives.
     *
     * pfnlimit: the number of Guest pages; every Guest access must stay
     * below it, which keeps the Guest inside the memory the Launcher gave it.
     *
     * start: the Guest's first EIP.
     */
    private long initialize(MemorySegment in) {
        /* The big lock serialises INITIALIZE against itself and against close(). */
        host.lguestLock.lock();
        try {
            if (closed.get()) {
                return -EBADF;
            }
            /* One Guest per open file: a second INITIALIZE is EBUSY. */
            if (lg != null) {
                return -EBUSY;
            }
            long base;
            long pfnLimit;
            long start;
            try {
                base = ProtocolWords.decode(in, 1);
                pfnLimit = ProtocolWords.decode(in, 2);
                start = ProtocolWords.decode(in, 3);
            } catch (ProtocolWords.BadBuffer e) {
                return -EFAULT;
            }
            /*
             * The whole range must be memory the Launcher task owns. The C
             * device would only fault on first touch; we check up front.
             */
            if (Long.compareUnsigned(pfnLimit, Long.MAX_VALUE / Lguest.PAGE_SIZE) > 0) {
                return -EFAULT;
            }
            /*
             * Only memory the task allocated will do, and we hold it until
             * close(): as get_task_mm() did, so a Launcher that lets go of
             * its memory early cannot unmap RAM the engine still uses.
             */
            if (task.resolve(base, pfnLimit * Lguest.PAGE_SIZE).isEmpty()) {
                return -EFAULT;
            }
            /* At least one page, base page-aligned, and nothing overlapping the host area. */
            if (pfnLimit == 0 || pfnLimit * Lguest.PAGE_SIZE > GuestMachine.HOST_AREA_BASE
                || (base & (Lguest.PAGE_SIZE - 1)) != 0) {
                return -EINVAL;
            }
            Optional<LauncherTask.Hold> held = task.hold(base, pfnLimit * Lguest.PAGE_SIZE);
            if (held.isEmpty()) {
                return -EFAULT;
            }
            LauncherTask.Hold hold = held.get();

            /* Guest holds everything the Host keeps about this Guest. */
            Guest guest = host.allocator.allocate(Allocator.Step.GUEST,
                () -> new Guest(host, new GuestMemory(hold.segment(), pfnLimit)));
            if (guest == null) {
                hold.close();
                return -ENOMEM;
            }
            guest.ramHold = hold;
            guest.eventfds = host.allocator.allocate(Allocator.Step.EVENTFD_MAP, EventfdMap::empty);
            if (guest.eventfds == null) {
                hold.close();
                return -ENOMEM;
            }
            /* CPU 0, the only one, begins at start. */
            int err = cpuStart(guest, 0, start);
            if (err != 0) {
                freeGuest(guest);
                return err;
            }
            /* The shadow page tables come last; they may run out of memory. */
            err = initGuestPagetable(guest);
            if (err != 0) {
                freeGuest(guest);
                return err;
            }
            guest.portIo = portIo;
            /* Publish the Guest: from here the other requests accept it. */
            lg = guest;
            /* Bytes consumed. As in the C device, the request word is not counted. */
            return Lhreq.WORD * 3L;
        } finally {
            host.lguestLock.unlock();
        }
    }

    /* Undo a half-finished initialize(): timers, register state, eventfd map. */
    private static void freeGuest(Guest guest) {
        for (int i = 0; i < guest.nrCpus; i++) {
            guest.cpus[i].hrt.cancel();
            guest.cpus[i].state = null;
        }
        guest.eventfds = null;
        guest.ramHold.close();
    }

    /*L:025
     * Set up CPU number id of a Guest, owned by the calling thread. Only
     * id 0 is ever used.
     */
    int cpuStart(Guest guest, int id, long startIp) {
        /* Guest.cpus has a fixed size. */
        if (id < 0 || id >= guest.cpus.length) {
            return -EINVAL;
        }
        /* The Cpu knows its number and its Guest. */
        Cpu cpu = new Cpu(id, guest);
        guest.cpus[id] = cpu;
        guest.nrCpus++;
        /* LHCALL_SET_CLOCKEVENT arms this per-CPU timer. */
        cpu.hrt = new ClockDevice(host.timers, host.interrupts, cpu);
        /* Registers live in VcpuState, which survives a change of CPU backend. */
        VcpuState state = host.allocator.allocate(Allocator.Step.REGISTER_PAGE, () -> new VcpuState(id));
        if (state == null) {
            return -ENOMEM;
        }
        cpu.state = state;
        /* Boot register values, with EIP = startIp. */
        X86.setupRegs(state, startIp);
        /* The calling thread owns the CPU: only it may read() to run it. */
        cpu.tsk = Thread.currentThread();
        return 0;
    }

    /*
     * Our init_guest_pagetable(): allocate the host area and ask the
     * PageTableManager service for shadow page tables inside it. With no
     * manager registered, EAGAIN: the Launcher may retry once one appears.
     */
    private int initGuestPagetable(Guest guest) {
        PageTableManager manager = host.pageTableManager();
        if (manager == null) {
            LOG.log(Level.WARNING, "lguest: LHREQ_INITIALIZE refused with EAGAIN: no page-table manager service"
                + " (is lguest.paging active? try 'lb lguest')");
            return -Errno.EAGAIN;
        }
        int pages = host.settings().hostAreaPages();
        HostArea area = host.allocator.allocate(Allocator.Step.HOST_AREA, () -> new HostArea(pages));
        if (area == null) {
            return -ENOMEM;
        }
        GuestMachine machine = new GuestMachine(guest.memory.ram(), guest.memory.pfnLimit(), area);
        GuestPageTables pt = host.allocator.allocate(Allocator.Step.PAGE_TABLES,
            () -> manager.create(machine, guest::kill));
        if (pt == null) {
            area.close();
            return -ENOMEM;
        }
        guest.hostArea = area;
        guest.machine = machine;
        guest.pageTables = pt;
        guest.pageTablesFrom = manager;
        return 0;
    }

    /*
     * Not in the seed: lguest's Host trapped every in/out to the Launcher,
     * but an engine that runs them asks this handler instead, on the CPU's
     * thread. Whichever of this and LHREQ_INITIALIZE comes second hands it
     * to the guest (both fields are volatile).
     */
    @Override
    public void portIo(PortIo handler) {
        portIo = handler;
        Guest guest = lg;
        if (guest != null) {
            guest.portIo = handler;
        }
    }

    /** The sum of this guest's CPU counters; NONE before LHREQ_INITIALIZE and after close. */
    @Override
    public org.lguest.api.device.GuestCounters counters() {
        return CpuCounters.of(lg);
    }

    /*L:060
     * close() undoes initialize(), usually because the Launcher is going
     * away. It never fails. A CPU still running in another thread's read()
     * is stopped first, and that read() returns EBADF.
     */
    @Override
    public void close() {
        if (!closed.compareAndSet(false, true)) {
            return;
        }
        host.forget(this);
        /*
         * Taking the big lock waits out any INITIALIZE in progress: after it,
         * either lg is set or INITIALIZE will find the file closed.
         */
        Guest guest;
        host.lguestLock.lock();
        try {
            guest = lg;
            if (guest != null) {
                guest.closed = true;
            }
        } finally {
            host.lguestLock.unlock();
        }
        /* No Guest was ever set up: done. */
        if (guest == null) {
            return;
        }
        for (int i = 0; i < guest.nrCpus; i++) {
            Core.awaitOutOfRead(guest.cpus[i]);
        }
        /* Tear down under the big lock, which also keeps LHREQ_EVENTFD out meanwhile. */
        host.lguestLock.lock();
        try {
            for (int i = 0; i < guest.nrCpus; i++) {
                Cpu cpu = guest.cpus[i];
                /* Stop the clock-event timer and the watch on the reading thread. */
                cpu.hrt.cancel();
                Core.unwatch(cpu);
                cpu.lock.lock();
                try {
                    /* Close the CPU engine before what it uses: shadows, host area. */
                    Core.closeVcpu(cpu);
                    /* Drop the register state and any pending GETREG or hypercall. */
                    cpu.state = null;
                    cpu.regRead = null;
                    cpu.hcall = null;
                } finally {
                    cpu.lock.unlock();
                }
            }
            /* Hand the shadow page tables back to their manager. */
            GuestPageTables pt = guest.pageTables;
            guest.pageTables = null;
            guest.pageTablesFrom = null;
            if (pt != null) {
                try {
                    pt.close();
                } catch (RuntimeException e) {
                    LOG.log(Level.WARNING, "lguest: closing the guest's page tables failed", e);
                }
            }
            if (guest.hostArea != null) {
                guest.hostArea.close();
                guest.hostArea = null;
            }
            guest.machine = null;
            /* Nothing of ours touches guest RAM any more: let the task unmap it if the Launcher is done. */
            guest.ramHold.close();
            /* Forget the eventfds; they belong to the Launcher, which closes them itself. */
            guest.eventfds = EventfdMap.EMPTY;
            /* Drop the death reason too. */
            guest.forgetDeath();
            lg = null;
        } finally {
            host.lguestLock.unlock();
        }
    }
}
