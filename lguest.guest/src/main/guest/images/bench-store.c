/*
 * bench-store: guest code that writes memory, with no exits at all.
 *
 * A buffer of 4 pages (16 KiB, page-aligned, in the image's .bss) is
 * walked word by word, wrapping round: each step is one `incl` on the next
 * word, so a round of `count` steps is `count` read-modify-write stores
 * spread evenly over the four pages. Each round runs between
 * "bench: start store" and "bench: end store"; after the last, the sum of
 * all the words is printed, which must be rounds * count (a host checks it,
 * so it knows every store really happened, wherever the image ran).
 *
 * The buffer is written once before the first timed round, so on the Host
 * its shadow entries are filled before any round is timed; a round then
 * takes no exit. Like bench-compute it needs no page tables, IDT or
 * interrupts of its own and runs unchanged on a bare engine.
 */
#include "bench.h"

IMAGE("bench-store");

#define PAGES 4
#define WORDS (PAGES * PAGE_SIZE / 4)

static u32 buffer[WORDS] __attribute__((aligned(PAGE_SIZE)));

static void __attribute__((noipa)) stores(u32 count)
{
    u32 *p = buffer, *end = buffer + WORDS;
    for (u32 i = 0; i < count; i++) {
        /* One memory increment: the store the loop is about, and nothing the compiler may fold. */
        __asm__ volatile("incl %0" : "+m"(*p));
        if (++p == end)
            p = buffer;
    }
}

void main(void)
{
    guest_init();
    if (boot_problem)
        fail("%s", boot_problem);
    u32 rounds = bench_arg("rounds", 3);
    u32 count = bench_arg("count", 1000000);
    say("bench-store: %u rounds of %u stores over %u pages", rounds, count, PAGES);
    for (u32 i = 0; i < WORDS; i++)
        buffer[i] = 0;
    for (u32 r = 0; r < rounds; r++) {
        bench_start("store");
        stores(count);
        bench_end("store");
    }
    u32 sum = 0;
    for (u32 i = 0; i < WORDS; i++)
        sum += buffer[i];
    say("bench: result %u", sum);
    pass();
}
