/*
 * bad-idt-segment (forbidden): LOAD_IDT_ENTRY for vector 32 with a gate
 * whose selector is 0x50 (the Host's own code segment, GDT entry 10)
 * instead of the kernel CS 0x60.
 *
 * Two safe answers: the Host kills the guest, or (as lguest's set_trap()
 * did) it keeps only the handler address, type and DPL and always uses the
 * kernel CS. After a return the image takes vector 32 (a timer interrupt)
 * and checks the CS its handler runs with: it must be 0x61.
 */
#include "rt.h"

IMAGE("bad-idt-segment");

#define VECTOR FIRST_EXTERNAL_VECTOR

static volatile u32 fired, handler_cs;

static int timer_irq(struct trap_frame *frame)
{
    (void)frame;
    handler_cs = read_cs();
    fired++;
    return 1;
}

void main(void)
{
    guest_init();
    traps_init();
    set_trap_handler(VECTOR, timer_irq);
    say("bad-idt-segment: loading IDT entry %u with a gate into segment %#x", VECTOR, LGUEST_CS);
    u32 lo, hi;
    make_gate(trap_stub(VECTOR), LGUEST_CS, &lo, &hi);
    hcall3(LHCALL_LOAD_IDT_ENTRY, VECTOR, lo, hi);

    /* Not killed: take the vector and see which segment its handler runs in. */
    irq_disable();
    hcall1(LHCALL_SET_CLOCKEVENT, 1000000);
    while (!fired)
        wait_for_interrupt();
    if (handler_cs != (KERNEL_CS | GUEST_PL))
        fail("vector %u ran its handler with CS %#x, not %#x", VECTOR, handler_cs, KERNEL_CS | GUEST_PL);
    say("bad-idt-segment: not killed: vector %u ran with CS %#x, the kernel CS", VECTOR, handler_cs);
    pass();
}
