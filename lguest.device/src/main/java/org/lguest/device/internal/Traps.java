package org.lguest.device.internal;

import static org.lguest.api.abi.Lguest.GUEST_PL;

import org.lguest.api.abi.Lguest;
import org.lguest.api.abi.LguestPending;
import org.lguest.api.abi.Lhcall;
import org.lguest.api.cpu.LguestRegs;
import org.lguest.api.cpu.Reg;
import org.lguest.api.cpu.VcpuExit;
import org.lguest.api.device.Eventfd;
import org.lguest.api.paging.GuestPageTables;

/*P:450
 * Sorting a vCPU exit into one of three outcomes: the Host deals with it
 * (hypercalls, page faults the shadows can satisfy), the Launcher does
 * (port I/O, MMIO accesses), or the Guest does, through its own IDT.
 */
final class Traps {
    private static final long MASK = 0xFFFF_FFFFL;

    private final Host host;

    Traps(Host host) {
        this.host = host;
    }

    /*H:050 Called by the run loop after every exit, with the CPU's lock held again. */
    void handleTrap(Cpu cpu, VcpuExit exit) {
        cpu.counters.exit(exit);
        if (exit.kind() == VcpuExit.Kind.KICKED) {
            /* A kick, not a trap: the loop itself finds the reason (interrupt, pause, close). */
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
                /* #GP with error code 0: the Launcher decides (skip a cli, emulate in/out, or hand it back), as in Linux 4.x. */
                if (exit.errorCode() == 0) {
                    setupEmulateInsn(cpu);
                    return;
                }
            }
            case Abi.TRAP_PF -> {
                /*
                 * #PF: usually a shadow entry not built yet. The manager fills it
                 * and the Guest retries the access without ever knowing.
                 */
                long cr2 = exit.cr2() & MASK;
                cpu.lastPagefault = cr2;
                GuestPageTables pt = lg.pageTables;
                if (pt == null) {
                    /* No manager right now; the retried access faults again once one is back. */
                    return;
                }
                switch (cpu.counters.pageFault(pt.demandPage(cpu.id, cr2, exit.errorCode()))) {
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
                         * MMIO: the Launcher emulates it. As in Linux 4.x, cr2 is
                         * not written: a fault it hands back shows the old value.
                         */
                        setupIomemInsn(cpu, cr2);
                        return;
                    }
                    case GUEST ->
                        /* A genuine fault of the Guest's: give it cr2 and reflect it below. */
                        writeCr2(cpu, cr2);
                }
            }
            case Abi.TRAP_DEVICE_NOT_AVAILABLE -> {
                /* #NM only matters to a Guest that set TS (LHCALL_TS); otherwise resume. */
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
                     * Vectors 32 and up are external interrupts, handled by the
                     * Host, not reflected. The exception is the system-call vector
                     * with a gate installed, for backends that report "int n" as
                     * a plain exit.
                     */
                    if (!host.interrupts.couldBeSyscall(trapnum)
                        || !Interrupts.idtPresent(cpu.idtLo[trapnum], cpu.idtHi[trapnum])) {
                        return;
                    }
                }
            }
        }

        /* Everything not handled above is the Guest's. */
        reflect(cpu, trapnum, exit.errorCode());
    }

    /*
     * Capture call and arguments (EAX; then EBX, ECX, EDX, ESI, as Linux 4.x)
     * now, while the registers hold them; the run loop performs the call
     * before re-entry. No register is written back.
     */
    private static void hypercall(Cpu cpu) {
        LguestRegs regs = cpu.state.regs();
        cpu.hcall = new long[] {
            regs.get(Reg.EAX) & MASK, regs.get(Reg.EBX) & MASK, regs.get(Reg.ECX) & MASK,
            regs.get(Reg.EDX) & MASK, regs.get(Reg.ESI) & MASK};
    }

    private static void writeCr2(Cpu cpu, long cr2) {
        Guest lg = cpu.lg;
        /* A fault before LGUEST_INIT has no lguest_data to write into. */
        if (lg.initialized() && !lg.lguestData.setCr2(cr2)) {
            lg.kill("Writing cr2");
        }
        cpu.state.cr2(cr2);
    }

    /** Hand the trap to the Guest's handler; with none, kill the Guest with a message naming the trap. */
    private void reflect(Cpu cpu, int trapnum, int errorCode) {
        Guest lg = cpu.lg;
        if (lg.pageTables == null) {
            return;
        }
        if (!host.interrupts.deliverTrap(cpu, trapnum)) {
            /*
             * No gate: an IDT not loaded yet, a vector the Guest may not own,
             * or 256 (the backend could not load the Guest's registers). The
             * message format is Linux lguest's, which the Launcher prints.
             */
            lg.kill("unhandled trap " + trapnum + " at " + Fmt.hex(cpu.state.regs().get(Reg.EIP) & MASK) + " ("
                + Fmt.hex(trapnum == Abi.TRAP_PF ? cpu.lastPagefault : errorCode & MASK) + ")");
        }
    }

    /*
     * A software interrupt ("int n", int3, into, int1). Linux lguest let the
     * real CPU check the gate's DPL; our engine does not, so we check here.
     * The hypercall gate has the Guest kernel's level (user mode cannot
     * make hypercalls); other gates have the DPL the Guest set, and a
     * missing gate counts as DPL 0. Failing the check is a #GP at the
     * instruction, error code (vector << 3) | 2. Passing, the handler runs
     * with no error code. External vectors other than the system call are
     * ignored, as the hardware would never have shown them to the Guest.
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

    /* Length of the instruction before EIP, to back up for the #GP: 1 for 0xCC, 0xCE, 0xF1, else 2 (0xCD n). */
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

    /*
     * A #GP with error code 0 (an in/out, a "cli", or some other privileged
     * instruction): the Launcher gets trap 13 and the bytes at EIP, and
     * decides. Before the page tables exist we cannot read the instruction;
     * it faults again once we can.
     */
    private static void setupEmulateInsn(Cpu cpu) {
        if (cpu.lg.pageTables == null) {
            return;
        }
        byte[] insn = copyFromGuest(cpu, cpu.state.regs().get(Reg.EIP) & MASK, LguestPending.INSN_BYTES);
        if (cpu.lg.isDead()) {
            return;
        }
        cpu.pendingTrap = new LguestPending(Abi.TRAP_GP, insn, 0);
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
        byte[] insn = copyFromGuest(cpu, eip, LguestPending.INSN_BYTES);
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
        byte[] insn = copyFromGuest(cpu, cpu.state.regs().get(Reg.EIP) & MASK, LguestPending.INSN_BYTES);
        if (cpu.lg.isDead()) {
            return;
        }
        cpu.pendingTrap = new LguestPending(Abi.TRAP_PF, insn, addr & MASK);
    }

    /*
     * Reads len bytes at a Guest-virtual address, translating each page
     * separately since neighbours in virtual space need not be neighbours
     * in physical memory. Bytes on an unmapped second page read as zero;
     * an unmapped first page kills the Guest.
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
