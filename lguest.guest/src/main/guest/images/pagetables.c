/*
 * pagetables: many address spaces and the calls that keep shadows honest.
 *
 * Sixteen page directories (more than a Host caches: lguest kept four),
 * each mapping RAM at its own address, with its own copies of the page
 * tables that cover sixteen "key" pages: directory i maps key page i and
 * none of the others. Only identity mappings are made, so the address
 * spaces differ in which pages are present.
 *
 * 1. Switch among them (forward, backward, stride 5; four rounds each): in
 *    space i key i must read its signature and take a write, and the keys
 *    of the spaces before and after it must fault.
 * 2. In space 0: key 1 faults (cr2 right, error code "not present"); SET_PTE
 *    maps it and it reads at once; SET_PTE with 0 unmaps it and it faults.
 * 3. SET_PTE on a directory that is not current: while in space 0, unmap
 *    key 5 in space 5; switching to 5 must show it gone; map it back there.
 * 4. SET_PGD: space 0's key page table replaced by a copy that maps key 2
 *    instead of key 0; then the old one back.
 * 5. Demand paging in the guest's own #PF handler: in space 3, 64 pages
 *    left out and mapped by the handler on first touch (SET_PTE); after a
 *    FLUSH_TLB, touching them again is no guest fault. A page whose
 *    directory entry is empty faults too.
 * 6. Back through all sixteen: each still sees only its own key.
 */
#include "rt.h"

IMAGE("pagetables");

#define SPACES 16
#define DEMAND_PAGES 64
#define NO_PDE (IDENTITY_LIMIT + (8u << 20)) /* a directory slot left empty */
#define SIG(i) (0x5A000000u | ((i) << 8))

static u32 pgdir[SPACES], key[SPACES];
static u32 demand_first;
static volatile u32 demand_faults;
static u32 switches;

static u32 demand_page(u32 k)
{
    return demand_first + k * PAGE_SIZE;
}

static void go(u32 i)
{
    switch_pgdir(pgdir[i]);
    switches++;
}

static int page_fault(struct trap_frame *frame)
{
    u32 cr2 = lguest_data.cr2;
    if (cr2 < demand_first || cr2 >= demand_page(DEMAND_PAGES))
        return 0; /* a probe's fault: the fix-up table handles it */
    if (frame->errcode & PF_ERR_PRESENT)
        fail("demand fault at %#x with error code %#x (present)", cr2, frame->errcode);
    u32 page = cr2 & ~(PAGE_SIZE - 1);
    pte_set(current_pgdir, page, IDENTITY_PTE(page));
    demand_faults++;
    return 1;
}

static void visit(u32 i, u32 stamp)
{
    go(i);
    expect_read(key[i], SIG(i), "its own key page");
    wr32(key[i] + 4, stamp);
    if (rd32(key[i] + 4) != stamp)
        fail("space %u: a write to %#x did not stick", i, key[i]);
    expect_fault(key[(i + 1) % SPACES], "the next space's key page");
    expect_fault(key[(i + SPACES - 1) % SPACES], "the previous space's key page");
}

