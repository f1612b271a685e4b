package org.lguest.device.internal;

import org.lguest.api.abi.Lguest;
import org.lguest.api.abi.PtRegs;
import org.lguest.api.cpu.LguestRegs;
import org.lguest.api.cpu.Reg;
import org.lguest.api.cpu.VcpuState;

/** i386 register and descriptor set-up for the Host core (Linux: x86/core.c, segments.c). */
final class X86 {
    private X86() {
    }

    /*L:030
     * Boot register values. CS is the Guest kernel code selector and DS, ES,
     * SS the data selector, both at GUEST_PL (1). EFLAGS holds its fixed bit
     * 1 and IF, which stays set while Guest code runs. EIP is the entry
     * point. Everything else is 0, which leaves ESI pointing at the boot
     * information at Guest-physical 0.
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
     * Boot GDT: empty except for flat 4 GiB kernel code and data
     * descriptors, with their DPL lowered to GUEST_PL so the Guest kernel
     * may load them.
     */
    static void setupGuestGdt(VcpuState state) {
        long[] gdt = state.gdt();
        gdt[Lguest.GDT_ENTRY_KERNEL_CS] = Abi.FULL_EXEC_SEGMENT | ((long) Lguest.GUEST_PL << Abi.DESC_DPL_SHIFT);
        gdt[Lguest.GDT_ENTRY_KERNEL_DS] = Abi.FULL_SEGMENT | ((long) Lguest.GUEST_PL << Abi.DESC_DPL_SHIFT);
    }

    /**
     * Our lguest_arch_regptr(): maps a ptrace offset to a register. General
     * registers, EIP and ESP always resolve; segment registers and EFLAGS
     * only when {@code any} (GETREG). Other offsets give null, i.e. ENOENT.
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
        /* Read-only for the Launcher: changing them could break the Host's hold on the Guest. */
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
