package org.lguest.device.internal;

import static org.lguest.api.abi.Lguest.GUEST_PL;

import org.lguest.api.abi.Lguest;
import org.lguest.api.abi.Lhcall;
import org.lguest.api.cpu.LguestRegs;
import org.lguest.api.cpu.Reg;
import org.lguest.api.cpu.VcpuExit;
import org.lguest.api.device.Eventfd;
import org.lguest.api.paging.GuestPageTables;

/*P:450
 * What x86/core.c does once the Guest has come out: look at why it exited,
 * and either deal with it here (a hypercall, a page fault the shadow page
 * tables can fill), hand it to the Launcher (an I/O instruction, an access
 * to device memory), or reflect it into the Guest's own handler.
 */
final class Traps {
    private static final long MASK = 0xFFFF_FFFFL;

    private final Host host;

    Traps(Host host) {
        this.host = host;
    }

    /*H:050 Once we've re-enabled interrupts, we look at why the Guest exited. */
    void handleTrap(Cpu cpu, VcpuExit exit) {
        if (exit.kind() == VcpuExit.Kind.KICKED) {
            /* Someone wanted our attention (an interrupt, a close): the run loop will see. */
            return;
        }
        Guest lg = cpu.lg;
        LguestRegs regs = cpu.state.regs();
        int trapnum = exit.vector();
        regs.set(Reg.TRAPNUM, trapnum);
        regs.set(Reg.ERRCODE, exit.errorCode());

        if (exit.softwareInterrupt()) {
            softwareInterrupt(cpu, trapnum);
            return;
        }

        switch (trapnum) {
            case Abi.TRAP_GP -> {
                /*
                 * We've intercepted a General Protection Fault. If this was one
                 * of those annoying IN or OUT instructions, the Launcher
                 * emulates it; a "cli" we simply skip.
                 */
                if (exit.errorCode() == 0 && emulateInsn(cpu)) {
                    return;
                }
            }
            case Abi.TRAP_PF -> {
                /*
                 * We've intercepted a Page Fault. Most of the time the shadow
                 * page tables just don't have the page yet: we set it up and
                 * don't even tell the Guest that the fault happened.
                 */
                long cr2 = exit.cr2() & MASK;
                cpu.lastPagefault = cr2;
                GuestPageTables pt = lg.pageTables;
                if (pt == null) {
                    /* The page-table manager went away under us: the access faults again later. */
                    return;
                }
                switch (pt.demandPage(cpu.id, cr2, exit.errorCode())) {
                    case FILLED -> {
                        cpu.vcpu.pageFilled(cr2);
                        return;
                    }
                    case KILLED -> {
                        return;
                    }
                    case DEVICE -> {
                        if (storeToEventfd(cpu, cr2)) {
                            return;
                        }
                        /*
                         * An access to memory-mapped I/O: tell the Launcher, let it
                         * handle it. Should it hand the fault back (LHREQ_TRAP), the
                         * Guest finds cr2 where it looks.
                         */
                        writeCr2(cpu, cr2);
                        setupIomemInsn(cpu, cr2);
                        return;
                    }
                    case GUEST ->
                        /*
                         * OK, it's really not there (or not OK): the Guest needs
                         * to know. We write out the cr2 value so it knows where
                         * the fault occurred.
                         */
                        writeCr2(cpu, cr2);
                }
            }
            case Abi.TRAP_DEVICE_NOT_AVAILABLE -> {
                /* If the Guest doesn't want to know (TS clear), we just continue without telling it. */
                if (cpu.ts == 0) {
                    return;
                }
            }
            case Lhcall.TRAP_ENTRY -> {
                hypercall(cpu);
                return;
            }
            default -> {
                if (trapnum >= Lguest.FIRST_EXTERNAL_VECTOR && trapnum < Abi.IDT_ENTRIES) {
                    /*
                     * These values mean a real interrupt occurred, in which case
                     * the Host handler has already been run (lguest): nothing
                     * for the Guest. A backend that cannot tell us an "int n"
                     * from other exits still gets the system call through.
                     */
                    if (!host.interrupts.couldBeSyscall(trapnum)
                        || !Interrupts.idtPresent(cpu.idtLo[trapnum], cpu.idtHi[trapnum])) {
                        return;
                    }
                }
            }
        }

        /* We didn't handle the trap, so it needs to go to the Guest. */
        reflect(cpu, trapnum, exit.errorCode());
    }

    /*
     * Our 'struct hcall_args' maps onto the registers: we take the arguments
     * now, and the run loop does the hypercall before anything else.
     */
    private static void hypercall(Cpu cpu) {
        LguestRegs regs = cpu.state.regs();
        cpu.hcall = new long[] {
            regs.get(Reg.EAX) & MASK, regs.get(Reg.EDX) & MASK, regs.get(Reg.EBX) & MASK,
            regs.get(Reg.ECX) & MASK, regs.get(Reg.ESI) & MASK};
    }

