/*
 * isolation-limit (forbidden): a PTE naming the first frame past RAM (the
 * page-frame limit; RAM size from the e820 entry) at its own address, then
 * a read there. The first lguest killed such a guest ("bad page table entry");
 * the last one handed the access to the Launcher as device memory, and a
 * Launcher with no device there gives the page fault back to the guest.
 * Both keep the guest inside its memory: killed, or "trap 14" and PASS.
 * Only a read that returns something fails.
 */
#include "rt.h"

IMAGE("isolation-limit");

void main(void)
{
    guest_init();
    if (boot_problem)
        fail("%s", boot_problem);
    traps_init();

    u32 limit = mem_size; /* the address of frame pfn_limit */
    u32 pd = pgdir_identity_private(limit, limit + PAGE_SIZE);
    pte_write(pd, limit, IDENTITY_PTE(limit));
    switch_pgdir(pd);
    say("isolation-limit: touching frame %#x at the page-frame limit (RAM is %u KiB)", limit >> PAGE_SHIFT,
        mem_size >> 10);
    u32 value;
    if (probe_read(limit, &value))
        say("isolation-limit: the touch gave the guest trap %u instead of ending it", last_vector);
    else
        fail("read %#x from frame %#x past the end of RAM and lived", value, limit >> PAGE_SHIFT);
    pass();
}
