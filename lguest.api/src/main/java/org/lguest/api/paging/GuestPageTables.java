package org.lguest.api.paging;

import org.osgi.annotation.versioning.ConsumerType;

/**
 * One guest's shadow page tables. Guest page directories are named by their
 * guest-physical address; a CPU is named by its index. Calls come from the
 * guest's CPU threads, which the Host core serializes per guest.
 */
@ConsumerType
public interface GuestPageTables extends AutoCloseable {

    /** Emulated physical address of the shadow directory CPU {@code cpu} runs on: its CR3. */
    long root(int cpu);

    /**
     * Every shadow directory must map the switcher: the page-directory entry
     * for {@link org.lguest.api.cpu.GuestMachine#SWITCHER_PGD_INDEX}, which the
     * backend supplies. Guest entries in that slot are refused.
     */
    void setSwitcherEntry(int pde);

    /**
     * The guest's kernel address ({@code lguest_data.kernel_address}, read at
     * LGUEST_INIT): mappings at and above it are the kernel's and survive a
     * user-mapping flush, as in lguest.
     */
    default void setKernelAddress(long kernelAddress) {
    }

    /** {@code LHCALL_NEW_PGTABLE}: switch CPU {@code cpu} to the shadow of {@code guestPgdir}, creating it if needed. */
    void newPgtable(int cpu, long guestPgdir);

    /**
     * {@link #newPgtable}, saying whether cached translations of the shadow
     * CPU {@code cpu} now runs on may be stale: true when that shadow was
     * made, recycled from another directory or rebuilt, false when a cached
     * shadow was taken as it was (every change to it since went through a
     * call that already asks for a flush). The default answers true, which is
     * always safe.
     *
     * @return whether the CPU's TLB must be flushed
     * @since 1.2
     */
    default boolean switchPgtable(int cpu, long guestPgdir) {
        newPgtable(cpu, guestPgdir);
        return true;
    }

    /** {@code LHCALL_FLUSH_TLB}: drop the user mappings of CPU {@code cpu}'s current shadow. */
    void flushUserMappings(int cpu);

    /** Drop every shadow entry of every directory (lguest's {@code guest_pagetable_clear_all}). */
    void clearAll();

    /** {@code LHCALL_SET_PTE}: the guest changed the entry for {@code vaddr} in directory {@code guestPgdir}. */
    void setPte(long guestPgdir, long vaddr, long pte);

    /** {@code LHCALL_SET_PGD}: the guest changed directory entry {@code index} of {@code guestPgdir}. */
    void setPgd(long guestPgdir, int index);

    /** {@code LHCALL_SET_PMD}: meaningful with PAE only; without it, the directory entry for {@code vaddr}. */
    void setPmd(long guestPgdir, long vaddr);

    /**
     * A page fault on CPU {@code cpu}: fill the shadow from the guest's own
     * tables when they allow the access.
     *
     * A page the shadow already maps with the access allowed answers
     * {@link Fault#FILLED}: the Host pins pages (the guest's kernel stack) this way.
     *
     * @param errorCode the x86 page-fault error code (present, write, user bits)
     */
    Fault demandPage(int cpu, long vaddr, int errorCode);

    /**
     * Walks the guest's own tables for CPU {@code cpu}: the guest-physical
     * address of {@code vaddr}, or -1 when it is not mapped (the guest is then killed with a reason).
     */
    long guestPhysical(int cpu, long vaddr);

    /** Host-area pages the shadows use now. */
    int pagesInUse();

    /** Returns every shadow page to the host area. */
    @Override
    void close();

    /** What a page fault turned out to be. */
    enum Fault {
        /** The shadow now maps the page: run the instruction again. */
        FILLED,
        /** The guest's own tables forbid it: reflect the fault into the guest. */
        GUEST,
        /** The address lies in the device region above guest RAM: the Launcher must emulate the access. */
        DEVICE,
        /** The guest broke a rule and has been killed. */
        KILLED
    }
}
