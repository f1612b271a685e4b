package org.lguest.api.cpu;

import org.lguest.api.abi.Lguest;

/**
 * Everything about one guest CPU that must survive its backend: the
 * register file, the guest's GDT as the Host accepted it, the root of the
 * shadow page tables, and the faulting address of the last page fault.
 * Owned by the Host core, read and written by the backend on the CPU's
 * owner thread.
 */
public final class VcpuState {
    private final int id;
    private final LguestRegs regs = new LguestRegs();
    private final long[] gdt = new long[Lguest.GDT_ENTRIES];
    private long pageTableRoot;
    private long cr2;

    public VcpuState(int id) {
        this.id = id;
    }

    public int id() {
        return id;
    }

    public LguestRegs regs() {
        return regs;
    }

    /** The guest's GDT entries (8-byte descriptors), after the Host's checks. */
    public long[] gdt() {
        return gdt;
    }

    /** Emulated physical address of the shadow page directory the CPU runs on (its CR3). */
    public long pageTableRoot() {
        return pageTableRoot;
    }

    public void pageTableRoot(long root) {
        this.pageTableRoot = root;
    }

    public long cr2() {
        return cr2;
    }

    public void cr2(long address) {
        this.cr2 = address;
    }
}
