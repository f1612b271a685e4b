package org.lguest.device.internal;

import org.lguest.api.abi.Lguest;

/**
 * lguest facts the Host core needs that the API does not carry (they are
 * Host-internal, or x86 constants). Kept in one place so they can move to
 * the API if another bundle needs them.
 */
final class Abi {
    private Abi() {
    }

    /** CPUs one guest may have: lguest's {@code cpus[NR_CPUS]}; the protocol only ever starts CPU 0. */
    static final int MAX_CPUS = 1;

    /** Linux's system-call vector ({@code SYSCALL_VECTOR}), which lguest always allows. */
    static final int SYSCALL_VECTOR = 0x80;

    /** x86 EFLAGS bits. */
    static final int X86_EFLAGS_FIXED = 0x2;
    static final int X86_EFLAGS_TF = 0x100;
    static final int X86_EFLAGS_NT = 0x4000;
    static final int X86_EFLAGS_RF = 0x10000;
    static final int X86_EFLAGS_VM = 0x20000;

    /** The guest kernel's selectors with the guest's privilege level, as lguest loads them. */
    static final int KERNEL_CS_GUEST = Lguest.KERNEL_CS | Lguest.GUEST_PL;
    static final int KERNEL_DS_GUEST = Lguest.KERNEL_DS | Lguest.GUEST_PL;

    /** x86 {@code FULL_EXEC_SEGMENT} and {@code FULL_SEGMENT}: flat 4 GiB code and data descriptors, DPL 0. */
    static final long FULL_EXEC_SEGMENT = 0x00cf_9b00_0000_ffffL;
    static final long FULL_SEGMENT = 0x00cf_9300_0000_ffffL;
    /** The descriptor's privilege-level field (bits 45-46). */
    static final int DESC_DPL_SHIFT = 45;

    /** Bytes the guest must leave alone at the top of its virtual space: the switcher's 4 MiB ({@code RESERVE_MEM}). */
    static final int RESERVE_MEM_BYTES = 4 * 1024 * 1024;

    /** Entries in the guest's IDT. */
    static final int IDT_ENTRIES = 256;

    /** x86 exceptions the Host core treats itself. */
    static final int TRAP_DEVICE_NOT_AVAILABLE = 7;
    static final int TRAP_GP = 13;
    static final int TRAP_PF = 14;

    /** Page-fault error-code bit: the access was a write. */
    static final int PF_WRITE = 2;
}
