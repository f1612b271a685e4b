/*
 * pageoffset: RAM mapped a second time at 0xC0000000, where a Linux kernel
 * maps it (PAGE_OFFSET), and used there. Before Unicorn 2.1 the emulated
 * MMU used the virtual address as the physical one, so none of this could
 * work; now every access here must land in the frame the tables name.
 *
 * 1. One page directory: the runtime's identity mapping (code, data, stack
 *    and lguest_data stay where they are) plus every page of RAM (up to
 *    512 MiB) at PAGE_OFFSET + its physical address, in page tables of its
 *    own written directly, then NEW_PGTABLE. The Host fills its shadows on
 *    demand.
 * 2. Every page of RAM read through both addresses: the same word. This
 *    touches each high page once (thousands of shadow fills).
 * 3. A compute-and-store loop (xorshift) over a 1 MiB buffer through its
 *    high address, several rounds; each round read back through the
 *    identity address.
 * 4. Code at high addresses: a function of the image called through its
 *    alias finds itself running there. A stub written through its high
 *    alias runs through the identity address; rewritten through the
 *    identity address it runs new through both; rewritten through the high
 *    alias after a FLUSH_TLB, it runs new through the identity address.
 *    (Without that flush Unicorn 2.1.1 keeps running the old code: a write
 *    through an alias whose translation was cached before the frame first
 *    ran as code is not seen as a code change; see lguest.cpu.x86/README.md.)
 * 5. Faults above the mapping: the pages right after it are not present;
 *    the image's own #PF handler maps each on first touch to a fresh frame
 *    (SET_PTE), cr2 right each time, and what is written there lands in
 *    those frames. Pages it never maps fault with cr2 at their address.
 */
#include "rt.h"

IMAGE("pageoffset");

#define PAGE_OFFSET 0xC0000000u
#define HIGH_LIMIT (512u << 20)
#define BUFFER_PAGES 256
#define ROUNDS 8
#define DEMAND_PAGES 16
#define FAR_AWAY 0xF0000000u /* below the Host's top 4 MiB, never mapped */

static u32 pgdir, high_end;
static u32 demand_frame[DEMAND_PAGES];
static volatile u32 demand_faults;

static inline u32 high(u32 pa)
{
    return pa + PAGE_OFFSET;
}

static int page_fault(struct trap_frame *frame)
{
    u32 cr2 = lguest_data.cr2;
    if (cr2 < high_end || cr2 >= high_end + DEMAND_PAGES * PAGE_SIZE)
        return 0; /* a probe's fault: the fix-up table handles it */
    if (frame->errcode & PF_ERR_PRESENT)
        fail("a fault above the mapping at %#x with error code %#x (present)", cr2, frame->errcode);
    u32 k = (cr2 - high_end) >> PAGE_SHIFT;
    if (demand_frame[k])
        fail("page %#x faulted again after the handler mapped it", cr2 & ~(PAGE_SIZE - 1));
    demand_frame[k] = page_alloc();
    pte_set(pgdir, cr2 & ~(PAGE_SIZE - 1), demand_frame[k] | PTE_FLAGS);
    demand_faults++;
    return 1;
}

static u32 xorshift(u32 x)
{
    x ^= x << 13;
    x ^= x >> 17;
    x ^= x << 5;
    return x;
}

/* Its own address: where the instruction after the call is running. */
u32 running_at(void);
__asm__(".text\n"
        ".globl running_at\n"
        "running_at:\n\t"
        "call 1f\n"
        "1:\tpop %eax\n\t"
        "ret\n");

typedef u32 (*stub_fn)(void);

static void map_ram_high(void)
{
    u32 mapped = mem_size < HIGH_LIMIT ? mem_size : HIGH_LIMIT;
    pgdir = pgdir_identity();
    for (u32 pa = 0; pa < mapped; pa += PAGE_SIZE)
        pte_write(pgdir, high(pa), pa | PTE_FLAGS);
    high_end = high(mapped);
    switch_pgdir(pgdir);
    say("pageoffset: %u pages of RAM mapped at %#x", mapped >> PAGE_SHIFT, PAGE_OFFSET);
}