    private static void writeCr2(Cpu cpu, long cr2) {
        Guest lg = cpu.lg;
        /* If the Guest were really messed up this could happen before LGUEST_INIT: no lguest_data yet. */
        if (lg.initialized() && !lg.lguestData.setCr2(cr2)) {
            lg.kill("Writing cr2");
        }
        cpu.state.cr2(cr2);
    }

    /** deliver_trap(), or the cryptic death of a Guest with no handler for it. */
    private void reflect(Cpu cpu, int trapnum, int errorCode) {
        Guest lg = cpu.lg;
        if (lg.pageTables == null) {
            return;
        }
        if (!host.interrupts.deliverTrap(cpu, trapnum)) {
            /*
             * If the Guest doesn't have a handler (either it hasn't registered
             * any yet, or it's one of the faults we don't let it handle, or the
             * switcher could not load its registers: 256), it dies with this
             * cryptic error message.
             */
            lg.kill("unhandled trap " + trapnum + " at " + Fmt.hex(cpu.state.regs().get(Reg.EIP) & MASK) + " ("
                + Fmt.hex(trapnum == Abi.TRAP_PF ? cpu.lastPagefault : errorCode & MASK) + ")");
        }
    }

    /*
     * An "int n" the Guest executed. In lguest the hardware checked the
     * gate's privilege level against the caller's: the hypercall gate has
     * the Guest kernel's (so Guest userspace can't make hypercalls), the
     * others the level the Guest gave its own entry, and a not-present or
     * too-privileged gate is a General Protection Fault at the "int", with
     * the vector in the error code. A software interrupt never pushes an
     * error code. Vectors from 32 up other than the system call were real
     * interrupts for lguest, so the Guest never saw them.
     */
    private void softwareInterrupt(Cpu cpu, int vector) {
        LguestRegs regs = cpu.state.regs();
        if (vector < 0 || vector >= Abi.IDT_ENTRIES) {
            reflect(cpu, vector, 0);
            return;
        }
        int cpl = regs.get(Reg.CS) & 3;
        int dpl;
        if (vector == Lhcall.TRAP_ENTRY) {
            dpl = GUEST_PL;
        } else if (Interrupts.idtPresent(cpu.idtLo[vector], cpu.idtHi[vector])) {
            dpl = (cpu.idtHi[vector] >>> 13) & 3;
        } else {
            dpl = 0;
        }
        if (dpl < cpl) {
            long eip = regs.get(Reg.EIP) & MASK;
            regs.set(Reg.EIP, (int) (eip - softIntLength(cpu, vector, eip)));
            int errorCode = (vector << 3) | 2;
            regs.set(Reg.TRAPNUM, Abi.TRAP_GP);
            regs.set(Reg.ERRCODE, errorCode);
            reflect(cpu, Abi.TRAP_GP, errorCode);
            return;
        }
        if (vector == Lhcall.TRAP_ENTRY) {
            hypercall(cpu);
            return;
        }
        if (vector >= Lguest.FIRST_EXTERNAL_VECTOR && !host.interrupts.couldBeSyscall(vector)) {
            return;
        }
        if (cpu.lg.pageTables != null) {
            host.interrupts.setGuestInterrupt(cpu, cpu.idtLo[vector], cpu.idtHi[vector], false);
        }
    }

    /* int3 (0xCC), into (0xCE) and int1 (0xF1) are one byte; "int n" (0xCD n) is two. */
    private static int softIntLength(Cpu cpu, int vector, long eip) {
        int oneByte = switch (vector) {
            case 1 -> 0xF1;
            case 3 -> 0xCC;
            case 4 -> 0xCE;
            default -> -1;
        };
        if (oneByte < 0 || cpu.lg.pageTables == null) {
            return 2;
        }
        long pa = cpu.lg.pageTables.guestPhysical(cpu.id, (eip - 1) & MASK);
        int[] word = new int[1];
        if (pa >= 0 && cpu.lg.memory.addressOk(pa, 1) && cpu.lg.memory.tryRead32(pa & ~3L, word)
            && ((word[0] >>> (8 * (int) (pa & 3))) & 0xFF) == oneByte) {
            return 1;
        }
        return 2;
    }

