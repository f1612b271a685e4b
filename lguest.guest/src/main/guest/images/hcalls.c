/*
 * hcalls: every hypercall number in Lhcall once (most of them with a check
 * that the Host did what the call says), one "ok NAME" line per call, a
 * summary, PASS, and SHUTDOWN last.
 */
#include "rt.h"

IMAGE("hcalls");

#define SIG(n) (0x5161A000u | (n))
#define GDT_ENTRY_TEST 24  /* a free slot in the Linux i386 GDT layout */

static volatile u32 ticks;
static struct desc tls[GDT_ENTRY_TLS_ENTRIES] ALIGNED(8);
static u32 tls_words[GDT_ENTRY_TLS_ENTRIES] ALIGNED(16) = {0x7150C0DE, 0x7151C0DE, 0x7152C0DE};
static u32 gdt_word ALIGNED(16) = 0x6D7C0DE5;

static int timer_irq(struct trap_frame *frame)
{
    (void)frame;
    ticks++;
    return 1;
}

static u32 frame_with(u32 sig)
{
    u32 page = page_alloc();
    page_fill(page, sig);
    return page;
}

void main(void)
{
    guest_init();
    say("ok LGUEST_INIT");
    say("ok NOTIFY");
    if (boot_problem)
        fail("%s", boot_problem);

    /* LOAD_IDT_ENTRY: vectors 0-63; a divide error proves one arrives. */
    traps_init();
    set_trap_handler(FIRST_EXTERNAL_VECTOR + 0, timer_irq);
    u32 des = trap_count[0];
    provoke_divide_error();
    if (trap_count[0] != des + 1)
        fail("LOAD_IDT_ENTRY: a divide error did not reach the guest's handler");
    say("ok LOAD_IDT_ENTRY");

    hcall3(LHCALL_SET_STACK, KERNEL_DS | GUEST_PL, (u32)stack_top, 2);
    say("ok SET_STACK");

    hcall1(LHCALL_TS, X86_CR0_TS);
    hcall1(LHCALL_TS, 0);
    say("ok TS");

    /* LOAD_TLS: three DPL-3 data segments based at tls_words[i]. */
    for (u32 i = 0; i < GDT_ENTRY_TLS_ENTRIES; i++)
        tls[i] = make_desc((u32)&tls_words[i], 0xFFFFF, 0xF3, 0xC);
    hcall1(LHCALL_LOAD_TLS, (u32)tls);
    for (u32 i = 0; i < GDT_ENTRY_TLS_ENTRIES; i++) {
        u32 sel = (GDT_ENTRY_TLS_MIN + i) * 8 | 3;
        u32 got = read_gs(sel, 0);
        if (got != tls_words[i])
            fail("LOAD_TLS: %%gs=%#x read %#x, not %#x", sel, got, tls_words[i]);
    }
    clear_fs_gs();
    say("ok LOAD_TLS");

    /* LOAD_GDT_ENTRY: a DPL-1 data segment based at gdt_word. */
    struct desc d = make_desc((u32)&gdt_word, 0xFFFFF, 0xB3, 0xC);
    hcall3(LHCALL_LOAD_GDT_ENTRY, GDT_ENTRY_TEST, d.lo, d.hi);
    u32 got = read_fs(GDT_ENTRY_TEST * 8 | GUEST_PL, 0);
    clear_fs_gs();
    if (got != gdt_word)
        fail("LOAD_GDT_ENTRY: %%fs=%#x read %#x, not %#x", GDT_ENTRY_TEST * 8 | GUEST_PL, got, gdt_word);
    say("ok LOAD_GDT_ENTRY");

    /* NEW_PGTABLE: our own directory, RAM identity-mapped except page t,
     * which the Host's linear mapping shows and ours does not. */
    u32 t = frame_with(SIG(1));
    u32 pd = pgdir_identity_private(t, t + PAGE_SIZE);
    pte_write(pd, t, 0);
    expect_read(t, SIG(1), "NEW_PGTABLE: before, on the Host's linear mapping");
    switch_pgdir(pd);
    expect_fault(t, "NEW_PGTABLE: the page our directory leaves out");
    say("ok NEW_PGTABLE");

    /* FLUSH_TLB: an unannounced unmap shows after the flush, all (1) or user (0). */
    for (u32 all = 1;; all = 0) {
        pte_write(pd, t, IDENTITY_PTE(t));
        hcall1(LHCALL_FLUSH_TLB, all);
        expect_read(t, SIG(1), all ? "FLUSH_TLB(1) after mapping" : "FLUSH_TLB(0) after mapping");
        pte_write(pd, t, 0);
        hcall1(LHCALL_FLUSH_TLB, all);
        expect_fault(t, all ? "FLUSH_TLB(1) after unmapping" : "FLUSH_TLB(0) after unmapping (below kernel_address)");
        if (!all)
            break;
    }
    say("ok FLUSH_TLB");

    /* SET_PTE: map, unmap, map, each seen at once. */
    pte_set(pd, t, IDENTITY_PTE(t));
    expect_read(t, SIG(1), "SET_PTE map");
    pte_set(pd, t, 0);
    expect_fault(t, "SET_PTE unmap");
    pte_set(pd, t, IDENTITY_PTE(t));
    expect_read(t, SIG(1), "SET_PTE map again");
    say("ok SET_PTE");

    /* SET_PGD: a copy of t's page table without t, then the old one back. */
    volatile u32 *pde = pde_slot(pd, t);
    u32 old = *pde;
    u32 alt = pt_copy(old & ~(PAGE_SIZE - 1));
    wr32(alt + ((t >> PAGE_SHIFT) & 1023) * 4, 0);
    *pde = alt | PDE_FLAGS;
    hcall2(LHCALL_SET_PGD, pd, t >> 22);
    expect_fault(t, "SET_PGD to a page table without the page");
    *pde = old;
    hcall2(LHCALL_SET_PGD, pd, t >> 22);
    expect_read(t, SIG(1), "SET_PGD back");
    say("ok SET_PGD");

    /* SET_PMD: with two-level paging the middle level is the directory
     * itself; the entry did not change, so neither may the mapping. */
    hcall2(LHCALL_SET_PMD, pd, t >> 22);
    expect_read(t, SIG(1), "SET_PMD");
    say("ok SET_PMD");

    /* FLUSH_ASYNC runs what the ring holds. */
    unsigned int slot = async_next;
    if (!async_hcall(LHCALL_TS, 0, 0, 0, 0))
        fail("FLUSH_ASYNC: the empty ring was full");
    hcall0(LHCALL_FLUSH_ASYNC);
    if (lguest_data.hcall_status[slot] != 0xFF)
        fail("FLUSH_ASYNC: ring slot %u still pending (status %u)", slot, lguest_data.hcall_status[slot]);
    say("ok FLUSH_ASYNC");

    /* SET_CLOCKEVENT and HALT: sleep until the timer fires (irq 0). */
    irq_disable();
    u32 t0 = ticks;
    hcall1(LHCALL_SET_CLOCKEVENT, 1000000);
    while (ticks == t0)
        wait_for_interrupt();
    say("ok SET_CLOCKEVENT");
    say("ok HALT");

    /* SEND_INTERRUPTS: a timer interrupt that fires while interrupts are
     * disabled must wait (irq_pending set), and arrive when we enable and
     * say so. FLUSH_ASYNC is the do-nothing exit while we wait. */
    irq_disable();
    t0 = ticks;
    hcall1(LHCALL_SET_CLOCKEVENT, 100000);
    for (u32 i = 0; i < 100000 && !lguest_data.irq_pending; i++)
        hcall0(LHCALL_FLUSH_ASYNC);
    if (ticks != t0)
        fail("SEND_INTERRUPTS: the timer interrupt arrived while irq_enabled was 0");
    if (!lguest_data.irq_pending)
        fail("SEND_INTERRUPTS: irq_pending was never set for the blocked timer interrupt");
    lguest_data.irq_enabled = X86_EFLAGS_IF;
    barrier();
    hcall0(LHCALL_SEND_INTERRUPTS);
    if (ticks == t0)
        fail("SEND_INTERRUPTS: the pending timer interrupt was not delivered");
    irq_disable();
    say("ok SEND_INTERRUPTS");

    say("summary: 16 of 17 hypercalls ok, SHUTDOWN last");
    pass();
}
