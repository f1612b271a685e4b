package org.lguest.cpu.x86.internal;

import org.lguest.api.abi.Lguest;

/**
 * lguest's rules for the GDT entries a guest loads (drivers/lguest/segments.c):
 * the guest may set any of the {@value Lguest#GDT_ENTRIES} entries, but the
 * TSS, the switcher's own code and data segments and the double-fault TSS
 * slot are never copied into the real GDT; a descriptor with privilege 0 is
 * lowered to the guest's ring; the accessed bit is set beforehand because
 * the real GDT is read-only to the CPU running the guest.
 * <p>
 * One rule more than lguest: a present system descriptor (call gate, task
 * gate, TSS, LDT) kills the guest. lguest relied on its accessed-bit fixup
 * turning gates into unusable types; here the host's own call gate lives in
 * the same GDT, so such entries are refused outright.
 */
final class GdtRules {
    static final int GDT_ENTRY_LGUEST_CS = Lguest.GDT_ENTRY_LGUEST_CS;
    static final int GDT_ENTRY_LGUEST_DS = Lguest.GDT_ENTRY_LGUEST_DS;
    static final int GDT_ENTRY_TSS = Lguest.GDT_ENTRY_TSS;
    static final int GDT_ENTRY_DOUBLEFAULT_TSS = 31;

    /** The entries the host owns; what the guest loads there is kept but never used. */
    static boolean ignored(int index) {
        return index == GDT_ENTRY_TSS || index == GDT_ENTRY_LGUEST_CS || index == GDT_ENTRY_LGUEST_DS
                || index == GDT_ENTRY_DOUBLEFAULT_TSS;
    }

    /** The entry as lguest installs it: privilege 0 becomes the guest's ring, accessed bit set. */
    static long fixup(long descriptor) {
        if (Descriptors.dpl(descriptor) == 0) {
            descriptor |= (long) Lguest.GUEST_PL << Descriptors.DPL_SHIFT;
        }
        return descriptor | Descriptors.ACCESSED;
    }

    /**
     * Checks and installs one entry into {@code gdt}.
     *
     * @return null, or the reason to kill the guest
     */
    static String load(long[] gdt, int index, long descriptor) {
        if (index < 0 || index >= gdt.length) {
            return "too many gdt entries " + index;
        }
        if (ignored(index)) {
            gdt[index] = descriptor;
            return null;
        }
        if (Descriptors.isPresent(descriptor) && Descriptors.isSystem(descriptor)) {
            return String.format("gdt entry %d is a system descriptor (%016x)", index, descriptor);
        }
        gdt[index] = fixup(descriptor);
        return null;
    }

    /** The three TLS entries at {@link Lguest#GDT_ENTRY_TLS_MIN}; nothing changes unless all three pass. */
    static String loadTls(long[] gdt, long[] descriptors) {
        if (descriptors.length != Lguest.GDT_ENTRY_TLS_ENTRIES) {
            return "LOAD_TLS needs " + Lguest.GDT_ENTRY_TLS_ENTRIES + " entries, not " + descriptors.length;
        }
        long[] checked = gdt.clone();
        for (int i = 0; i < descriptors.length; i++) {
            String reason = load(checked, Lguest.GDT_ENTRY_TLS_MIN + i, descriptors[i]);
            if (reason != null) {
                return reason;
            }
        }
        System.arraycopy(checked, Lguest.GDT_ENTRY_TLS_MIN, gdt, Lguest.GDT_ENTRY_TLS_MIN, Lguest.GDT_ENTRY_TLS_ENTRIES);
        return null;
    }

    private GdtRules() {
    }
}
