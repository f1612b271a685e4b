/*
 * bad-switcher-pte (forbidden): SET_PTE for 0xFFC00000, the first page of
 * the Host's top 4 MiB, naming a frame of the guest's own (written into a
 * page table of its own in directory slot 1023 first). lguest kills the
 * guest ("attempt to set pte into Switcher pages"). If the call returns,
 * the mapping must not have taken: a read there must not show the frame,
 * and a write there must fault without reaching it.
 */
#include "rt.h"

IMAGE("bad-switcher-pte");

#define SIG 0x5317C4E5u
#define MARK 0x0DDBA11u

void main(void)
{
    guest_init();
    if (boot_problem)
        fail("%s", boot_problem);
    traps_init();

    u32 pd = pgdir_identity();
    switch_pgdir(pd);
    u32 s = page_alloc();
    page_fill(s, SIG);
    u32 top = page_alloc();
    wr32(top, s | PTE_FLAGS);
    *pde_slot(pd, SWITCHER_ADDR) = top | PDE_FLAGS;
    say("bad-switcher-pte: SET_PTE for %#x in the Host's top 4 MiB", SWITCHER_ADDR);
    hcall3(LHCALL_SET_PTE, pd, SWITCHER_ADDR, s | PTE_FLAGS);

    /* Not killed: the mapping must not have taken. */
    u32 value;
    int read_faulted = probe_read(SWITCHER_ADDR, &value);
    if (!read_faulted && value == SIG)
        fail("not killed, and %#x now reads the guest's own frame %#x", SWITCHER_ADDR, s);
    int write_faulted = probe_write(SWITCHER_ADDR, read_faulted ? MARK : value);
    for (u32 w = 0; w < PAGE_SIZE; w += 4)
        if (rd32(s + w) != SIG)
            fail("not killed, and a write to %#x reached the guest's own frame %#x", SWITCHER_ADDR, s);
    if (!write_faulted)
        fail("not killed, and a write to %#x did not fault", SWITCHER_ADDR);
    say("bad-switcher-pte: not killed: the mapping did not take");
    pass();
}
