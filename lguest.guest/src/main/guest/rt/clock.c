/*
 * The clock: a periodic tick built on lguest's one-shot SET_CLOCKEVENT
 * (irq 0, vector 32), re-armed from its handler, as the timer image does.
 * It bounds every wait of the virtio drivers.
 */
#include "virtio.h"

volatile u32 clock_ticks;
u32 clock_period_ns;

static int clock_irq(struct trap_frame *frame)
{
    (void)frame;
    clock_ticks++;
    if (clock_period_ns)
        hcall1(LHCALL_SET_CLOCKEVENT, clock_period_ns);
    return 1;
}

void clock_start(u32 period_ns)
{
    /*G:050
     * Asking for ticks: the handler goes on the first external vector, then LHCALL_SET_CLOCKEVENT arms the
     * Host's timer for one period.
     */
    set_trap_handler(FIRST_EXTERNAL_VECTOR + 0, clock_irq);
    clock_period_ns = period_ns;
    hcall1(LHCALL_SET_CLOCKEVENT, period_ns);
}

void clock_stop(void)
{
    clock_period_ns = 0;
}

u32 clock_ms(void)
{
    /* 32-bit: good for about 70 minutes of 10 ms ticks. */
    return clock_ticks * (clock_period_ns / 1000) / 1000;
}