static void read_all_ram_through_both(void)
{
    u32 pages = 0;
    for (u32 pa = 0; high(pa) < high_end; pa += PAGE_SIZE, pages++) {
        u32 at = pa + ((pages * 4) & (PAGE_SIZE - 4));
        if (rd32(high(at)) != rd32(at))
            fail("%#x reads %#x but its frame %#x holds %#x", high(at), rd32(high(at)), at, rd32(at));
    }
    say("pageoffset: %u pages read through both addresses alike", pages);
}

static void compute_and_store(void)
{
    u32 buffer = page_alloc();
    for (u32 k = 1; k < BUFFER_PAGES; k++)
        if (page_alloc() != buffer + k * PAGE_SIZE)
            fail("internal: the buffer pages are not contiguous");
    volatile u32 *hi = (volatile u32 *)high(buffer);
    u32 words = BUFFER_PAGES * PAGE_SIZE / 4, x = 0x9E3779B9u, sum = 0;
    for (u32 round = 0; round < ROUNDS; round++) {
        u32 start = x;
        for (u32 i = 0; i < words; i++) {
            x = xorshift(x);
            hi[i] = x ^ i;
            sum += hi[i];
        }
        for (u32 i = 0, y = start; i < words; i++) {
            y = xorshift(y);
            if (rd32(buffer + i * 4) != (y ^ i))
                fail("round %u: word %u reads %#x through the identity address, stored %#x", round, i,
                     rd32(buffer + i * 4), y ^ i);
        }
    }
    say("pageoffset: %u rounds of %u stores at %#x, sum %#x", ROUNDS, words, high(buffer), sum);
}

static void run_code_high(void)
{
    u32 alias = high((u32)running_at);
    u32 where = ((stub_fn)alias)();
    if (where != alias + 5)
        fail("running_at called through %#x says %#x", alias, where);
    if (running_at() != (u32)running_at + 5)
        fail("running_at called directly says %#x", running_at());

    u32 stub = page_alloc();
    volatile u8 *code = (volatile u8 *)high(stub);
    code[0] = 0xB8; /* mov $1,%eax; ret */
    code[1] = 1;
    code[2] = code[3] = code[4] = 0;
    code[5] = 0xC3;
    u32 first = ((stub_fn)stub)();
    ((volatile u8 *)stub)[1] = 2; /* through the address it ran from */
    u32 second = ((stub_fn)stub)(), second_high = ((stub_fn)high(stub))();
    hcall1(LHCALL_FLUSH_TLB, 1);
    code[1] = 3; /* through the high alias, after both addresses ran it */
    u32 third = ((stub_fn)stub)();
    if (first != 1 || second != 2 || second_high != 2 || third != 3)
        fail("a stub rewritten through its two addresses returned %u, %u, %u, %u (expected 1, 2, 2, 3)", first, second,
             second_high, third);
    say("pageoffset: code runs at %#x, and code rewritten through one address runs new through the other", where);
}

static void fault_above_the_mapping(void)
{
    for (u32 k = 0; k < DEMAND_PAGES; k++)
        wr32(high_end + k * PAGE_SIZE + 8, 0xD0000000u | k);
    if (demand_faults != DEMAND_PAGES)
        fail("%u faults above the mapping for %u pages", demand_faults, DEMAND_PAGES);
    for (u32 k = 0; k < DEMAND_PAGES; k++)
        if (rd32(demand_frame[k] + 8) != (0xD0000000u | k))
            fail("page %#x is mapped to frame %#x, which holds %#x", high_end + k * PAGE_SIZE, demand_frame[k],
                 rd32(demand_frame[k] + 8));
    expect_fault(high_end + DEMAND_PAGES * PAGE_SIZE, "the page after the handler's");
    expect_fault(high_end + 64 * PAGE_SIZE + 0x123, "a page further above the mapping");
    expect_fault(FAR_AWAY, "a directory entry nobody filled");
    say("pageoffset: %u faults above %#x handled by the guest, cr2 right each time", demand_faults, high_end);
}

void main(void)
{
    guest_init();
    if (boot_problem)
        fail("%s", boot_problem);
    traps_init();
    set_trap_handler(14, page_fault);

    map_ram_high();
    read_all_ram_through_both();
    compute_and_store();
    run_code_high();
    fault_above_the_mapping();
    pass();
}
