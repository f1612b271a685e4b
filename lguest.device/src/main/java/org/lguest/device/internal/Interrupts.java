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
 * Interrupts (traps) are complicated enough to earn their own file. There
 * are two classes of interrupts the Host core sees:
 *
 * 1) Interrupts for virtual devices (and the clock) attached to the Guest,
 * 2) Traps and faults from the Guest.
 *
 * Virtual interrupts must be delivered to the Guest, but we make them look
 * just like real hardware would deliver them. Traps from the Guest are
 * "reflected" into the Guest as if they had been delivered to it directly.
 * Either way we push the frame on the Guest's stack and jump to the handler
 * the Guest put in its IDT, which we keep here (the Guest never touches the
 * real one).
 */
final class Interrupts {
    private static final long MASK = 0xFFFF_FFFFL;

    private final Host host;

    Interrupts(Host host) {
        this.host = host;
    }

    /* The address of the interrupt handler is split into two bits: */
    static long idtAddress(int lo, int hi) {
        return (lo & 0x0000_FFFFL) | (hi & 0xFFFF_0000L);
    }

    /* The "type" of the interrupt handler is a 4 bit field: we only support a couple of types. */
    static int idtType(int lo, int hi) {
        return (hi >>> 8) & 0xF;
    }

    /* An IDT entry can't be used unless the "present" bit is set. */
    static boolean idtPresent(int lo, int hi) {
        return (hi & 0x8000) != 0;
    }

    /** Walks the guest's page tables; an unmapped address kills the Guest (guest_pa). */
    static long guestPa(Cpu cpu, long vaddr) {
        GuestPageTables pt = cpu.lg.pageTables;
        long pa = pt == null ? -1 : pt.guestPhysical(cpu.id, vaddr & MASK);
        if (pa < 0) {
            cpu.lg.kill("Bad address " + Fmt.hex(vaddr & MASK));
        }
        return pa;
    }

    /*
     * We need a helper to "push" a value onto the Guest's stack, since that's
     * a big part of what delivering an interrupt does. The stack grows
     * downwards: move the stack, then write the value (checked, of course).
     */
    private static long push(Cpu cpu, long gstack, int value) {
        long next = (gstack - 4) & MASK;
        cpu.lg.memory.write32(cpu.lg, next, value);
        return next;
    }

