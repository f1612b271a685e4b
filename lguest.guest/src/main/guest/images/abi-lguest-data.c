/*
 * abi-lguest-data: the Host reads and writes struct lguest_data at Linux
 * 4.x's offsets. Every field the Host writes is filled with garbage first
 * and read back by raw offset (not through the header's struct), and the
 * words past the struct's end must stay as they were.
 */
#include "rt.h"

IMAGE("abi-lguest-data");

#define GARBAGE 0xDEADBEEFu
#define AFTER_WORDS 8   /* checked past the end of the struct (where the old layout ended) */

static volatile u32 ticks;

static int timer_irq(struct trap_frame *frame)
{
    (void)frame;
    ticks++;
    return 1;
}

static volatile u32 *field(u32 offset)
{
    return (volatile u32 *)((u32)&lguest_data + offset);
}

/* Up to 100,000 do-nothing exits until irq_pending (offset 20) is set. */
static int await_irq_pending(void)
{
    for (u32 i = 0; i < 100000 && !*field(20); i++)
        hcall0(LHCALL_FLUSH_ASYNC);
    return *field(20) != 0;
}

void main(void)
{
    /* Before INIT: garbage where the Host must write, a snapshot past the end. */
    *field(12) = GARBAGE;
    *field(16) = GARBAGE;
    *field(1368) = GARBAGE;
    *field(1372) = GARBAGE;
    u32 after[AFTER_WORDS];
    for (u32 i = 0; i < AFTER_WORDS; i++)
        after[i] = *field(1388 + 4 * i);
    guest_init();
    if (boot_problem)
        fail("%s", boot_problem);
    traps_init();
    set_trap_handler(FIRST_EXTERNAL_VECTOR + 0, timer_irq);

    u32 sec = *field(12), nsec = *field(16), reserve = *field(1368), khz = *field(1372);
    if (khz == GARBAGE)
        fail("tsc_khz (offset 1372) was not written at INIT");
    if (reserve == GARBAGE || reserve == 0 || reserve % PAGE_SIZE != 0 || reserve > (64u << 20))
        fail("reserve_mem (offset 1368) is %#x after INIT", reserve);
    if (sec == GARBAGE || sec < 1000000000u || nsec >= 1000000000u)
        fail("time (offset 12) is %u s %u ns after INIT", sec, nsec);
    for (u32 i = 0; i < LHCALL_RING_SIZE; i++)
        if (lguest_data.hcall_status[i] != 0xFF)
            fail("INIT wrote into hcall_status[%u] (offset %u): %#x", i, 24 + i, lguest_data.hcall_status[i]);
    for (u32 i = 0; i < AFTER_WORDS; i++)
        if (*field(1388 + 4 * i) != after[i])
            fail("INIT wrote past the struct's end, at offset %u", 1388 + 4 * i);
    say("abi-lguest-data: tsc_khz %u, reserve_mem %#x, time %u s after INIT", khz, reserve, sec);

    /* cr2 (offset 8): a not-present page the Host reflects, then a device-memory fault it must not write. */
    u32 t = page_alloc();
    u32 device = mem_size;  /* the first frame past RAM */
    u32 pd = pgdir_identity_private(t, device + PAGE_SIZE);
    pte_write(pd, t, 0);
    pte_write(pd, device, IDENTITY_PTE(device));
    switch_pgdir(pd);
    expect_fault(t, "a page left out");
    if (*field(8) != t)
        fail("cr2 (offset 8) is %#x after a fault at %#x", *field(8), t);
    u32 got;
    if (!probe_read(device, &got))
        fail("reading frame %#x past the end of RAM gave %#x", device >> PAGE_SHIFT, got);
    if (last_vector != 14)
        fail("reading device memory at %#x gave trap %u, not 14", device, last_vector);
    if (*field(8) != t)
        fail("a device-memory fault at %#x wrote cr2 (offset 8): %#x", device, *field(8));
    say("abi-lguest-data: cr2 at offset 8 for a reflected fault, untouched by a device fault");

    /* irq_pending (offset 20): set while interrupts are off; cleared, and time written, on delivery. */
    irq_disable();
    hcall1(LHCALL_SET_CLOCKEVENT, 100000);
    if (!await_irq_pending())
        fail("irq_pending (offset 20) never set for a timer interrupt while irq_enabled was 0");
    if (*field(20) != X86_EFLAGS_IF)
        fail("irq_pending (offset 20) is %#x, not %#x", *field(20), X86_EFLAGS_IF);
    if (ticks != 0)
        fail("the timer interrupt arrived while irq_enabled was 0");
    *field(12) = GARBAGE;
    irq_enable();
    if (ticks != 1)
        fail("%u timer interrupts after enabling, not 1", ticks);
    if (*field(20) != 0)
        fail("irq_pending (offset 20) is %#x after the delivery, not 0", *field(20));
    if (*field(12) == GARBAGE)
        fail("time (offset 12) was not written when the interrupt was delivered");
    irq_disable();
    say("abi-lguest-data: irq_pending at offset 20 set while disabled, cleared on delivery; time rewritten");

    /* blocked_interrupts (offset 4) is one word: bit n masks irq n. */
    *field(4) = 0xFFFFFFFFu;
    irq_enable();
    hcall1(LHCALL_SET_CLOCKEVENT, 100000);
    for (u32 i = 0; i < 100000; i++)
        hcall0(LHCALL_FLUSH_ASYNC);
    if (ticks != 1)
        fail("the timer interrupt arrived with blocked_interrupts (offset 4) = 0xffffffff");
    if (*field(20) != 0)
        fail("irq_pending (offset 20) is %#x for a blocked interrupt", *field(20));
    irq_disable();
    *field(4) = 0xFFFFFFFEu;
    while (ticks == 1)
        wait_for_interrupt();
    *field(4) = 0;
    say("abi-lguest-data: blocked_interrupts is one word: irq 0 masked by its bit 0");
    pass();
}
