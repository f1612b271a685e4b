/*
 * Pages and two-level page tables for the images that leave the Host's
 * linear mapping. Every directory made here maps guest RAM (up to
 * IDENTITY_LIMIT) at its own address, so code, data, the stack and
 * lguest_data keep working across NEW_PGTABLE. The experiments vary which
 * pages are present or writable, per directory; pageoffset adds mappings
 * away from the identity (its own page tables, through pte_write).
 */
#include "rt.h"

u32 current_pgdir;
static u32 next_free;
static u32 id_pts[IDENTITY_LIMIT >> 22];
static u32 id_count;

u32 page_alloc(void)
{
    if (!next_free)
        next_free = ((u32)_end + PAGE_SIZE - 1) & ~(PAGE_SIZE - 1);
    if (mem_size == 0 || next_free > mem_size - PAGE_SIZE)
        fail("out of guest RAM: %u KiB is not enough", mem_size >> 10);
    u32 page = next_free;
    next_free += PAGE_SIZE;
    memset((void *)page, 0, PAGE_SIZE);
    return page;
}

void page_fill(u32 page, u32 word)
{
    for (u32 i = 0; i < PAGE_SIZE; i += 4)
        wr32(page + i, word);
}

static int is_identity_pt(u32 pt)
{
    for (u32 i = 0; i < id_count; i++)
        if (id_pts[i] == pt)
            return 1;
    return 0;
}

u32 pgdir_identity(void)
{
    u32 limit = mem_size < IDENTITY_LIMIT ? mem_size : IDENTITY_LIMIT;
    if (!id_count) {
        u32 n = (limit + (1u << 22) - 1) >> 22;
        for (u32 i = 0; i < n; i++) {
            u32 pt = page_alloc();
            for (u32 j = 0; j < 1024; j++) {
                u32 pa = (i << 22) | (j << 12);
                if (pa < limit)
                    wr32(pt + j * 4, pa | PTE_FLAGS);
            }
            id_pts[i] = pt;
        }
        id_count = n;
    }
    u32 pd = page_alloc();
    for (u32 i = 0; i < id_count; i++)
        wr32(pd + i * 4, id_pts[i] | PDE_FLAGS);
    return pd;
}

u32 pt_copy(u32 pt)
{
    u32 copy = page_alloc();
    memcpy((void *)copy, (const void *)pt, PAGE_SIZE);
    return copy;
}

u32 pgdir_identity_private(u32 lo, u32 hi)
{
    u32 pd = pgdir_identity();
    for (u32 i = lo >> 22; i <= (hi - 1) >> 22; i++) {
        volatile u32 *pde = (volatile u32 *)(pd + i * 4);
        u32 pt = (*pde & PTE_PRESENT) ? pt_copy(*pde & ~(PAGE_SIZE - 1)) : page_alloc();
        *pde = pt | PDE_FLAGS;
    }
    return pd;
}

volatile u32 *pte_slot(u32 pgdir, u32 va)
{
    volatile u32 *pde = pde_slot(pgdir, va);
    if (!(*pde & PTE_PRESENT))
        *pde = page_alloc() | PDE_FLAGS;
    u32 pt = *pde & ~(PAGE_SIZE - 1);
    if (is_identity_pt(pt))
        fail("internal: %#x lies in the shared identity mapping", va);
    return (volatile u32 *)(pt + ((va >> 12) & 1023) * 4);
}

void pte_write(u32 pgdir, u32 va, u32 pte)
{
    *pte_slot(pgdir, va) = pte;
}

void pte_set(u32 pgdir, u32 va, u32 pte)
{
    *pte_slot(pgdir, va) = pte;
    barrier();
    /*G:046
     * Every later change to an entry is written to the guest's table and then reported, so the Host's shadow
     * of it stays right.
     */
    hcall3(LHCALL_SET_PTE, pgdir, va, pte);
}

void switch_pgdir(u32 pgdir)
{
    /*G:043
     * Tables of the guest's own: it builds a directory in its RAM and names it with LHCALL_NEW_PGTABLE, where
     * real hardware would load CR3. A Linux guest does the same once it sets up its memory.
     */
    hcall1(LHCALL_NEW_PGTABLE, pgdir);
    current_pgdir = pgdir;
}

void expect_read(u32 va, u32 want, const char *what)
{
    u32 got;
    if (probe_read(va, &got))
        fail("%s: reading %#x faulted (trap %u, error code %#x, cr2 %#x)", what, va, last_vector, last_errcode,
             last_cr2);
    if (got != want)
        fail("%s: %#x reads %#x, not %#x", what, va, got, want);
}

void expect_fault(u32 va, const char *what)
{
    u32 got, faults = trap_count[14];
    if (!probe_read(va, &got))
        fail("%s: reading %#x gave %#x instead of a page fault", what, va, got);
    if (last_vector != 14 || trap_count[14] != faults + 1)
        fail("%s: reading %#x gave trap %u, not a page fault", what, va, last_vector);
    if (last_cr2 != va)
        fail("%s: the page fault at %#x left cr2 = %#x in lguest_data", what, va, last_cr2);
    if (last_errcode & PF_ERR_PRESENT)
        fail("%s: the page fault at %#x has error code %#x (present)", what, va, last_errcode);
}

void expect_write_fault(u32 va, const char *what)
{
    u32 faults = trap_count[14];
    u32 old = rd32(va);
    if (!probe_write(va, old))
        fail("%s: writing %#x did not fault", what, va);
    if (last_vector != 14 || trap_count[14] != faults + 1)
        fail("%s: writing %#x gave trap %u, not a page fault", what, va, last_vector);
    if (last_cr2 != va)
        fail("%s: the page fault at %#x left cr2 = %#x in lguest_data", what, va, last_cr2);
    if ((last_errcode & (PF_ERR_PRESENT | PF_ERR_WRITE)) != (PF_ERR_PRESENT | PF_ERR_WRITE))
        fail("%s: the write fault at %#x has error code %#x (expected present and write)", what, va,
             last_errcode);
}
