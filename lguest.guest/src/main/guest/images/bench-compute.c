/*
 * bench-compute: guest arithmetic with no exits at all.
 *
 * Each round runs `count` steps of a 32-bit xorshift (x ^= x << 13;
 * x ^= x >> 17; x ^= x << 5) from the same seed between
 * "bench: start compute" and "bench: end compute", then prints the result,
 * so a host can check that the work was really done (and done the same
 * wherever the image runs).
 */
#include "bench.h"

IMAGE("bench-compute");

#define SEED 0x2545F491u

static u32 __attribute__((noipa)) xorshift(u32 x, u32 count)
{
    for (u32 i = 0; i < count; i++) {
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
    }
    return x;
}

void main(void)
{
    guest_init();
    if (boot_problem)
        fail("%s", boot_problem);
    u32 rounds = bench_arg("rounds", 3);
    u32 count = bench_arg("count", 20000000);
    say("bench-compute: %u rounds of %u xorshift steps", rounds, count);
    u32 x = 0;
    for (u32 r = 0; r < rounds; r++) {
        bench_start("compute");
        x = xorshift(SEED, count);
        bench_end("compute");
    }
    say("bench: result %#x", x);
    pass();
}
