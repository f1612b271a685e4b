/*
 * isolation: what a guest sees when it changes its page tables behind the
 * Host's back, and that its mappings cannot reach past its own RAM. Only
 * identity mappings (see rt/paging.c); page t is the test page, with page
 * tables of this directory's own around it.
 *
 * 1. t unmapped without a hypercall: until a flush the guest may still
 *    reach it (a stale shadow, as a real TLB would) or not; after FLUSH_TLB
 *    it must fault (cr2 = t, not present).
 * 2. t mapped read-only without a hypercall (after being writable and
 *    written): until a flush a write may still work; after FLUSH_TLB a
 *    write must fault (present, write) and a read must work.
 * 3. t's directory entry pointed at a copy of its page table that leaves t
 *    out, without a hypercall: after FLUSH_TLB t must fault; the old entry
 *    back, after FLUSH_TLB t reads again.
 * 4. The last frame below the limit (RAM size from the e820 entry), mapped
 *    with SET_PTE: it reads and takes a write.
 * 5. A frame of its own mapped at 0xFFC00000 and 0xFFFFF000, the Host's top
 *    4 MiB, through a page table of its own in directory slot 1023,
 *    announced with SET_PGD (no SET_PTE there: lguest kills a guest for
 *    that, which is bad-switcher-pte's business): reading there must never
 *    show that frame, and a write there must fault (and not reach it).
 *    Reads may fault or show whatever the Host keeps there; a Host that
 *    kills the guest here instead is also safe.
 *
 * The frame at the limit itself is isolation-limit's job.
 */
#include "rt.h"

IMAGE("isolation");

#define SIG_T 0x7E57A6E5u
#define SIG_S 0x5317C4E5u
#define MARK 0x0DDBA11u
#define PTE_READ_ONLY (PTE_FLAGS & ~0x2u)

static void flush(void)
{
    hcall1(LHCALL_FLUSH_TLB, 1);
}

void main(void)
{
    guest_init();
    if (boot_problem)
        fail("%s", boot_problem);
    traps_init();

    u32 t = page_alloc();
    page_fill(t, SIG_T);
    u32 last = mem_size - PAGE_SIZE;
    u32 pd = pgdir_identity_private(t, t + PAGE_SIZE);
    switch_pgdir(pd);
    expect_read(t, SIG_T, "the test page");

    /* 1. */
    pte_write(pd, t, 0);
    u32 value;
    int stale = !probe_read(t, &value);
    say("isolation: an unannounced unmap %s before the flush", stale ? "still read" : "faulted");
    flush();
    expect_fault(t, "an unannounced unmap after FLUSH_TLB");
    say("isolation: after FLUSH_TLB the unmapped page faults");

    /* 2. */
    pte_write(pd, t, IDENTITY_PTE(t));
    flush();
    wr32(t + 4, MARK);
    pte_write(pd, t, t | PTE_READ_ONLY);
    stale = !probe_write(t + 8, MARK);
    say("isolation: an unannounced write protection %s before the flush", stale ? "still took a write" : "faulted");
    flush();
    expect_write_fault(t, "an unannounced write protection after FLUSH_TLB");
    expect_read(t + 4, MARK, "a read-only page");
    pte_write(pd, t, IDENTITY_PTE(t));
    flush();
    say("isolation: after FLUSH_TLB the read-only page faults on writes");

    /* 3. */
    volatile u32 *pde = pde_slot(pd, t);
    u32 old = *pde;
    u32 alt = pt_copy(old & ~(PAGE_SIZE - 1));
    wr32(alt + ((t >> PAGE_SHIFT) & 1023) * 4, 0);
    *pde = alt | PDE_FLAGS;
    flush();
    expect_fault(t, "an unannounced directory entry change after FLUSH_TLB");
    *pde = old;
    flush();
    expect_read(t, SIG_T, "the directory entry put back, after FLUSH_TLB");
    say("isolation: an unannounced directory entry change holds after FLUSH_TLB");

    /* 4. In a directory of its own whose page table around it is private. */
    u32 pd_last = pgdir_identity_private(last, last + PAGE_SIZE);
    pte_write(pd_last, last, 0);
    switch_pgdir(pd_last);
    expect_fault(last, "the last frame, left out");
    pte_set(pd_last, last, IDENTITY_PTE(last));
    u32 keep;
    if (probe_read(last, &keep))
        fail("the last frame below the limit (%#x) faulted when mapped (trap %u)", last, last_vector);
    if (probe_write(last, MARK) || rd32(last) != MARK)
        fail("the last frame below the limit (%#x) did not take a write", last);
    wr32(last, keep);
    switch_pgdir(pd);
    say("isolation: the last frame below the limit maps and reads back");

    /* 5. */
    u32 s = page_alloc();
    page_fill(s, SIG_S);
    u32 top = page_alloc();
    wr32(top + 0, s | PTE_FLAGS);
    wr32(top + 1023 * 4, s | PTE_FLAGS);
    say("isolation: mapping a frame into the top 4 MiB and touching it");
    *pde_slot(pd, SWITCHER_ADDR) = top | PDE_FLAGS;
    hcall2(LHCALL_SET_PGD, pd, SWITCHER_ADDR >> 22);
    static const u32 probes[2] = {SWITCHER_ADDR, 0xFFFFF000u};
    for (u32 i = 0; i < 2; i++) {
        u32 va = probes[i];
        int read_faulted = probe_read(va, &value);
        if (!read_faulted && value == SIG_S)
            fail("reading %#x in the top 4 MiB showed the guest's own frame %#x", va, s);
        /* Write back what was read (or a mark where the read faulted), so a
         * write that reaches the Host's own page changes nothing there. */
        int write_faulted = probe_write(va, read_faulted ? MARK : value);
        for (u32 w = 0; w < PAGE_SIZE; w += 4)
            if (rd32(s + w) != SIG_S)
                fail("a write to %#x in the top 4 MiB reached the guest's own frame %#x", va, s);
        if (!write_faulted)
            fail("a write to %#x in the top 4 MiB did not fault", va);
        if (read_faulted)
            say("isolation: top 4 MiB at %#x: read faulted, write faulted", va);
        else
            say("isolation: top 4 MiB at %#x: read gave %#x, write faulted", va, value);
    }
    *pde_slot(pd, SWITCHER_ADDR) = 0;
    hcall2(LHCALL_SET_PGD, pd, SWITCHER_ADDR >> 22);
    say("isolation: the top 4 MiB never reached the guest's own frame");
    pass();
}
