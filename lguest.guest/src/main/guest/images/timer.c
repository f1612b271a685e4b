/*
 * timer: 1,000 timer interrupts. SET_CLOCKEVENT(1 ms) arms irq 0 (vector
 * 32); the handler re-arms it until the count is reached; the main loop
 * HALTs between interrupts. Every interrupt must arrive the lguest way:
 * through an interrupt gate (irq_enabled already 0 in the handler) with the
 * guest's kernel CS in the frame.
 */
#include "rt.h"

IMAGE("timer");

#define TICKS 1000
#define DELTA_NS 1000000

static volatile u32 ticks, enabled_in_handler, bad_cs, last_bad_cs;

static int timer_irq(struct trap_frame *frame)
{
    if (lguest_data.irq_enabled != 0)
        enabled_in_handler++;
    if (frame->cs != (KERNEL_CS | GUEST_PL)) {
        bad_cs++;
        last_bad_cs = frame->cs;
    }
    ticks++;
    if (ticks < TICKS)
        hcall1(LHCALL_SET_CLOCKEVENT, DELTA_NS);
    return 1;
}

void main(void)
{
    guest_init();
    traps_init();
    set_trap_handler(FIRST_EXTERNAL_VECTOR + 0, timer_irq);

    irq_disable();
    hcall1(LHCALL_SET_CLOCKEVENT, DELTA_NS);
    while (ticks < TICKS)
        wait_for_interrupt();

    if (enabled_in_handler)
        fail("%u of %u timer interrupts found irq_enabled set in the handler (an interrupt gate clears it)",
             enabled_in_handler, ticks);
    if (bad_cs)
        fail("%u timer interrupt frames held CS %#x, not %#x", bad_cs, last_bad_cs, KERNEL_CS | GUEST_PL);
    say("timer: %u timer interrupts", ticks);
    pass();
}
