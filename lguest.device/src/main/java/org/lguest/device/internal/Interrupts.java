package org.lguest.device.internal;

import static org.lguest.api.abi.Lguest.FIRST_EXTERNAL_VECTOR;
import static org.lguest.api.abi.Lguest.GUEST_PL;
import static org.lguest.api.abi.Lguest.LGUEST_IRQS;
import static org.lguest.api.abi.Lguest.X86_EFLAGS_IF;

import org.lguest.api.abi.Lguest;
import org.lguest.api.abi.Lhcall;
import org.lguest.api.cpu.LguestRegs;
import org.lguest.api.cpu.Reg;
import org.lguest.api.paging.GuestPageTables;

/*P:800
 * Getting the Guest into its own handlers. Two things arrive here: virtual
 * interrupts (device lines raised by the Launcher, and the clock) and
 * traps the Guest caused that are its to handle. Both are delivered the
 * same way: build the frame the CPU would build on the Guest's stack and
 * point EIP at the handler from the Guest's IDT. That IDT is a copy we
 * keep and check (Cpu.idtLo/idtHi); the real one belongs to the engine.
 */
final class Interrupts {
    private static final long MASK = 0xFFFF_FFFFL;

    private final Host host;

    Interrupts(Host host) {
        this.host = host;
    }

    /* Handler address: bits 0-15 in the low word, bits 16-31 in the high word. */
    static long idtAddress(int lo, int hi) {
        return (lo & 0x0000_FFFFL) | (hi & 0xFFFF_0000L);
    }

    /* Gate type, bits 8-11 of the high word (0xE interrupt gate, 0xF trap gate). */
    static int idtType(int lo, int hi) {
        return (hi >>> 8) & 0xF;
    }

    /* Bit 15 of the high word: the entry may be used. */
    static boolean idtPresent(int lo, int hi) {
        return (hi & 0x8000) != 0;
    }

    /** Our guest_pa(): Guest-virtual to Guest-physical through its page tables; unmapped kills the Guest. */
    static long guestPa(Cpu cpu, long vaddr) {
        GuestPageTables pt = cpu.lg.pageTables;
        long pa = pt == null ? -1 : pt.guestPhysical(cpu.id, vaddr & MASK);
        if (pa < 0) {
            cpu.lg.kill("Bad address " + Fmt.hex(vaddr & MASK));
        }
        return pa;
    }

    /* Pushes a 32-bit word on the Guest stack (a Guest-physical address); returns the new top. */
    private static long push(Cpu cpu, long gstack, int value) {
        long next = (gstack - 4) & MASK;
        cpu.lg.memory.write32(cpu.lg, next, value);
        return next;
    }

    /*H:210
     * Delivery proper, for interrupts and traps alike: lay out the same
     * frame an x86 CPU pushes (plus the error code when hasErr), so the
     * Guest's handler sees nothing unusual and a plain iret returns.
     */
    void setGuestInterrupt(Cpu cpu, int lo, int hi, boolean hasErr) {
        Guest lg = cpu.lg;
        LguestRegs regs = cpu.state.regs();
        long virtstack;
        int ss;
        long gstack;
        long origstack;

        /* The privilege level of SS says whether the Guest was in user mode or in its kernel. */
        if ((regs.get(Reg.SS) & 0x3) != GUEST_PL) {
            /* From user mode: switch to the kernel stack registered with LHCALL_SET_STACK. */
            virtstack = cpu.esp1 & MASK;
            ss = cpu.ss1;
            origstack = gstack = guestPa(cpu, virtstack);
            if (lg.isDead()) {
                return;
            }
            /* A privilege change puts the user SS:ESP first; iret pops them to get back. */
            gstack = push(cpu, gstack, regs.get(Reg.SS));
            gstack = push(cpu, gstack, regs.get(Reg.ESP));
        } else {
            /* Already in the kernel: the frame goes on the current stack. */
            virtstack = regs.get(Reg.ESP) & MASK;
            ss = regs.get(Reg.SS);
            origstack = gstack = guestPa(cpu, virtstack);
            if (lg.isDead()) {
                return;
            }
        }

        /*
         * The real IF stays set while the Guest runs; its virtual IF lives
         * in lguest_data.irq_enabled. The saved EFLAGS carries the virtual
         * one, so the Guest's iret path can restore it.
         */
        int eflags = regs.get(Reg.EFLAGS);
        LguestDataPage data = lg.lguestData;
        long irqEnable = data == null ? -1 : data.irqEnabled();
        if (irqEnable >= 0 && (irqEnable & X86_EFLAGS_IF) == 0) {
            eflags &= ~X86_EFLAGS_IF;
        }

        /* EFLAGS, CS, EIP, then the error code for the traps that have one. */
        gstack = push(cpu, gstack, eflags);
        gstack = push(cpu, gstack, regs.get(Reg.CS));
        gstack = push(cpu, gstack, regs.get(Reg.EIP));
        if (hasErr) {
            gstack = push(cpu, gstack, regs.get(Reg.ERRCODE));
        }
        if (lg.isDead()) {
            return;
        }

        /* Resume at the handler, in the Guest kernel's code segment, on the new stack top. */
        regs.set(Reg.SS, ss);
        regs.set(Reg.ESP, (int) (virtstack + (gstack - origstack)));
        runInterrupt(cpu, lo, hi);
    }

