/*
 * bench-fill: what a shadow page-table fill costs, page by page.
 *
 * `pages` fresh pages (contiguous, after the image) are mapped by the
 * image's own page directory (identity, as every image maps). Each round:
 * FLUSH_TLB(1), which drops every shadow entry; then
 *   "bench: start fill"   one write to each page: each is a page fault the
 *                         Host fixes by filling the shadow entry;
 *   "bench: end fill"
 *   "bench: start none"   nothing: what the two lines around a phase cost
 *   "bench: end none"     (a host may take it off the short phase below);
 *   "bench: start filled" the same writes again, every entry already filled;
 *   "bench: end filled".
 * The console lines themselves touch the code, stack and string pages, so
 * those are filled before the first timed line: the fill phase takes one
 * page fault per page and no other exit, the filled phase none.
 */
#include "bench.h"

IMAGE("bench-fill");

static u32 first;

static void touch_all(u32 pages, u32 value)
{
    for (u32 i = 0; i < pages; i++)
        wr32(first + i * PAGE_SIZE, value + i);
}

void main(void)
{
    guest_init();
    if (boot_problem)
        fail("%s", boot_problem);
    traps_init();
    u32 rounds = bench_arg("rounds", 3);
    u32 pages = bench_arg("pages", 1024);
    if (pages == 0)
        fail("pages=0");
    say("bench-fill: %u rounds of %u shadow fills, then the same pages filled", rounds, pages);

    first = page_alloc();
    for (u32 i = 1; i < pages; i++)
        if (page_alloc() != first + i * PAGE_SIZE)
            fail("internal: the pages are not contiguous");
    switch_pgdir(pgdir_identity());

    for (u32 r = 0; r < rounds; r++) {
        u32 stamp = (r + 1) << 20;
        hcall1(LHCALL_FLUSH_TLB, 1);
        bench_start("fill");
        touch_all(pages, stamp);
        bench_end("fill");
        bench_start("none");
        bench_end("none");
        bench_start("filled");
        touch_all(pages, stamp + 0x80000);
        bench_end("filled");
        for (u32 i = 0; i < pages; i++)
            if (rd32(first + i * PAGE_SIZE) != stamp + 0x80000 + i)
                fail("round %u: page %#x holds %#x", r, first + i * PAGE_SIZE, rd32(first + i * PAGE_SIZE));
    }
    pass();
}
