package org.lguest.device.internal;

import org.lguest.api.abi.Lguest;
import org.lguest.api.abi.PtRegs;
import org.lguest.api.cpu.LguestRegs;
import org.lguest.api.cpu.Reg;
import org.lguest.api.cpu.VcpuState;

/** The i386 pieces of lguest's x86/core.c and segments.c the Host core needs. */
final class X86 {
    private X86() {
    }

    /*L:030
     * Most of the Guest's registers are left alone: they start at 0. There
     * are four "segment" registers which the Guest needs to boot: cs refers
     * to the kernel code segment, ds, es and ss to the kernel data segment,
     * with the Guest's privilege level (1) in the lower bits. eflags has
     * bit 1 (always 1) and the interrupt flag, which we always leave on
     * while running the Guest. eip is where it starts. %esi points to the
     * boot information at physical 0, so we don't touch it.
     */
    static void setupRegs(VcpuState state, long start) {
        LguestRegs regs = state.regs();
        regs.set(Reg.DS, Abi.KERNEL_DS_GUEST);
        regs.set(Reg.ES, Abi.KERNEL_DS_GUEST);
        regs.set(Reg.SS, Abi.KERNEL_DS_GUEST);
        regs.set(Reg.CS, Abi.KERNEL_CS_GUEST);
        regs.set(Reg.EFLAGS, Lguest.X86_EFLAGS_IF | Abi.X86_EFLAGS_FIXED);
        regs.set(Reg.EIP, (int) start);
        setupGuestGdt(state);
    }

    /*
     * setup_guest_gdt(): the initial Guest GDT for booting. All entries
     * start as 0 (unusable) except full 0-4G kernel code and data segments,
     * which the Guest is allowed to use, so their privilege level is the
     * Guest's.
     */
    static void setupGuestGdt(VcpuState state) {
        long[] gdt = state.gdt();
        gdt[Lguest.GDT_ENTRY_KERNEL_CS] = Abi.FULL_EXEC_SEGMENT | ((long) Lguest.GUEST_PL << Abi.DESC_DPL_SHIFT);
        gdt[Lguest.GDT_ENTRY_KERNEL_DS] = Abi.FULL_SEGMENT | ((long) Lguest.GUEST_PL << Abi.DESC_DPL_SHIFT);
    }

    /**
     * lguest_arch_regptr(): the register a ptrace offset names. The Launcher
     * may write the general registers, eip and esp; with {@code any} it may
     * also read the segment registers and eflags. Anything else (orig_ax,
     * an offset between registers, past the end) is null: ENOENT.
     */
    static Reg regptr(long which, boolean any) {
        if (which == PtRegs.BX) {
            return Reg.EBX;
        } else if (which == PtRegs.CX) {
            return Reg.ECX;
        } else if (which == PtRegs.DX) {
            return Reg.EDX;
        } else if (which == PtRegs.SI) {
            return Reg.ESI;
        } else if (which == PtRegs.DI) {
            return Reg.EDI;
        } else if (which == PtRegs.BP) {
            return Reg.EBP;
        } else if (which == PtRegs.AX) {
            return Reg.EAX;
        } else if (which == PtRegs.IP) {
            return Reg.EIP;
        } else if (which == PtRegs.SP) {
            return Reg.ESP;
        }
        /* Launcher can read these, but we don't allow any setting. */
        if (any) {
            if (which == PtRegs.DS) {
                return Reg.DS;
            } else if (which == PtRegs.ES) {
                return Reg.ES;
            } else if (which == PtRegs.FS) {
                return Reg.FS;
            } else if (which == PtRegs.GS) {
                return Reg.GS;
            } else if (which == PtRegs.CS) {
                return Reg.CS;
            } else if (which == PtRegs.FLAGS) {
                return Reg.EFLAGS;
            } else if (which == PtRegs.SS) {
                return Reg.SS;
            }
        }
        return null;
    }
}