    /*
     * The part of delivery that does not touch the stack: into the handler
     * at the Guest kernel's CS, the flags a trap clears cleared, and virtual
     * interrupts off for an interrupt gate.
     */
    private static void runInterrupt(Cpu cpu, int lo, int hi) {
        LguestRegs regs = cpu.state.regs();
        regs.set(Reg.CS, Abi.KERNEL_CS_GUEST);
        regs.set(Reg.EIP, (int) idtAddress(lo, hi));

        /* As on hardware: TF, VM, RF and NT are clear inside the handler. */
        regs.set(Reg.EFLAGS, regs.get(Reg.EFLAGS)
            & ~(Abi.X86_EFLAGS_TF | Abi.X86_EFLAGS_VM | Abi.X86_EFLAGS_RF | Abi.X86_EFLAGS_NT));

        /* An interrupt gate (0xE) enters with interrupts off: clear the virtual IF. */
        if (idtType(lo, hi) == 0xE) {
            LguestDataPage data = cpu.lg.lguestData;
            if (data == null || !data.setIrqEnabled(0)) {
                cpu.lg.kill("Disabling interrupts");
            }
        }
    }

    /*
     * The Guest is about to execute its interrupt-return iret (EIP is
     * lguest_data.noirq_iret), with its EFLAGS, CS and EIP on the stack. To
     * deliver now, we do the only part of that iret the new frame would not
     * undo: EFLAGS from the frame (ESP + 8). An iret at ring 1 with IOPL 0
     * cannot change IF or IOPL, so those stay. The handler then returns
     * through the same frame. Returns false if the Guest was killed.
     */
    private static boolean emulateNoirqIret(Cpu cpu) {
        LguestRegs regs = cpu.state.regs();
        long at = guestPa(cpu, ((regs.get(Reg.ESP) & MASK) + 8) & MASK);
        if (cpu.lg.isDead()) {
            return false;
        }
        int saved = cpu.lg.memory.read32(cpu.lg, at);
        if (cpu.lg.isDead()) {
            return false;
        }
        int kept = X86_EFLAGS_IF | Lguest.X86_EFLAGS_IOPL;
        regs.set(Reg.EFLAGS, (regs.get(Reg.EFLAGS) & kept) | (saved & ~kept) | Abi.X86_EFLAGS_FIXED);
        return true;
    }

    /*H:205
     * The lowest pending interrupt the Guest has not masked in
     * lguest_data.blocked_interrupts, or LGUEST_IRQS for none. Core asks
     * before each entry and before parking a halted CPU.
     */
    int interruptPending(Cpu cpu) {
        return nextPending(cpu, 0);
    }

    private int nextPending(Cpu cpu, int from) {
        Guest lg = cpu.lg;
        /* Without lguest_data there is no mask to read; with nothing pending, no work. */
        if (!lg.initialized() || !cpu.anyIrqPending()) {
            return LGUEST_IRQS;
        }
        long blocked = lg.lguestData.blockedInterrupts();
        if (blocked < 0) {
            return LGUEST_IRQS;
        }
        for (int irq = from; irq < LGUEST_IRQS; irq++) {
            if (cpu.irqPending(irq) && (blocked & (1L << irq)) == 0) {
                return irq;
            }
        }
        return LGUEST_IRQS;
    }

