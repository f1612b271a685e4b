/*
 * bench-switch: what an address-space switch costs.
 *
 * Four page directories (the number of shadows the Host caches, so none is
 * ever evicted), all mapping RAM at its own address. `touch` pages (one
 * word each) are written after every call. Each round has three timed
 * phases of `count` iterations each:
 *   "switch": NEW_PGTABLE to the next of the four directories, then the
 *             touches;
 *   "same":   NEW_PGTABLE naming the directory already in use, then the
 *             touches (a switch that changes nothing);
 *   "stay":   the same loop without switching: a FLUSH_ASYNC hypercall in
 *             place of NEW_PGTABLE, then the touches.
 * Before the first round every directory is visited once, so the timed
 * phases find their shadows filled.
 */
#include "bench.h"

IMAGE("bench-switch");

#define SPACES 4
#define MAX_TOUCH 64

static u32 pgdir[SPACES];
static u32 first;

static inline void touch_all(u32 touch, u32 value)
{
    for (u32 i = 0; i < touch; i++)
        wr32(first + i * PAGE_SIZE, value);
}

void main(void)
{
    guest_init();
    if (boot_problem)
        fail("%s", boot_problem);
    traps_init();
    u32 rounds = bench_arg("rounds", 3);
    u32 count = bench_arg("count", 4000);
    u32 touch = bench_arg("touch", 8);
    if (count == 0)
        fail("count=0");
    if (touch > MAX_TOUCH)
        fail("touch=%u: at most %u", touch, MAX_TOUCH);
    say("bench-switch: %u rounds of %u switches among %u directories, %u pages touched after each",
        rounds, count, SPACES, touch);

    first = page_alloc();
    for (u32 i = 1; i < MAX_TOUCH; i++)
        if (page_alloc() != first + i * PAGE_SIZE)
            fail("internal: the pages are not contiguous");
    for (u32 s = 0; s < SPACES; s++)
        pgdir[s] = pgdir_identity();
    for (u32 s = 0; s < SPACES; s++) {
        switch_pgdir(pgdir[s]);
        touch_all(touch, s);
    }

    for (u32 r = 0; r < rounds; r++) {
        bench_start("switch");
        for (u32 k = 0; k < count; k++) {
            hcall1(LHCALL_NEW_PGTABLE, pgdir[k % SPACES]);
            touch_all(touch, k);
        }
        bench_end("switch");
        switch_pgdir(pgdir[0]);
        bench_start("same");
        for (u32 k = 0; k < count; k++) {
            hcall1(LHCALL_NEW_PGTABLE, pgdir[0]);
            touch_all(touch, k);
        }
        bench_end("same");
        bench_start("stay");
        for (u32 k = 0; k < count; k++) {
            hcall1(LHCALL_FLUSH_ASYNC, pgdir[k % SPACES]);
            touch_all(touch, k);
        }
        bench_end("stay");
    }
    for (u32 i = 0; i < touch; i++)
        if (rd32(first + i * PAGE_SIZE) != count - 1)
            fail("page %#x holds %#x, not %#x", first + i * PAGE_SIZE, rd32(first + i * PAGE_SIZE), count - 1);
    pass();
}
