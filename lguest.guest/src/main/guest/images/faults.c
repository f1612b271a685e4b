/*
 * faults: lots of page faults, then one divide error and two
 * general-protection faults, each reflected into the guest's own handler.
 *
 * 1. Host faults: 40 rounds of writing to 250 pages, FLUSH_TLB between
 *    rounds, so every touch finds the shadow entry gone (10,000 faults the
 *    Host fixes without the guest seeing them).
 * 2. Guest faults: the same 250 pages (identity-mapped through page tables
 *    of this directory's own); 40 rounds of clearing their PTEs, FLUSH_TLB,
 *    and writing to each page. Every write is a not-present fault the Host
 *    must reflect; the handler reads cr2 from lguest_data, maps the page
 *    again (SET_PTE) and returns to retry: 10,000 guest faults.
 * 3. #DE from divl by zero, #GP(0) from hlt at ring 1 (lguest's Host skips a cli, so
 * cli cannot show it), #GP(0x60) from loading
 *    the kernel code segment into %ss. Each handler skips the instruction.
 */
#include "rt.h"

IMAGE("faults");

#define ROUNDS 40
#define PAGES 250
static u32 pd;
static u32 first; /* the 250 pages are [first, first + PAGES * PAGE_SIZE) */
static volatile u32 guest_faults;

static u32 frame(u32 i)
{
    return first + i * PAGE_SIZE;
}

static int page_fault(struct trap_frame *trap)
{
    u32 cr2 = lguest_data.cr2;
    if (cr2 < first || cr2 >= frame(PAGES))
        return 0; /* not ours: the runtime reports it */
    if (trap->errcode & PF_ERR_PRESENT)
        fail("page fault at %#x with error code %#x: the page was mapped", cr2, trap->errcode);
    u32 page = cr2 & ~(PAGE_SIZE - 1);
    pte_set(pd, page, IDENTITY_PTE(page));
    guest_faults++;
    return 1;
}

void main(void)
{
    guest_init();
    if (boot_problem)
        fail("%s", boot_problem);
    traps_init();
    set_trap_handler(14, page_fault);

    first = page_alloc();
    for (u32 i = 1; i < PAGES; i++)
        if (page_alloc() != frame(i))
            fail("internal: the pages are not contiguous");
    pd = pgdir_identity_private(first, frame(PAGES));
    switch_pgdir(pd);

    /* 1. Faults the Host fixes by itself. */
    for (u32 r = 0; r < ROUNDS; r++) {
        for (u32 i = 0; i < PAGES; i++)
            wr32(frame(i), 0xF0000000u | r << 16 | i);
        hcall1(LHCALL_FLUSH_TLB, 1);
    }
    for (u32 i = 0; i < PAGES; i++)
        if (rd32(frame(i)) != (0xF0000000u | (ROUNDS - 1) << 16 | i))
            fail("page %#x holds %#x after the last round", frame(i), rd32(frame(i)));
    say("faults: %u page touches across %u TLB flushes", ROUNDS * PAGES, ROUNDS);

    /* 2. Faults the guest handles. */
    for (u32 r = 0; r < ROUNDS; r++) {
        for (u32 i = 0; i < PAGES; i++)
            pte_write(pd, frame(i), 0);
        hcall1(LHCALL_FLUSH_TLB, 1);
        for (u32 i = 0; i < PAGES; i++)
            wr32(frame(i) + 4, 0xFA000000u | r << 16 | i);
        for (u32 i = 0; i < PAGES; i++)
            if (rd32(frame(i) + 4) != (0xFA000000u | r << 16 | i))
                fail("round %u: page %#x holds %#x", r, frame(i), rd32(frame(i) + 4));
    }
    if (guest_faults != ROUNDS * PAGES)
        fail("%u guest page faults, expected %u", guest_faults, ROUNDS * PAGES);
    say("faults: %u guest page faults handled", guest_faults);

    /* 3. A divide error and two general-protection faults. */
    u32 de = trap_count[0], gp = trap_count[13];
    provoke_divide_error();
    if (trap_count[0] != de + 1)
        fail("divide by zero did not reach the divide-error handler");
    provoke_gp_hlt();
    if (trap_count[13] != gp + 1)
        fail("hlt at ring 1 did not reach the general-protection handler");
    if (last_errcode != 0)
        fail("hlt: general-protection error code %#x, expected 0", last_errcode);
    provoke_gp_segment();
    if (trap_count[13] != gp + 2)
        fail("loading the code segment into %%ss did not reach the general-protection handler");
    if (last_errcode != KERNEL_CS)
        fail("mov to %%ss: general-protection error code %#x, expected %#x", last_errcode, KERNEL_CS);
    say("faults: divide error %u, general protection %u", trap_count[0] - de, trap_count[13] - gp);
    pass();
}