    /**
     * Our try_deliver_interrupt(): deliver irq now if the Guest can take it,
     * else leave it pending and raise lguest_data.irq_pending so the Guest
     * asks for it (LHCALL_SEND_INTERRUPTS) once it enables interrupts.
     */
    void tryDeliverInterrupt(Cpu cpu, int irq) {
        Guest lg = cpu.lg;
        LguestRegs regs = cpu.state.regs();
        LguestDataPage data = lg.lguestData;

        if (cpu.halted) {
            /* A halted Guest waits with interrupts on: turn the virtual IF back on and wake it. */
            if (!data.setIrqEnabled(X86_EFLAGS_IF)) {
                lg.kill("Re-enabling interrupts");
            }
            cpu.halted = false;
        } else {
            /* Virtual IF off (any non-zero word is on; an unreadable one is off): flag it for later. */
            if (data.irqEnabled() <= 0) {
                data.setIrqPending(X86_EFLAGS_IF);
                return;
            }
        }

        /*
         * Interrupt n uses vector FIRST_EXTERNAL_VECTOR + n. With no handler
         * installed there, it stays pending.
         */
        int vector = FIRST_EXTERNAL_VECTOR + irq;
        if (idtPresent(cpu.idtLo[vector], cpu.idtHi[vector])) {
            cpu.clearIrq(irq);
            cpu.counters.interruptDelivered();
            if ((regs.get(Reg.EIP) & MASK) == lg.noirqIret) {
                /* About to iret: deliver on the frame that iret would pop. */
                if (emulateNoirqIret(cpu)) {
                    runInterrupt(cpu, cpu.idtLo[vector], cpu.idtHi[vector]);
                }
            } else {
                /* No error code for external interrupts. */
                setGuestInterrupt(cpu, cpu.idtLo[vector], cpu.idtHi[vector], false);
            }
        }
        if (lg.isDead()) {
            return;
        }

        /* Refresh the Guest's time; the clock interrupt makes this regular. */
        host.hypercalls.writeTimestamp(cpu);

        /* Drop irq_pending when nothing deliverable is left behind this one. */
        if (nextPending(cpu, irq + 1) >= LGUEST_IRQS) {
            data.setIrqPending(0);
        }
    }

    /**
     * Our set_interrupt(): mark irq pending and get the CPU to notice soon.
     * A halted CPU is woken; one running Guest code is kicked out so the
     * run loop can deliver it.
     */
    void setInterrupt(Cpu cpu, int irq) {
        cpu.setIrq(irq);
        cpu.lock.lock();
        try {
            wakeOrKick(cpu);
        } finally {
            cpu.lock.unlock();
        }
    }

    /** With the CPU's lock held: wake it from a halt, or kick it out of the guest to see the interrupt. */
    private static void wakeOrKick(Cpu cpu) {
        cpu.wake.signalAll();
        if (cpu.phase() == Cpu.Phase.RUNNING && cpu.vcpu != null && !cpu.lg.closed) {
            cpu.vcpu.kick();
        }
    }

    /** How soon the clock looks again at a CPU whose lock it could not take. */
    private static final long CLOCK_RETRY_NANOS = 500_000;

    /*
     * setInterrupt() for the Host's shared clock thread, which must never
     * wait on one guest: every guest's timer and watch run on it (issue 13,
     * finding 2). The interrupt is marked at once; if the CPU's lock is busy
     * its owner is in Host code and will see the mark before it sleeps, but
     * it may be about to enter the engine, so we look again shortly and kick
     * then, for as long as the interrupt stays pending.
     */
    void raiseFromClock(Cpu cpu, int irq) {
        cpu.setIrq(irq);
        wakeFromClock(cpu, irq);
    }

    private void wakeFromClock(Cpu cpu, int irq) {
        if (cpu.lg.closed || !cpu.irqPending(irq)) {
            return;
        }
        if (cpu.lock.tryLock()) {
            try {
                wakeOrKick(cpu);
            } finally {
                cpu.lock.unlock();
            }
            return;
        }
        try {
            host.timers.schedule(() -> wakeFromClock(cpu, irq), CLOCK_RETRY_NANOS, java.util.concurrent.TimeUnit.NANOSECONDS);
        } catch (java.util.concurrent.RejectedExecutionException e) {
            // The Host is going away.
        }
    }

    /*
     * The vectors a Guest may claim for system calls: 0x80, and the one
     * extra vector HostConfig allows.
     */
    boolean couldBeSyscall(long num) {
        return num == Abi.SYSCALL_VECTOR || num == host.settings().syscallVector();
    }

