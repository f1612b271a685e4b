/*
 * async: the asynchronous hypercall ring.
 *
 * 1. Queue eight NOTIFYs ("async N of 8"), then make a synchronous NOTIFY:
 *    the Host must run the queued ones first, in order, and mark each slot
 *    0xFF.
 * 2. Fill all 64 slots (the ring wraps: it starts at slot 8): 63 TS(0) and
 *    a last NOTIFY. The 65th call finds the ring full and is made
 *    synchronously (so the Host runs the ring, then it). Then FLUSH_ASYNC,
 *    and every slot must be 0xFF.
 *
 * The strings live in static memory: the Launcher reads them after the
 * guest has moved on.
 */
#include "rt.h"

IMAGE("async");

#define FIRST 8

static char first_lines[FIRST][24];
static const char last_queued[] = "async 64 of 64, after the ring wrapped\n";
static const char sixty_fifth[] = "async: ring full, call 65 made synchronously\n";

void main(void)
{
    guest_init();
    traps_init();

    for (u32 i = 0; i < FIRST; i++) {
        format(first_lines[i], sizeof(first_lines[i]), "async %u of %u\n", i + 1, FIRST);
        if (!async_hcall(LHCALL_NOTIFY, (u32)first_lines[i], 0, 0, 0))
            fail("the ring was full after %u calls", i);
    }
    say("sync NOTIFY after %u queued calls", FIRST);
    for (u32 i = 0; i < FIRST; i++)
        if (lguest_data.hcall_status[i] != 0xFF)
            fail("ring slot %u still pending (status %u) after a synchronous call", i,
                 lguest_data.hcall_status[i]);
    say("async: %u queued calls done before the synchronous call", FIRST);

    for (u32 i = 0; i < LHCALL_RING_SIZE - 1; i++)
        if (!async_hcall(LHCALL_TS, 0, 0, 0, 0))
            fail("the ring was full after %u of %u calls", i, LHCALL_RING_SIZE);
    if (!async_hcall(LHCALL_NOTIFY, (u32)last_queued, 0, 0, 0))
        fail("the ring was full after %u of %u calls", LHCALL_RING_SIZE - 1, LHCALL_RING_SIZE);
    /* Normally synchronous now; if the Host emptied the ring on some other
     * exit it is queued instead, and the FLUSH_ASYNC below runs it. */
    async_hcall(LHCALL_NOTIFY, (u32)sixty_fifth, 0, 0, 0);
    hcall0(LHCALL_FLUSH_ASYNC);
    for (u32 i = 0; i < LHCALL_RING_SIZE; i++)
        if (lguest_data.hcall_status[i] != 0xFF)
            fail("ring slot %u still pending (status %u) after FLUSH_ASYNC", i, lguest_data.hcall_status[i]);
    say("async: all %u slots done after FLUSH_ASYNC", LHCALL_RING_SIZE);
    pass();
}
