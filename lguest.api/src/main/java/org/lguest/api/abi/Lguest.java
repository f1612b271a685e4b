package org.lguest.api.abi;

/** Constants of the guest machine that every part agrees on. */
public final class Lguest {
    /** x86 vectors below this are exceptions; interrupts start here ({@code FIRST_EXTERNAL_VECTOR}). */
    public static final int FIRST_EXTERNAL_VECTOR = 32;
    /**
     * External interrupts a guest can have: 32 in Linux 4.x, one bit each in
     * the one-word {@link LguestData#BLOCKED_INTERRUPTS}; interrupt n arrives
     * at vector {@link #FIRST_EXTERNAL_VECTOR} + n.
     */
    public static final int LGUEST_IRQS = 32;
    /** Guest kernel privilege level: lguest guests run their kernel at ring 1. */
    public static final int GUEST_PL = 1;
    /** Guest page size. */
    public static final int PAGE_SIZE = 4096;
    public static final int PAGE_SHIFT = 12;
    /** Entries in the guest's GDT ({@code GDT_ENTRIES}). */
    public static final int GDT_ENTRIES = 32;
    /** First GDT entry of the three thread-local-storage slots ({@code GDT_ENTRY_TLS_MIN}). */
    public static final int GDT_ENTRY_TLS_MIN = 6;
    public static final int GDT_ENTRY_TLS_ENTRIES = 3;
    /** Linux i386 GDT slots lguest's guests use for their kernel segments. */
    public static final int GDT_ENTRY_KERNEL_CS = 12;
    public static final int GDT_ENTRY_KERNEL_DS = 13;
    public static final int GDT_ENTRY_TSS = 16;
    public static final int GDT_ENTRY_LGUEST_CS = 10;
    public static final int GDT_ENTRY_LGUEST_DS = 11;
    /** The guest kernel's selectors as the guest sees them (RPL is added by the Host). */
    public static final int KERNEL_CS = GDT_ENTRY_KERNEL_CS * 8;
    public static final int KERNEL_DS = GDT_ENTRY_KERNEL_DS * 8;
    /** EFLAGS bits the protocol talks about. */
    public static final int X86_EFLAGS_IF = 0x200;
    public static final int X86_EFLAGS_IOPL = 0x3000;

    private Lguest() {
    }
}
