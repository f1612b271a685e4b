package org.lguest.paging.internal;

/** Two-level, non-PAE i386 paging: the entry bits and geometry lguest relies on. */
final class X86Paging {
    static final int PRESENT = 0x001;
    static final int RW = 0x002;
    static final int USER = 0x004;
    static final int PWT = 0x008;
    static final int PCD = 0x010;
    static final int ACCESSED = 0x020;
    static final int DIRTY = 0x040;
    /** In a directory entry: a 4 MiB page. In a 4 KiB table entry the same bit is PAT; lguest refuses it in both. */
    static final int PSE = 0x080;
    static final int GLOBAL = 0x100;
    /** {@code _PAGE_TABLE}: the only flags lguest accepts in a non-PAE guest directory entry. */
    static final int PAGE_TABLE = PRESENT | RW | USER | ACCESSED | DIRTY;

    static final int FLAGS_MASK = 0xFFF;
    static final long FRAME_MASK = 0xFFFF_F000L;
    static final int PAGE_SHIFT = 12;
    static final int PAGE_SIZE = 1 << PAGE_SHIFT;
    static final int PGDIR_SHIFT = 22;
    /** {@code PTRS_PER_PGD} and {@code PTRS_PER_PTE} without PAE. */
    static final int ENTRIES = 1024;
    static final int ENTRY_BYTES = 4;
    static final long ADDRESS_MASK = 0xFFFF_FFFFL;

    static int pgdIndex(long vaddr) {
        return (int) (vaddr >>> PGDIR_SHIFT) & (ENTRIES - 1);
    }

    static int pteIndex(long vaddr) {
        return (int) (vaddr >>> PAGE_SHIFT) & (ENTRIES - 1);
    }

    static long pfn(int entry) {
        return Integer.toUnsignedLong(entry) >>> PAGE_SHIFT;
    }

    static int flags(int entry) {
        return entry & FLAGS_MASK;
    }

    static boolean present(int entry) {
        return (entry & PRESENT) != 0;
    }

    /** A hexadecimal number as C's {@code %#lx} prints it (zero without the prefix). */
    static String hex(long value) {
        return value == 0 ? "0" : "0x" + Long.toHexString(value);
    }

    private X86Paging() {
    }
}