void main(void)
{
    guest_init();
    if (boot_problem)
        fail("%s", boot_problem);
    traps_init();
    set_trap_handler(14, page_fault);

    for (u32 i = 0; i < SPACES; i++) {
        key[i] = page_alloc();
        page_fill(key[i], SIG(i));
    }
    demand_first = page_alloc();
    for (u32 k = 1; k < DEMAND_PAGES; k++)
        if (page_alloc() != demand_page(k))
            fail("internal: the demand pages are not contiguous");
    u32 lo = key[0], hi = demand_page(DEMAND_PAGES);
    for (u32 i = 0; i < SPACES; i++) {
        pgdir[i] = pgdir_identity_private(lo, hi);
        for (u32 j = 0; j < SPACES; j++)
            if (j != i)
                pte_write(pgdir[i], key[j], 0);
    }
    for (u32 k = 0; k < DEMAND_PAGES; k++)
        pte_write(pgdir[3], demand_page(k), 0);

    /* 1. */
    u32 stamp = 0;
    for (u32 round = 0; round < 4; round++) {
        for (u32 i = 0; i < SPACES; i++)
            visit(i, ++stamp);
        for (u32 i = SPACES; i-- > 0;)
            visit(i, ++stamp);
        for (u32 i = 0; i < SPACES; i++)
            visit((i * 5) % SPACES, ++stamp);
    }
    say("pagetables: %u switches among %u address spaces", switches, SPACES);

    /* 2. */
    go(0);
    expect_fault(key[1], "a page this space leaves out");
    pte_set(pgdir[0], key[1], IDENTITY_PTE(key[1]));
    expect_read(key[1], SIG(1), "SET_PTE map");
    pte_set(pgdir[0], key[1], 0);
    expect_fault(key[1], "SET_PTE unmap");
    say("pagetables: SET_PTE maps and unmaps in the current address space");

    /* 3. */
    go(5);
    expect_read(key[5], SIG(5), "space 5 before");
    go(0);
    pte_set(pgdir[5], key[5], 0);
    go(5);
    expect_fault(key[5], "SET_PTE on a directory that was not current");
    pte_set(pgdir[5], key[5], IDENTITY_PTE(key[5]));
    expect_read(key[5], SIG(5), "SET_PTE back in space 5");
    say("pagetables: SET_PTE reaches an address space that is not current");

    /* 4. */
    go(0);
    volatile u32 *pde = pde_slot(pgdir[0], key[0]);
    u32 old = *pde;
    u32 alt = pt_copy(old & ~(PAGE_SIZE - 1));
    if ((key[2] >> 22) == (key[0] >> 22)) {
        wr32(alt + ((key[0] >> PAGE_SHIFT) & 1023) * 4, 0);
        wr32(alt + ((key[2] >> PAGE_SHIFT) & 1023) * 4, IDENTITY_PTE(key[2]));
    } else {
        fail("internal: the key pages straddle a 4 MiB boundary");
    }
    *pde = alt | PDE_FLAGS;
    hcall2(LHCALL_SET_PGD, pgdir[0], key[0] >> 22);
    expect_fault(key[0], "SET_PGD to a page table without the page");
    expect_read(key[2], SIG(2), "SET_PGD to a page table with another page");
    *pde = old;
    hcall2(LHCALL_SET_PGD, pgdir[0], key[0] >> 22);
    expect_read(key[0], SIG(0), "SET_PGD back");
    expect_fault(key[2], "SET_PGD back");
    say("pagetables: SET_PGD replaces a page table");

    /* 5. */
    go(3);
    for (u32 k = 0; k < DEMAND_PAGES; k++)
        wr32(demand_page(k) + 8, 0xDE000000u | k);
    if (demand_faults != DEMAND_PAGES)
        fail("%u demand faults for %u pages", demand_faults, DEMAND_PAGES);
    hcall1(LHCALL_FLUSH_TLB, 1);
    for (u32 k = 0; k < DEMAND_PAGES; k++)
        if (rd32(demand_page(k) + 8) != (0xDE000000u | k))
            fail("demand page %u reads %#x", k, rd32(demand_page(k) + 8));
    if (demand_faults != DEMAND_PAGES)
        fail("%u demand faults after the flush, still expected %u", demand_faults, DEMAND_PAGES);
    expect_fault(NO_PDE, "an empty directory entry");
    say("pagetables: %u page faults handled in the guest, cr2 right each time", demand_faults);

    /* 6. */
    for (u32 i = 0; i < SPACES; i++) {
        go(i);
        expect_read(key[i], SIG(i), "the last round");
        expect_fault(key[(i + 1) % SPACES], "the last round");
    }
    say("pagetables: all %u address spaces intact", SPACES);
    pass();
}