    /*H:210
     * set_guest_interrupt() actually delivers the interrupt or trap. The
     * mechanics of delivering traps and interrupts to the Guest are the
     * same, except some traps have an "error code" which gets pushed onto
     * the stack as well: the caller tells us if this is one.
     *
     * We set up the stack just like the CPU does for a real interrupt, so
     * it's identical for the Guest (and the standard "iret" instruction will
     * undo it).
     */
    void setGuestInterrupt(Cpu cpu, int lo, int hi, boolean hasErr) {
        Guest lg = cpu.lg;
        LguestRegs regs = cpu.state.regs();
        long virtstack;
        int ss;
        long gstack;
        long origstack;

        /*
         * There are two cases for interrupts: one where the Guest is already
         * in the kernel, and a more complex one where the Guest is in
         * userspace. We check the privilege level to find out.
         */
        if ((regs.get(Reg.SS) & 0x3) != GUEST_PL) {
            /* The Guest told us their kernel stack with the SET_STACK hypercall. */
            virtstack = cpu.esp1 & MASK;
            ss = cpu.ss1;
            origstack = gstack = guestPa(cpu, virtstack);
            if (lg.isDead()) {
                return;
            }
            /*
             * We push the old stack segment and pointer onto the new stack:
             * when the Guest does an "iret" back from the interrupt handler
             * the CPU will notice they're dropping privilege levels and
             * expect these here.
             */
            gstack = push(cpu, gstack, regs.get(Reg.SS));
            gstack = push(cpu, gstack, regs.get(Reg.ESP));
        } else {
            /* We're staying on the same Guest (kernel) stack. */
            virtstack = regs.get(Reg.ESP) & MASK;
            ss = regs.get(Reg.SS);
            origstack = gstack = guestPa(cpu, virtstack);
            if (lg.isDead()) {
                return;
            }
        }

        /*
         * Remember that we never let the Guest actually disable interrupts,
         * so the "Interrupt Flag" bit is always set. We copy that bit from the
         * Guest's "irq_enabled" field into the eflags word: the Guest copies
         * it back when it returns.
         */
        int eflags = regs.get(Reg.EFLAGS);
        LguestDataPage data = lg.lguestData;
        long irqEnable = data == null ? -1 : data.irqEnabled();
        if (irqEnable >= 0 && (irqEnable & X86_EFLAGS_IF) == 0) {
            eflags &= ~X86_EFLAGS_IF;
        }

        /*
         * An interrupt is expected to push three things on the stack: the old
         * "eflags" word, the old code segment, and the old instruction
         * pointer. For the traps which supply an error code, we push that, too.
         */
        gstack = push(cpu, gstack, eflags);
        gstack = push(cpu, gstack, regs.get(Reg.CS));
        gstack = push(cpu, gstack, regs.get(Reg.EIP));
        if (hasErr) {
            gstack = push(cpu, gstack, regs.get(Reg.ERRCODE));
        }
        if (lg.isDead()) {
            return;
        }

        /* Now we change the stack, the code segment and the address to execute. */
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

        /* Trapping always clears these flags: trap, virtual-8086, resume, nested task. */
        regs.set(Reg.EFLAGS, regs.get(Reg.EFLAGS)
            & ~(Abi.X86_EFLAGS_TF | Abi.X86_EFLAGS_VM | Abi.X86_EFLAGS_RF | Abi.X86_EFLAGS_NT));

        /* 0xE is an "interrupt gate", which expects interrupts to be disabled on entry. */
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
     * Virtual Interrupts.
     *
     * interruptPending() returns the first pending interrupt which isn't
     * blocked by the Guest, or LGUEST_IRQS when there is none. It is called
     * before every entry to the Guest, and just before we go to sleep when
     * the Guest has halted itself.
     */
    int interruptPending(Cpu cpu) {
        return nextPending(cpu, 0);
    }

    private int nextPending(Cpu cpu, int from) {
        Guest lg = cpu.lg;
        /* If the Guest hasn't even initialized yet, we can do nothing; with nothing pending, neither. */
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
     * try_deliver_interrupt(): divert the Guest to an interrupt handler,
     * once interruptPending() found one. When no other deliverable one waits
     * behind it, irq_pending is cleared.
     */
    void tryDeliverInterrupt(Cpu cpu, int irq) {
        Guest lg = cpu.lg;
        LguestRegs regs = cpu.state.regs();
        LguestDataPage data = lg.lguestData;

        if (cpu.halted) {
            /* If they're halted, interrupts restart them: re-enable interrupts. */
            if (!data.setIrqEnabled(X86_EFLAGS_IF)) {
                lg.kill("Re-enabling interrupts");
            }
            cpu.halted = false;
        } else {
            /*
             * Otherwise we check if they have interrupts disabled: any
             * non-zero word means enabled (the Guest's iret path stores a
             * whole EFLAGS image there). A word we cannot read counts as 0.
             */
            if (data.irqEnabled() <= 0) {
                /* Make sure they know an IRQ is pending. */
                data.setIrqPending(X86_EFLAGS_IF);
                return;
            }
        }

        /*
         * Look at the IDT entry the Guest gave us for this interrupt. The
         * first 32 (FIRST_EXTERNAL_VECTOR) entries are for traps, so we skip
         * over them. If they don't have a handler (yet?), we just leave it
         * pending.
         */
        int vector = FIRST_EXTERNAL_VECTOR + irq;
        if (idtPresent(cpu.idtLo[vector], cpu.idtHi[vector])) {
            cpu.clearIrq(irq);
            if ((regs.get(Reg.EIP) & MASK) == lg.noirqIret) {
                /* About to iret: deliver on the frame that iret would pop. */
                if (emulateNoirqIret(cpu)) {
                    runInterrupt(cpu, cpu.idtLo[vector], cpu.idtHi[vector]);
                }
            } else {
                /* Virtual interrupts never push an error code. */
                setGuestInterrupt(cpu, cpu.idtLo[vector], cpu.idtHi[vector], false);
            }
        }
        if (lg.isDead()) {
            return;
        }

        /*
         * Every time we deliver an interrupt, we update the timestamp in the
         * Guest's lguest_data struct: at least it gets updated every timer
         * interrupt.
         */
        host.hypercalls.writeTimestamp(cpu);

        /* If there are no other interrupts we want to deliver, clear the pending flag. */
        if (nextPending(cpu, irq + 1) >= LGUEST_IRQS) {
            data.setIrqPending(0);
        }
    }

    /**
     * set_interrupt(): next time the Guest runs, the core code will see if
     * it can deliver this interrupt. Make sure the CPU sees it: it might be
     * asleep (halted), or running the Guest right now, in which case a kick
     * knocks it out.
     */
    void setInterrupt(Cpu cpu, int irq) {
        cpu.setIrq(irq);
        cpu.lock.lock();
        try {
            cpu.wake.signalAll();
            if (cpu.running && cpu.vcpu != null && !cpu.lg.closed) {
                cpu.vcpu.kick();
            }
        } finally {
            cpu.lock.unlock();
        }
    }

    /*
     * Linux uses trap 128 for system calls; lguest lets the Host allow one
     * more (its syscall_vector parameter, our configuration).
     */
    boolean couldBeSyscall(long num) {
        return num == Abi.SYSCALL_VECTOR || num == host.settings().syscallVector();
    }

    /*H:220
     * Now we've got the routines to deliver interrupts, delivering traps like
     * page fault is easy. The only trick is that Intel decided that some
     * traps should have error codes:
     */
    static boolean hasErr(int trap) {
        return trap == 8 || (trap >= 10 && trap <= 14) || trap == 17;
    }

    /** deliver_trap() returns true if it could deliver the trap. */
    boolean deliverTrap(Cpu cpu, int num) {
        if (num < 0 || num >= Abi.IDT_ENTRIES) {
            return false;
        }
        /*
         * Early on the Guest hasn't set the IDT entries (or maybe it put a
         * bogus one in): if we fail here, the Guest will be killed.
         */
        if (!idtPresent(cpu.idtLo[num], cpu.idtHi[num])) {
            return false;
        }
        setGuestInterrupt(cpu, cpu.idtLo[num], cpu.idtHi[num], hasErr(num));
        return true;
    }

    /*H:260
     * When the Guest gives us a kernel stack, we make sure it is mapped in
     * the shadow page tables, so delivering a trap can never fault while
     * pushing the frame. The address is the start of the page after the
     * stack: subtract one to get onto the first stack page, and keep
     * subtracting to get to the rest.
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
     * guest_set_stack(): the kernel stack (segment, virtual address, pages)
     * traps from userspace switch to. Its segment must have the Guest's
     * privilege level, and we only expect one or two pages.
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
        /* Make sure the new stack pages are mapped. */
        pinStackPages(cpu);
    }

    /*H:230
     * The Guest sets its IDT entries with LHCALL_LOAD_IDT_ENTRY. The Guest
     * never handles NMI, double fault, the spurious interrupt or the
     * hypercall trap: we ignore it when it tries to set them.
     */
    void loadIdtEntry(Cpu cpu, long num, long lo, long hi) {
        if (num == 2 || num == 8 || num == 15 || num == Lhcall.TRAP_ENTRY) {
            return;
        }
        /* Check that the Guest doesn't try to step outside the bounds. */
        if (Long.compareUnsigned(num, Abi.IDT_ENTRIES) >= 0) {
            cpu.lg.kill("Setting idt entry " + Fmt.unsigned(num));
            return;
        }
        setTrap(cpu, (int) num, (int) lo, (int) hi);
    }

    /*H:235 This is the routine which actually checks the Guest's IDT entry and keeps it. */
    private static void setTrap(Cpu cpu, int num, int lo, int hi) {
        /* We zero-out a not-present entry. */
        if (!idtPresent(lo, hi)) {
            cpu.idtLo[num] = 0;
            cpu.idtHi[num] = 0;
            return;
        }
        /* We only support interrupt and trap gates. */
        int type = idtType(lo, hi);
        if (type != 0xE && type != 0xF) {
            cpu.lg.kill("bad IDT type " + type);
            return;
        }
        /*
         * We only copy the handler address, present bit, privilege level and
         * type; the code segment is always the Guest kernel's.
         */
        cpu.idtLo[num] = (Abi.KERNEL_CS_GUEST << 16) | (lo & 0x0000_FFFF);
        cpu.idtHi[num] = hi & 0xFFFF_EF00;
    }
}