    /*H:130
     * The Guest sometimes fumbles across an I/O instruction as it probes for
     * things which are usually attached to a PC. When the Guest kernel uses
     * one we get a General Protection Fault and hand it to the Launcher to
     * emulate, with the instruction bytes so it doesn't have to walk the
     * page tables. "cli" (which early boot code uses and which we can't
     * allow) we simply skip, which will Mostly Work. Returns true if the
     * fault was dealt with.
     */
    private boolean emulateInsn(Cpu cpu) {
        Guest lg = cpu.lg;
        LguestRegs regs = cpu.state.regs();
        /* This must be the Guest kernel trying to do something, not userspace! */
        if ((regs.get(Reg.CS) & 3) != GUEST_PL) {
            return false;
        }
        if (lg.pageTables == null) {
            /* We cannot read the instruction now; it faults again once we can. */
            return true;
        }
        long eip = regs.get(Reg.EIP) & MASK;
        byte[] insn = copyFromGuest(cpu, eip, PendingTrap.INSN_BYTES);
        if (lg.isDead()) {
            return true;
        }
        int op = insn[0] & 0xFF;
        if (op == 0xFA) {
            /* "cli", or Clear Interrupt Enable instruction. Skip it. */
            regs.set(Reg.EIP, (int) (eip + 1));
            return true;
        }
        /* 0x66 is an "operand prefix": a 16, not 32 bit in/out. */
        if (op == 0x66) {
            op = insn[1] & 0xFF;
        }
        /* We can ignore the lower bit (8 or 16/32 bit) and decode the 4 opcodes: */
        switch (op & 0xFE) {
            case 0xE4, 0xEC, 0xE6, 0xEE -> {
                /* in <imm8>,%al; in (%dx),%al; out %al,<imm8>; out %al,(%dx) */
                cpu.pendingTrap = new PendingTrap(Abi.TRAP_GP, insn, 0);
                return true;
            }
            default -> {
                /* OK, we don't know what this is: the Guest gets its #GP. */
                return false;
            }
        }
    }

    /*
     * Our extension, KVM's ioeventfd in lguest's terms: the eventfd map also
     * holds guest-physical addresses in device memory (a virtio notify
     * register, say). A store to one of those is the whole message, so the
     * Host signals the eventfd and steps over the instruction itself; the
     * Launcher never hears of it. Loads, and stores it cannot decode, go to
     * the Launcher as before. True if the store was taken.
     */
    private boolean storeToEventfd(Cpu cpu, long cr2) {
        EventfdMap map = cpu.lg.eventfds;
        if (map == null || map.size() == 0) {
            return false;
        }
        long addr = Interrupts.guestPa(cpu, cr2);
        if (cpu.lg.isDead()) {
            return true;
        }
        Eventfd event = map.lookup(addr);
        if (event == null) {
            return false;
        }
        LguestRegs regs = cpu.state.regs();
        long eip = regs.get(Reg.EIP) & MASK;
        byte[] insn = copyFromGuest(cpu, eip, PendingTrap.INSN_BYTES);
        if (cpu.lg.isDead()) {
            return true;
        }
        int length = MmioStore.length(insn);
        if (length < 0) {
            return false;
        }
        event.signal(1);
        regs.set(Reg.EIP, (int) (eip + length));
        return true;
    }

    private void setupIomemInsn(Cpu cpu, long cr2) {
        long addr = Interrupts.guestPa(cpu, cr2);
        if (cpu.lg.isDead()) {
            return;
        }
        byte[] insn = copyFromGuest(cpu, cpu.state.regs().get(Reg.EIP) & MASK, PendingTrap.INSN_BYTES);
        if (cpu.lg.isDead()) {
            return;
        }
        cpu.pendingTrap = new PendingTrap(Abi.TRAP_PF, insn, addr);
    }

    /*
     * The eip contains the *virtual* address of the Guest's instruction. We
     * handle the case where the instruction is over two pages, and the pages
     * are virtually but not physically contiguous; if the second page isn't
     * mapped we fill with zeroes. An unmapped first page kills the Guest.
     */
    static byte[] copyFromGuest(Cpu cpu, long vaddr, int len) {
        byte[] dst = new byte[len];
        copyFromGuest(cpu, dst, 0, vaddr, len);
        return dst;
    }

    private static void copyFromGuest(Cpu cpu, byte[] dst, int at, long vaddr, int len) {
        Guest lg = cpu.lg;
        int toPageEnd = (int) (Lguest.PAGE_SIZE - (vaddr % Lguest.PAGE_SIZE));
        if (len > toPageEnd) {
            long next = (vaddr + toPageEnd) & MASK;
            if (lg.pageTables.guestPhysical(cpu.id, next) >= 0) {
                copyFromGuest(cpu, dst, at + toPageEnd, next, len - toPageEnd);
            }
            len = toPageEnd;
        }
        long pa = Interrupts.guestPa(cpu, vaddr);
        if (lg.isDead()) {
            return;
        }
        byte[] part = lg.memory.read(lg, pa, len);
        System.arraycopy(part, 0, dst, at, len);
    }
}
