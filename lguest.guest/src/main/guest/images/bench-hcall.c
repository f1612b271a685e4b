/*
 * bench-hcall: the cheapest hypercall round trip, over and over.
 *
 * Each round is `count` LHCALL_FLUSH_ASYNC calls (EAX = 0, nothing queued
 * in the ring) from one tight loop that needs no stack, between
 * "bench: start hcall" and "bench: end hcall". The loop's machine code is
 * the same wherever the image runs, so a benchmark can run the same image
 * on a bare engine as the floor.
 */
#include "bench.h"

IMAGE("bench-hcall");

void hcall_loop(u32 count);
__asm__(".text\n"
        ".globl hcall_loop\n"
        ".type hcall_loop, @function\n"
        "hcall_loop:\n\t"
        "pushl %edi\n\t"
        "movl 8(%esp), %edi\n\t"
        "testl %edi, %edi\n\t"
        "jz 2f\n"
        "1:\txorl %eax, %eax\n\t" /* LHCALL_FLUSH_ASYNC */
        "int $0x1f\n\t"
        "decl %edi\n\t"
        "jnz 1b\n"
        "2:\tpopl %edi\n\t"
        "ret\n"
        ".size hcall_loop, . - hcall_loop\n");

void main(void)
{
    guest_init();
    if (boot_problem)
        fail("%s", boot_problem);
    u32 rounds = bench_arg("rounds", 3);
    u32 count = bench_arg("count", 100000);
    say("bench-hcall: %u rounds of %u FLUSH_ASYNC hypercalls", rounds, count);
    for (u32 r = 0; r < rounds; r++) {
        bench_start("hcall");
        hcall_loop(count);
        bench_end("hcall");
    }
    pass();
}
