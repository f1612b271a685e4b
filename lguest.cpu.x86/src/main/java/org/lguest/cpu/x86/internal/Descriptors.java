package org.lguest.cpu.x86.internal;

/** x86 segment descriptors as 64-bit values (low word first, as they sit in a GDT). */
final class Descriptors {
    static final long PRESENT = 1L << 47;
    static final long NOT_SYSTEM = 1L << 44;
    static final long ACCESSED = 1L << 40;
    static final int DPL_SHIFT = 45;

    /** A flat 4 GiB code segment (execute/read), page granular, 32-bit. */
    static long flatCode(int dpl) {
        return segment(0, 0xFFFFF, 0x9A | dpl << 5, 0xC);
    }

    /** A flat 4 GiB data segment (read/write), page granular, 32-bit. */
    static long flatData(int dpl) {
        return segment(0, 0xFFFFF, 0x92 | dpl << 5, 0xC);
    }

    /** @param access the access byte (P, DPL, S, type); @param flags the G/D/L/AVL nibble */
    static long segment(long base, long limit, int access, int flags) {
        long low = (limit & 0xFFFF) | (base & 0xFFFF) << 16;
        long high = (base >> 16 & 0xFF) | (long) access << 8 | (limit >> 16 & 0xF) << 16 | (long) flags << 20 | (base >> 24 & 0xFF) << 24;
        return low | high << 32;
    }

    /** A 32-bit call gate to {@code selector:offset}. */
    static long callGate(int selector, long offset, int dpl) {
        long low = (offset & 0xFFFF) | (long) selector << 16;
        long high = (0x8C | dpl << 5) << 8 | (offset & 0xFFFF0000L);
        return low | high << 32;
    }

    static int dpl(long descriptor) {
        return (int) (descriptor >>> DPL_SHIFT) & 3;
    }

    static boolean isPresent(long descriptor) {
        return (descriptor & PRESENT) != 0;
    }

    static boolean isSystem(long descriptor) {
        return (descriptor & NOT_SYSTEM) == 0;
    }

    private Descriptors() {
    }
}