    /*H:220
     * x86 pushes an error code for vectors 8, 10-14 and 17 only.
     */
    static boolean hasErr(int trap) {
        return trap == 8 || (trap >= 10 && trap <= 14) || trap == 17;
    }

    /** Our deliver_trap(): false when the Guest has no gate for num (the caller decides what follows). */
    boolean deliverTrap(Cpu cpu, int num) {
        if (num < 0 || num >= Abi.IDT_ENTRIES) {
            return false;
        }
        /* No present entry, e.g. a trap before the Guest loaded its IDT. */
        if (!idtPresent(cpu.idtLo[num], cpu.idtHi[num])) {
            return false;
        }
        setGuestInterrupt(cpu, cpu.idtLo[num], cpu.idtHi[num], hasErr(num));
        return true;
    }

    /*H:260
     * Fault in every page of the kernel stack now, writable, so pushing a
     * trap frame later never needs a page fault of its own. esp1 is the top
     * (one past the last byte); page i covers esp1 - 1 - i * PAGE_SIZE.
     */
    void pinStackPages(Cpu cpu) {
        for (int i = 0; i < cpu.lg.stackPages && !cpu.lg.isDead(); i++) {
            pinPage(cpu, ((cpu.esp1 & MASK) - 1 - (long) i * Lguest.PAGE_SIZE) & MASK);
        }
    }

    private void pinPage(Cpu cpu, long vaddr) {
        GuestPageTables pt = cpu.lg.pageTables;
        if (pt == null) {
            return;
        }
        GuestPageTables.Fault fault = pt.demandPage(cpu.id, vaddr, Abi.PF_WRITE);
        if (fault == GuestPageTables.Fault.FILLED) {
            if (cpu.vcpu != null) {
                cpu.vcpu.pageFilled(vaddr);
            }
        } else if (fault != GuestPageTables.Fault.KILLED) {
            cpu.lg.kill("bad stack page " + Fmt.hex(vaddr));
        }
    }

    /**
     * LHCALL_SET_STACK: segment, top address and page count of the stack
     * that traps from user mode land on. The segment must be at the Guest
     * kernel's privilege level; at most two pages.
     */
    void setStack(Cpu cpu, long seg, long esp, long pages) {
        if ((seg & 0x3) != GUEST_PL) {
            cpu.lg.kill("bad stack segment " + Fmt.signed(seg));
            return;
        }
        if (Long.compareUnsigned(pages, 2) > 0) {
            cpu.lg.kill("bad stack pages " + Fmt.unsigned(pages));
            return;
        }
        cpu.ss1 = (int) seg;
        cpu.esp1 = (int) esp;
        cpu.lg.stackPages = (int) pages;
        /* Map them now, before the first trap needs them. */
        pinStackPages(cpu);
    }

    /*H:230
     * LHCALL_LOAD_IDT_ENTRY. Vectors 2 (NMI), 8 (double fault), 15 and the
     * hypercall vector are the Host's: requests for them are dropped
     * silently.
     */
    void loadIdtEntry(Cpu cpu, long num, long lo, long hi) {
        if (num == 2 || num == 8 || num == 15 || num == Lhcall.TRAP_ENTRY) {
            return;
        }
        /* Beyond the table: a Guest bug. */
        if (Long.compareUnsigned(num, Abi.IDT_ENTRIES) >= 0) {
            cpu.lg.kill("Setting idt entry " + Fmt.unsigned(num));
            return;
        }
        setTrap(cpu, (int) num, (int) lo, (int) hi);
    }

    /*H:235 Validate one IDT entry and store our sanitised copy. */
    private static void setTrap(Cpu cpu, int num, int lo, int hi) {
        /* Not present: store zeroes. */
        if (!idtPresent(lo, hi)) {
            cpu.idtLo[num] = 0;
            cpu.idtHi[num] = 0;
            return;
        }
        /* Only interrupt (0xE) and trap (0xF) gates make sense for a Guest. */
        int type = idtType(lo, hi);
        if (type != 0xE && type != 0xF) {
            cpu.lg.kill("bad IDT type " + type);
            return;
        }
        /*
         * Keep the handler address, present bit, DPL and type; force the
         * selector to the Guest kernel's code segment, whatever was asked.
         */
        cpu.idtLo[num] = (Abi.KERNEL_CS_GUEST << 16) | (lo & 0x0000_FFFF);
        cpu.idtHi[num] = hi & 0xFFFF_EF00;
    }
}
