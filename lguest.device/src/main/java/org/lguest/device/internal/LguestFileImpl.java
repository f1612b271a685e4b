package org.lguest.device.internal;

import org.lguest.api.abi.Errno;

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

import org.lguest.api.abi.Lguest;
import org.lguest.api.abi.Lhreq;
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
 * This contains all the /dev/lguest code, whereby the userspace Launcher
 * controls and communicates with the Guest. For example, the first write
 * will tell us the Guest's memory layout and entry point. A read will run
 * the Guest until something happens, such as a signal or the Guest doing a
 * NOTIFY out to the Launcher. There is also a way for the Launcher to
 * attach eventfds to particular NOTIFY values instead of returning from the
 * read() call.
 */
final class LguestFileImpl implements LguestFile {
    private static final System.Logger LOG = System.getLogger("org.lguest.device");

    private final Host host;
    private final LauncherTask task;
    /* Once the Guest is initialized, we hold the "struct lguest" here (the file's private_data). */
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
     * The first operation the Launcher does must be a write. All writes
     * start with a word: for the first write this must be LHREQ_INITIALIZE to
     * set up the Guest. After that the Launcher can use writes of other
     * values to send interrupts or set up receipt of notifications.
     *
     * The "cpu" argument is the seed's file offset: which CPU we're dealing
     * with. Currently this is always 0 since we only support uniprocessor
     * Guests.
     */
    @Override
    public long write(MemorySegment in, long cpuId) {
        if (closed.get()) {
            return -EBADF;
        }
        /* The first value tells us what this request is. */
        long req;
        try {
            req = Words.get(in, 0);
        } catch (Words.UserFault e) {
            return -EFAULT;
        }
        Guest guest = lg;
        Cpu cpu = null;
        /* If you haven't initialized, you must do that first. */
        if (req != Lhreq.INITIALIZE) {
            if (guest == null || cpuId < 0 || cpuId >= guest.nrCpus) {
                return -EINVAL;
            }
            cpu = guest.cpus[(int) cpuId];
            /* Once the Guest is dead, you can only read() why it died. */
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

    /*L:040
     * Once our Guest is initialized, the Launcher makes it run by reading
     * from it.
     */
    @Override
    public long read(MemorySegment user, long cpuId) {
        if (closed.get()) {
            return -EBADF;
        }
        Guest guest = lg;
        /* You must write LHREQ_INITIALIZE first! */
        if (guest == null) {
            return -EINVAL;
        }
        /* Watch out for arbitrary vcpu indexes! */
        if (cpuId < 0 || cpuId >= guest.nrCpus) {
            return -EINVAL;
        }
        Cpu cpu = guest.cpus[(int) cpuId];
        /* If you're not the task which owns the Guest, go away. */
        if (Thread.currentThread() != cpu.tsk) {
            return -EPERM;
        }
        /* If the Guest is already dead, we indicate why. */
        Object dead = guest.dead();
        if (dead != null) {
            return deadReason(dead, user);
        }
        /* Run the Guest until something interesting happens. */
        return host.core.read(cpu, user);
    }

    /* lg->dead either contains an error code, or a string. */
    static long deadReason(Object dead, MemorySegment user) {
        if (dead instanceof Integer errno) {
            return errno;
        }
        byte[] reason = ((String) dead).getBytes(StandardCharsets.ISO_8859_1);
        /* We can only return as much as the buffer they read with (the NUL included). */
        int len = (int) Math.min(Words.size(user), reason.length + 1L);
        byte[] withNul = java.util.Arrays.copyOf(reason, reason.length + 1);
        try {
            Words.copyOut(user, withNul, len);
        } catch (Words.UserFault e) {
            return -EFAULT;
        }
        return len;
    }

    /*L:050
     * Sending an interrupt is done by writing LHREQ_IRQ and an interrupt
     * number. It answers 0, as the seed does.
     */
    private long userSendIrq(Cpu cpu, MemorySegment in) {
        long irq;
        try {
            irq = Words.get(in, 1);
        } catch (Words.UserFault e) {
            return -EFAULT;
        }
        if (Long.compareUnsigned(irq, Lguest.LGUEST_IRQS) >= 0) {
            return -EINVAL;
        }
        /* Next time the Guest runs, the core code will see if it can deliver this interrupt. */
        host.interrupts.setInterrupt(cpu, (int) irq);
        return 0;
    }

    /*L:052
     * Receiving notifications from the Guest is usually done by attaching a
     * particular LHCALL_NOTIFY value to an event descriptor. The eventfd will
     * become readable when the Guest does an LHCALL_NOTIFY with that value.
     * This is really convenient for processing each virtqueue in a separate
     * thread.
     */
    private long attachEventfd(Guest guest, MemorySegment in) {
        long addr;
        long fd;
        try {
            addr = Words.get(in, 1);
            fd = Words.get(in, 2);
        } catch (Words.UserFault e) {
            return -EFAULT;
        }
        /*
         * Just make sure two callers don't add eventfds at once. Readers of
         * the map never take this lock.
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

    /*L:055
     * We keep a simple array which maps LHCALL_NOTIFY values to eventfds,
     * but we add new eventfds without ever blocking readers from accessing
     * the array: a brand new one-larger copy, published in one store (see
     * EventfdMap).
     */
    private long addEventfd(Guest guest, long addr, long fd) {
        EventfdMap old = guest.eventfds;
        /* We don't allow notifications on value 0 anyway (0 means "nothing pending"). */
        if (addr == 0) {
            return -EINVAL;
        }
        EventfdMap grown = host.allocator.allocate(Allocator.Step.EVENTFD_ENTRY, old::grown);
        if (grown == null) {
            return -ENOMEM;
        }
        /* eventfd_ctx_fdget(): a descriptor that is open, and an eventfd. */
        Optional<Object> file = task.descriptors().get(fd);
        if (file.isEmpty()) {
            return -EBADF;
        }
        if (!(file.get() instanceof Eventfd event)) {
            return -EINVAL;
        }
        /* Now put the new one in place: one volatile store publishes it whole. */
        guest.eventfds = grown.withLast(addr, event);
        return 0;
    }

    /* The Launcher can get the registers, and also set some of them. */
    private long getregSetup(Cpu cpu, MemorySegment in) {
        long which;
        try {
            which = Words.get(in, 1);
        } catch (Words.UserFault e) {
            return -EFAULT;
        }
        cpu.lock.lock();
        try {
            if (cpu.lg.closed) {
                return -EBADF;
            }
            /*
             * Their next read will actually get the value (instead of running
             * the guest). Any register may be read; a bad selector also clears
             * a register read asked for before, as in the seed.
             */
            cpu.regRead = X86.regptr(which, true);
            if (cpu.regRead == null) {
                return -ENOENT;
            }
        } finally {
            cpu.lock.unlock();
        }
        /* And because this is a write() call, we return the length used. */
        return Words.WORD * 2L;
    }

    private long setreg(Cpu cpu, MemorySegment in) {
        long which;
        long value;
        try {
            which = Words.get(in, 1);
            value = Words.get(in, 2);
        } catch (Words.UserFault e) {
            return -EFAULT;
        }
        /* We can't write all registers: not the segment and privilege state. */
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
        return Words.WORD * 3L;
    }

    /*
     * LHREQ_TRAP (the later lguest's, not the seed's): the Launcher could not
     * handle a trap we handed it, so the Guest gets it, as if it had been
     * delivered directly. No handler for it: EINVAL.
     */
    private long trap(Cpu cpu, MemorySegment in) {
        long trapnum;
        try {
            trapnum = Words.get(in, 1);
        } catch (Words.UserFault e) {
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
     * The initialization write supplies 3 words (in addition to the
     * LHREQ_INITIALIZE value):
     *
     * base: The start of the Guest-physical memory inside the Launcher memory.
     *
     * pfnlimit: The highest (Guest-physical) page number the Guest should be
     * allowed to access. The Guest memory lives inside the Launcher, so it sets
     * this to ensure the Guest can only reach its own memory.
     *
     * start: The first instruction to execute ("eip" in x86-speak).
     */
    private long initialize(MemorySegment in) {
        /* We grab the Big Lguest lock, which protects against multiple simultaneous initializations. */
        host.lguestLock.lock();
        try {
            if (closed.get()) {
                return -EBADF;
            }
            /* You can't initialize twice! Close the device and start again... */
            if (lg != null) {
                return -EBUSY;
            }
            long base;
            long pfnLimit;
            long start;
            try {
                base = Words.get(in, 1);
                pfnLimit = Words.get(in, 2);
                start = Words.get(in, 3);
            } catch (Words.UserFault e) {
                return -EFAULT;
            }
            /*
             * The Launcher's memory is its address space: base and pfnlimit must
             * lie in memory it handed to its task. (The seed finds out at the
             * first access; we refuse at once.)
             */
            if (Long.compareUnsigned(pfnLimit, Long.MAX_VALUE / Lguest.PAGE_SIZE) > 0) {
                return -EFAULT;
            }
            Optional<MemorySegment> ram = task.resolve(base, pfnLimit * Lguest.PAGE_SIZE);
            if (ram.isEmpty()) {
                return -EFAULT;
            }
            /* A guest needs some memory, page-aligned, below the host area. */
            if (pfnLimit == 0 || pfnLimit * Lguest.PAGE_SIZE > GuestMachine.HOST_AREA_BASE
                || (base & (Lguest.PAGE_SIZE - 1)) != 0) {
                return -EINVAL;
            }

            /* "struct lguest" contains all we (the Host) know about a Guest. */
            Guest guest = host.allocator.allocate(Allocator.Step.GUEST,
                () -> new Guest(host, new GuestMemory(ram.get(), pfnLimit)));
            if (guest == null) {
                return -ENOMEM;
            }
            guest.eventfds = host.allocator.allocate(Allocator.Step.EVENTFD_MAP, EventfdMap::empty);
            if (guest.eventfds == null) {
                return -ENOMEM;
            }
            /* This is the first cpu (cpu 0) and it will start booting at start. */
            int err = cpuStart(guest, 0, start);
            if (err != 0) {
                freeGuest(guest);
                return err;
            }
            /* Initialize the Guest's shadow page tables. This allocates memory, so can fail. */
            err = initGuestPagetable(guest);
            if (err != 0) {
                freeGuest(guest);
                return err;
            }
            /* We keep our "struct lguest" in the file. */
            guest.portIo = portIo;
            lg = guest;
            /* And because this is a write() call, we return the length used. */
            return Words.WORD * 3L;
        } finally {
            host.lguestLock.unlock();
        }
    }

    /* What initialize() unwinds: the register page, the eventfd map, the guest. */
    private static void freeGuest(Guest guest) {
        for (int i = 0; i < guest.nrCpus; i++) {
            guest.cpus[i].hrt.cancel();
            guest.cpus[i].state = null;
        }
        guest.eventfds = null;
    }

    /*L:025
     * This actually initializes a CPU. For the moment, a Guest is only
     * uniprocessor, so "id" is always 0.
     */
    int cpuStart(Guest guest, int id, long startIp) {
        /* We have a limited number of CPUs in the lguest struct. */
        if (id < 0 || id >= guest.cpus.length) {
            return -EINVAL;
        }
        /* Set up this CPU's id, and pointer back to the lguest struct. */
        Cpu cpu = new Cpu(id, guest);
        guest.cpus[id] = cpu;
        guest.nrCpus++;
        /* Each CPU has a timer it can set. */
        cpu.hrt = new ClockDevice(host.timers, host.interrupts, cpu);
        /* The Guest registers: a page of their own (here, the state that outlives any backend). */
        VcpuState state = host.allocator.allocate(Allocator.Step.REGISTER_PAGE, () -> new VcpuState(id));
        if (state == null) {
            return -ENOMEM;
        }
        cpu.state = state;
        /* Now we initialize the Guest's registers, handing it the start address. */
        X86.setupRegs(state, startIp);
        /* We keep a pointer to the Launcher task (ie. current task): the only reader of this CPU. */
        cpu.tsk = Thread.currentThread();
        /* No error == success. */
        return 0;
    }

    /*
     * init_guest_pagetable(): the native host area and the shadow page tables
     * in it, from the page-table manager. Without a manager we cannot set a
     * Guest up at all: EAGAIN (try again when one is there).
     */
    private int initGuestPagetable(Guest guest) {
        PageTableManager manager = host.pageTableManager();
        if (manager == null) {
            LOG.log(Level.WARNING, "lguest: LHREQ_INITIALIZE refused with EAGAIN: no page-table manager service");
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

    /*L:060
     * The final piece of interface code is the close() routine. It reverses
     * everything done in initialize(). This is usually called because the
     * Launcher exited. A CPU still inside read() on another thread is
     * brought out first (that read answers EBADF).
     */
    @Override
    public void close() {
        if (!closed.compareAndSet(false, true)) {
            return;
        }
        host.forget(this);
        /*
         * Under the big lock no INITIALIZE is half done: either it published
         * the guest, or it will see the file closed and not start.
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
        /* If we never successfully initialized, there's nothing to clean up. */
        if (guest == null) {
            return;
        }
        for (int i = 0; i < guest.nrCpus; i++) {
            Core.awaitOutOfRead(guest.cpus[i]);
        }
        /* We need the big lock, to protect from other Launchers initializing guests. */
        host.lguestLock.lock();
        try {
            for (int i = 0; i < guest.nrCpus; i++) {
                Cpu cpu = guest.cpus[i];
                /* Cancels the timer set via LHCALL_SET_CLOCKEVENT, and our watch on the reader. */
                cpu.hrt.cancel();
                Core.unwatch(cpu);
                cpu.lock.lock();
                try {
                    /* The engine goes first: it runs on the shadows and the host area. */
                    Core.closeVcpu(cpu);
                    /* We can free up the register page we allocated. */
                    cpu.state = null;
                    cpu.regRead = null;
                    cpu.hcall = null;
                } finally {
                    cpu.lock.unlock();
                }
            }
            /* Free up the shadow page tables for the Guest. */
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
            /* Release any eventfds they registered (the Launcher's descriptors stay open). */
            guest.eventfds = EventfdMap.EMPTY;
            /* lg->dead: a reason string or an errno; either way, it goes. */
            guest.forgetDeath();
            lg = null;
        } finally {
            host.lguestLock.unlock();
        }
    }
}
