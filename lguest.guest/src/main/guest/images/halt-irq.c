/*
 * halt-irq: say so, then HALT until the Launcher sends irq 5 (LHREQ_IRQ 5,
 * vector 37). Other interrupts are ignored. A 20-second timer (five 4 s
 * clock events: the argument is 32 bits of nanoseconds) ends the wait with
 * a FAIL instead of sleeping forever.
 */
#include "rt.h"

IMAGE("halt-irq");

#define IRQ 5
#define TIMEOUT_EVENTS 5
#define TIMEOUT_NS 4000000000u

static volatile u32 woken, timeouts;

static int irq5(struct trap_frame *frame)
{
    (void)frame;
    woken++;
    return 1;
}

static int timer_irq(struct trap_frame *frame)
{
    (void)frame;
    timeouts++;
    if (timeouts < TIMEOUT_EVENTS)
        hcall1(LHCALL_SET_CLOCKEVENT, TIMEOUT_NS);
    return 1;
}

void main(void)
{
    guest_init();
    traps_init();
    set_trap_handler(FIRST_EXTERNAL_VECTOR + IRQ, irq5);
    set_trap_handler(FIRST_EXTERNAL_VECTOR + 0, timer_irq);

    irq_disable();
    hcall1(LHCALL_SET_CLOCKEVENT, TIMEOUT_NS);
    say("halt-irq: halting until irq %u", IRQ);
    while (!woken && timeouts < TIMEOUT_EVENTS)
        wait_for_interrupt();
    if (!woken)
        fail("no irq %u within %u seconds", IRQ, TIMEOUT_EVENTS * 4);
    say("halt-irq: woken by irq %u (vector %u)", IRQ, FIRST_EXTERNAL_VECTOR + IRQ);
    pass();
}
