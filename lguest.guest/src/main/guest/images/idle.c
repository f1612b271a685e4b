/*
 * idle: the cheapest guest there is, for measuring what a guest costs the
 * Host while it does nothing. It says one line and then HALTs for ever:
 * no clock event, no devices, interrupts left off, so nothing but the
 * Launcher (LHREQ_IRQ) or a stop can wake it, and any wake-up only halts
 * it again.
 */
#include "rt.h"

IMAGE("idle");

void main(void)
{
    guest_init();
    traps_init(); /* an irq the Launcher sends is counted and ignored */
    irq_disable();
    say("idle: halting for ever");
    for (;;)
        hcall0(LHCALL_HALT);
}
