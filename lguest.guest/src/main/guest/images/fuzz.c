/*
 * fuzz: random page-table entries, directory switches and hypercall
 * arguments, from a seeded generator. The command line's words set it up
 * ("fuzz seed=123 cases=5000"); missing words keep the defaults:
 *   seed=S   the generator's seed (1)
 *   cases=N  acts to try (5000)
 *   bad=B    violations per 10,000 acts (10)
 *   known=K  also do acts that meet Host bugs known today (0; a bitmask,
 *            see lguest.itest/README.md): 1 clock events that fire
 *            while the guest runs, 2 ud2 and "int $6"
 *   trace=T  print the name of every act from act T on (off)
 *
 * Every case is one act. With probability B in 10,000 it is a violation,
 * something lguest kills a guest for (or may): the image first prints
 * "fuzz: case <n>: <what>" so a test knows how far it got, then does it,
 * and if it is still alive afterwards it undoes what it can and goes on.
 * All other acts are ones lguest lets a guest do, and the image checks that
 * the Host treats them as its own page tables say:
 *
 *  - Directories: six (the Host caches four), each mapping RAM at its own
 *    address with page tables of its own over the playground, 8 to 16 MiB.
 *    Entries there are only ever the identity (VA == frame) with random
 *    flags, not present (zero or garbage), or a frame in the device region
 *    (from the page-frame limit up to the Host's top 4 MiB, but for the
 *    Launcher's BARs from one MiB past the limit, which answer). Directory
 *    slots above RAM ("wild") hold nothing, garbage without the present
 *    bit, or one of four wild page tables holding only not-present and
 *    device entries. So no guest frame is ever reachable at an address but
 *    its own, and no frame past RAM at all.
 *  - SET_PTE/SET_PGD/SET_PMD on the current and other directories (and on
 *    addresses that are no directory), the same changes made behind the
 *    Host's back, NEW_PGTABLE among the six, FLUSH_TLB(0) and FLUSH_TLB(x).
 *  - Touches (reads and writes through the fault-fixing probes) of the
 *    playground, the wild slots and the Host's top 4 MiB. A touch the
 *    guest's tables allow must work and see the last value written there;
 *    one they forbid must fault with cr2 right, unless the guest changed
 *    that directory behind the Host's back since its last flush (then a
 *    stale mapping may still work, as a real TLB's would). A write into the
 *    top 4 MiB must fault.
 *  - Hypercalls with random arguments the Host must accept: TS, FLUSH_ASYNC
 *    and SEND_INTERRUPTS with garbage, SET_CLOCKEVENT, HALT (after a short
 *    clock event), LOAD_IDT_ENTRY (our gates with random selector, type and
 *    DPL; garbage gates for vectors never delivered), LOAD_GDT_ENTRY and
 *    LOAD_TLS (non-system descriptors in unused slots, garbage in the
 *    Host's ignored slots), SET_STACK, the asynchronous ring, "int $n" for
 *    every n, and traps taken on a stack in the playground.
 *
 * Violations: bad hypercall numbers (also through the ring), LGUEST_INIT
 * again, SHUTDOWN/NOTIFY/LOAD_TLS of addresses past RAM, NEW_PGTABLE of
 * directories past RAM or that map nothing or hold a bad entry, SET_PGD
 * index >= 1024, SET_PTE into the top 4 MiB, entries with PSE, a frame in
 * the top 4 MiB or a directory entry with foreign flags (then touched),
 * LOAD_IDT_ENTRY out of range or of a bad type or taking away a gate in
 * use, LOAD_GDT_ENTRY out of range, system descriptors, the kernel's CS and
 * DS made unusable, SET_STACK with a bad segment, size or address, and
 * traps taken on stacks the Host cannot push to.
 *
 * Prints "fuzz: <n> cases" every 1,000 cases and at the end, a summary, and
 * "PASS fuzz"; it powers off. Killed runs end wherever the Host ends them.
 */
#include "rt.h"

IMAGE("fuzz");

#define MIB (1u << 20)
#define SLOT_SIZE (4u * MIB)
#define PLAY_BASE (8u * MIB)
#define PLAY_SLOTS 2u
#define PLAY_SLOT0 (PLAY_BASE >> 22)
#define PLAY_END (PLAY_BASE + PLAY_SLOTS * SLOT_SIZE)
#define PLAY_PAGES ((PLAY_END - PLAY_BASE) >> PAGE_SHIFT)
#define NDIRS 6u
#define NWILD 4u
#define NWILD_SLOTS 6u
#define NHOT 48u
#define SWITCHER_SLOT 1023u
#define HOST_FRAME 0xFFC00u /* first frame of the Host's top 4 MiB */

/* Entry bits. */
#define F_P 0x001u
#define F_RW 0x002u
#define F_US 0x004u
#define F_PWT 0x008u
#define F_PCD 0x010u
#define F_A 0x020u
#define F_D 0x040u
#define F_PSE 0x080u
#define F_G 0x100u
#define F_AVL 0xE00u
#define PAGE_TABLE_FLAGS 0x067u /* lguest's _PAGE_TABLE: all a directory entry may carry */
#define FRAME(x) ((x) & ~(PAGE_SIZE - 1))

/* ------------------------------------------------------------ parameters */

static u32 seed = 1, total_cases = 5000, bad_rate = 10, trace_from = 0xFFFFFFFFu, known = 0;
/* Acts that meet Host bugs known today (lguest.itest/README.md, "Fuzz findings"), left out unless asked for. */
#define KNOWN_KICKS 1u /* finding 1: clock events that fire while the guest runs */
#define KNOWN_UD 2u    /* finding 2: ud2 and int $6 */


static int word_is(const char *p, const char *name)
{
    while (*name)
        if (*p++ != *name++)
            return 0;
    return *p == '=';
}

/* "name=<decimal or 0x hex>" on the command line, or def. */
static u32 param(const char *name, u32 def)
{
    const char *p = boot_cmdline;
    while (*p) {
        while (*p == ' ')
            p++;
        if (word_is(p, name)) {
            p += strlen(name) + 1;
            u32 v = 0, base = 10, digits = 0;
            if (p[0] == '0' && (p[1] == 'x' || p[1] == 'X')) {
                base = 16;
                p += 2;
            }
            for (;; p++, digits++) {
                u32 d;
                if (*p >= '0' && *p <= '9')
                    d = (u32)(*p - '0');
                else if (base == 16 && *p >= 'a' && *p <= 'f')
                    d = (u32)(*p - 'a' + 10);
                else if (base == 16 && *p >= 'A' && *p <= 'F')
                    d = (u32)(*p - 'A' + 10);
                else
                    break;
                v = v * base + d;
            }
            return digits && (*p == 0 || *p == ' ') ? v : def;
        }
        while (*p && *p != ' ')
            p++;
    }
    return def;
}

/* ---------------------------------------------------- xoshiro128** */

static u32 rs[4];

static inline u32 rotl(u32 x, int k)
{
    return (x << k) | (x >> (32 - k));
}

static u32 rnd(void)
{
    u32 result = rotl(rs[1] * 5, 7) * 9;
    u32 t = rs[1] << 9;
    rs[2] ^= rs[0];
    rs[3] ^= rs[1];
    rs[1] ^= rs[2];
    rs[0] ^= rs[3];
    rs[2] ^= t;
    rs[3] = rotl(rs[3], 11);
    return result;
}

static void seed_rng(u32 s)
{
    for (int i = 0; i < 4; i++) {
        u32 z = (s += 0x9E3779B9u);
        z = (z ^ (z >> 16)) * 0x85EBCA6Bu;
        z = (z ^ (z >> 13)) * 0xC2B2AE35u;
        rs[i] = z ^ (z >> 16);
    }
    if (!(rs[0] | rs[1] | rs[2] | rs[3]))
        rs[0] = 1;
}

/* Uniform in [0, n). */
static u32 below(u32 n)
{
    return (u32)(((u64)rnd() * n) >> 32);
}

static int pct(u32 p)
{
    return below(100) < p;
}

/* ------------------------------------------------------------- state */

static u32 dirs[NDIRS];
static u32 play_pt[NDIRS][PLAY_SLOTS];
static u8 stale[NDIRS]; /* changed behind the Host's back since its last flush */
static u32 cur;          /* index of the current directory */
static u32 wild_pt[NWILD];
static u32 wild_slots[NWILD_SLOTS];
static u32 wild_first; /* first directory slot above RAM */
static u32 hot[NHOT];
static u32 zero_dir, bad_dir, desc_buf;
static u32 limit_pfn;
static u32 tag[PLAY_PAGES]; /* last word written at offset 0 of each playground page */
static u8 tagged[PLAY_PAGES];
/* The gates as the Host keeps them: present, and their DPL (ours at boot: 0-63 but the Host's, DPL 0). */
static u8 gate_present[256], gate_dpl[256];
static u32 stack_pages_set;

static u32 cases, violations, survived;
static u32 touch_ok, touch_fault, device_traps, stale_hits, top_reads, top_writes, switches, int_ns, games, halts;

/* ------------------------------------------------------------ helpers */

static void announce(const char *fmt, ...) PRINTF(1, 2);
static void announce(const char *fmt, ...)
{
    char what[160];
    __builtin_va_list ap;
    __builtin_va_start(ap, fmt);
    vformat(what, sizeof(what), fmt, ap);
    __builtin_va_end(ap);
    say("fuzz: case %u: %s", cases, what);
    violations++;
}

static u32 pick_dir(void)
{
    return pct(60) ? cur : below(NDIRS);
}

static u32 play_page(void)
{
    if (pct(70))
        return hot[below(NHOT)];
    return PLAY_BASE + below(PLAY_PAGES) * PAGE_SIZE;
}

/* A word in a playground page: mostly offset 0, where the tags live. */
static u32 play_addr(u32 page)
{
    return page + (pct(50) ? 0 : below(PAGE_SIZE / 4) * 4);
}

static u32 play_slot_of(u32 va)
{
    return (va >> 22) - PLAY_SLOT0;
}

static volatile u32 *play_pte(u32 d, u32 va)
{
    return (volatile u32 *)(play_pt[d][play_slot_of(va)] + ((va >> PAGE_SHIFT) & 1023) * 4);
}

static volatile u32 *pde_of(u32 d, u32 slot)
{
    return (volatile u32 *)(dirs[d] + slot * 4);
}

static u32 wild_slot(void)
{
    if (pct(85))
        return wild_slots[below(NWILD_SLOTS)];
    return wild_first + below(SWITCHER_SLOT - wild_first);
}

static u32 wild_va(u32 slot)
{
    static const u32 pages[4] = {0, 1, 511, 1023};
    u32 page = pct(60) ? pages[below(4)] : below(1024);
    return (slot << 22) | (page << PAGE_SHIFT);
}

/* A frame of the device region where nothing answers: from the page-frame
 * limit up to the Host's top 4 MiB, but for the Launcher's BARs, which
 * answer like memory: they start one MiB past the limit, and 128 KiB holds
 * a full bus of them. */
#define LAUNCHER_GAP_FRAMES 0x100u
#define LAUNCHER_FRAMES 0x20u
static u32 device_frame(void)
{
    u32 frame;
    u32 launcher_frame = limit_pfn + LAUNCHER_GAP_FRAMES;
    switch (below(4)) {
    case 0:
        return limit_pfn;
    case 1:
        return limit_pfn + 1;
    case 2:
        return HOST_FRAME - 1;
    default:
        frame = limit_pfn + below(HOST_FRAME - limit_pfn - LAUNCHER_FRAMES);
        return frame >= launcher_frame ? frame + LAUNCHER_FRAMES : frame;
    }
}

static u32 host_frame(void)
{
    return pct(50) ? HOST_FRAME + below(0x400) : (pct(50) ? HOST_FRAME : 0xFFFFF);
}

/* Flags an entry may carry without upsetting lguest: anything but PSE. */
static u32 pte_flags(void)
{
    u32 f = 0;
    if (pct(85))
        f |= F_P;
    if (pct(70))
        f |= F_RW;
    if (pct(50))
        f |= F_US;
    if (pct(10))
        f |= F_PWT;
    if (pct(10))
        f |= F_PCD;
    if (pct(60))
        f |= F_A;
    if (pct(40))
        f |= F_D;
    if (pct(10))
        f |= F_G;
    if (pct(20))
        f |= rnd() & F_AVL;
    return f;
}

/* Flags a directory entry may carry: within _PAGE_TABLE. */
static u32 pde_flags(void)
{
    u32 f = 0;
    if (pct(90))
        f |= F_P;
    if (pct(80))
        f |= F_RW;
    if (pct(50))
        f |= F_US;
    if (pct(50))
        f |= F_A;
    if (pct(30))
        f |= F_D;
    return f;
}

/* Garbage with the present bit clear. */
static u32 not_present(void)
{
    return pct(50) ? 0 : (rnd() & ~F_P);
}

static void set_pte(u32 d, u32 va, u32 pte)
{
    hcall3(LHCALL_SET_PTE, dirs[d], va, pte);
}

static void set_pgd(u32 d, u32 slot)
{
    hcall2(LHCALL_SET_PGD, dirs[d], slot);
}

static void go(u32 d)
{
    hcall1(LHCALL_NEW_PGTABLE, dirs[d]);
    cur = d;
    switches++;
}

/* ------------------------------------------------------------ touches */

enum expect { WORKS, NOT_PRESENT, READ_ONLY, DEVICE };
static const char *const expect_name[] = {"works", "not present", "read-only", "device memory"};

static int is_device(u32 pte)
{
    return !(pte & F_PSE) && (pte >> PAGE_SHIFT) >= limit_pfn && (pte >> PAGE_SHIFT) < HOST_FRAME;
}

/* What the guest's own tables say a touch of va in directory d does. */
static enum expect expect_play(u32 d, u32 va, int write, u32 *pde_out, u32 *pte_out)
{
    u32 pde = *pde_of(d, va >> 22);
    u32 pte = *play_pte(d, va);
    *pde_out = pde;
    *pte_out = pte;
    if (!(pde & F_P) || !(pte & F_P))
        return NOT_PRESENT;
    if (is_device(pte))
        return DEVICE;
    if (FRAME(pte) != FRAME(va) || (pte & F_PSE) || FRAME(pde) != play_pt[d][play_slot_of(va)])
        fail("internal: directory %u maps %#x with %#x / %#x", d, va, pde, pte);
    return (write && !(pde & pte & F_RW)) ? READ_ONLY : WORKS;
}

/* A fault the Launcher handed back from device memory leaves cr2 as it was
 * (Linux 4.x writes cr2 only for faults it reflects itself). */
static void check_fault(u32 va, u32 pf_before, u32 cr2_before, int device, const char *what)
{
    if (last_vector != 14 || trap_count[14] != pf_before + 1)
        fail("%s %#x gave trap %u (error code %#x), not one page fault", what, va, last_vector, last_errcode);
    if (last_cr2 != va && !(device && last_cr2 == cr2_before))
        fail("%s %#x: page fault with cr2 %#x", what, va, last_cr2);
}

static void touch_play(u32 va, int write)
{
    u32 pde, pte;
    enum expect e = expect_play(cur, va, write, &pde, &pte);
    u32 page = (va - PLAY_BASE) >> PAGE_SHIFT;
    int at0 = (va & (PAGE_SIZE - 1)) == 0;
    u32 value = rnd(), got = 0, before = trap_count[14], cr2_before = lguest_data.cr2;
    int faulted = write ? probe_write(va, value) : probe_read(va, &got);
    if (!faulted) {
        if (e != WORKS) {
            if (!stale[cur])
                fail("%s %#x worked in directory %u, whose entries %#x / %#x say %s", write ? "writing" : "reading",
                     va, cur, pde, pte, expect_name[e]);
            stale_hits++;
        }
        if (write && at0) {
            tag[page] = value;
            tagged[page] = 1;
        } else if (!write && at0 && tagged[page] && got != tag[page]) {
            fail("%#x read %#x, but %#x was written there last", va, got, tag[page]);
        }
        touch_ok++;
        return;
    }
    check_fault(va, before, cr2_before, e == DEVICE, write ? "writing" : "reading");
    if (e == WORKS)
        fail("%s %#x faulted (error code %#x) in directory %u, whose entries %#x / %#x allow it",
             write ? "writing" : "reading", va, last_errcode, cur, pde, pte);
    if (!stale[cur]) {
        if (e == NOT_PRESENT && (last_errcode & PF_ERR_PRESENT))
            fail("%#x is not present but the fault's error code is %#x", va, last_errcode);
        /* (The present bit may be clear: lguest reflects the error code of the empty shadow.) */
        if (e == READ_ONLY && !(last_errcode & PF_ERR_WRITE))
            fail("writing read-only %#x: error code %#x", va, last_errcode);
    }
    if (e == DEVICE)
        device_traps++;
    touch_fault++;
}

/* The wild slots hold nothing the guest may reach: every touch faults. */
static void touch_wild(u32 va, int write)
{
    u32 pde = *pde_of(cur, va >> 22), pte = 0, before = trap_count[14], cr2_before = lguest_data.cr2, got;
    int device = 0;
    if (pde & F_P) {
        u32 pt = FRAME(pde), ok = 0;
        for (u32 w = 0; w < NWILD; w++)
            ok |= pt == wild_pt[w];
        if (!ok || (pde & ~FRAME(pde) & ~PAGE_TABLE_FLAGS))
            fail("internal: wild slot %u of directory %u holds %#x", va >> 22, cur, pde);
        pte = rd32(pt + ((va >> PAGE_SHIFT) & 1023) * 4);
        if (pte & F_P) {
            if (!is_device(pte))
                fail("internal: wild entry for %#x is %#x", va, pte);
            device = !write || (pde & pte & F_RW);
        }
    }
    int faulted = write ? probe_write(va, rnd()) : probe_read(va, &got);
    if (!faulted)
        fail("%s %#x above RAM worked (directory entry %#x, entry %#x)", write ? "writing" : "reading", va, pde, pte);
    check_fault(va, before, cr2_before, device, write ? "writing" : "reading");
    device_traps += device;
    touch_fault++;
}

/* ------------------------------------------------------------ safe acts */

static void op_map(void)
{
    u32 d = pick_dir(), page = play_page();
    u32 pte = page | pte_flags();
    *play_pte(d, page) = pte;
    barrier();
    if (pct(88)) {
        u32 va = pct(30) ? page | (rnd() & (PAGE_SIZE - 1)) : page;
        set_pte(d, va, pte);
    } else {
        stale[d] = 1; /* behind the Host's back */
    }
    if (d == cur && pct(60))
        touch_play(play_addr(page), pct(50));
}

static void op_unmap(void)
{
    u32 d = pick_dir(), page = play_page(), pte = not_present();
    *play_pte(d, page) = pte;
    barrier();
    if (pct(88))
        set_pte(d, page, pte);
    else
        stale[d] = 1;
    if (d == cur && pct(40))
        touch_play(play_addr(page), pct(50));
}

/* A wild slot of directory d that points at a wild table (installed if need be). */
static u32 wild_table(u32 d, u32 slot)
{
    volatile u32 *pde = pde_of(d, slot);
    if (!(*pde & F_P)) {
        *pde = wild_pt[below(NWILD)] | F_P | F_RW | F_A | (pct(50) ? F_US : 0);
        barrier();
        set_pgd(d, slot);
    }
    return FRAME(*pde);
}

static void op_device_map(void)
{
    u32 d = pick_dir(), pte = (device_frame() << PAGE_SHIFT) | pte_flags() | F_P;
    if (pct(50)) {
        u32 page = play_page();
        *play_pte(d, page) = pte;
        barrier();
        set_pte(d, page, pte);
        if (d == cur && pct(50))
            touch_play(play_addr(page), pct(50));
    } else {
        u32 slot = wild_slot(), va = wild_va(slot);
        u32 pt = wild_table(d, slot);
        wr32(pt + ((va >> PAGE_SHIFT) & 1023) * 4, pte);
        barrier();
        set_pte(d, va, pte);
        if (d == cur && pct(50))
            touch_wild(va + below(PAGE_SIZE / 4) * 4, pct(50));
    }
}

static void op_touch(void)
{
    touch_play(play_addr(play_page()), pct(50));
}

static void op_touch_wild(void)
{
    touch_wild(wild_va(wild_slot()) + (pct(50) ? 0 : below(PAGE_SIZE / 4) * 4), pct(40));
}

/*
 * The Host's top 4 MiB: reads may fault or see what the Host keeps there;
 * writes (of the value just read) must fault but in the page of the CPU's
 * ring-0 stack, which the backend maps writable (as lguest's regs page
 * was). A write that takes is reported once per page, so a test can see
 * that it is always the same page.
 */
static u32 top_write_page = 0xFFFFFFFFu;

static void op_touch_top(void)
{
    /* Half of them in the first 16 pages, where the Host keeps its pages. */
    u32 va = SWITCHER_ADDR + (pct(50) ? below(16 * PAGE_SIZE / 4) : below(SLOT_SIZE / 4)) * 4;
    u32 got, before = trap_count[14];
    if (probe_read(va, &got)) {
        check_fault(va, before, 0, 0, "reading");
        touch_fault++;
        return;
    }
    top_reads++;
    before = trap_count[14];
    if (!probe_write(va, got)) {
        top_writes++;
        if (FRAME(va) != top_write_page) {
            top_write_page = FRAME(va);
            say("fuzz: a write into the top 4 MiB took at %#x", va);
        }
        return;
    }
    check_fault(va, before, 0, 0, "writing");
    touch_fault++;
}

static void op_switch(void)
{
    go(pct(10) ? cur : below(NDIRS));
    if (pct(50))
        touch_play(play_addr(play_page()), pct(50));
}

static void op_flush(void)
{
    if (pct(50)) {
        hcall1(LHCALL_FLUSH_TLB, 0);
        stale[cur] = 0;
    } else {
        hcall1(LHCALL_FLUSH_TLB, pct(50) ? 1 : (rnd() | 1));
        memset(stale, 0, sizeof(stale));
    }
}

static void op_set_pgd(void)
{
    u32 d = pick_dir(), slot, r = below(10);
    if (r < 4) {
        slot = PLAY_SLOT0 + below(PLAY_SLOTS);
        if (pct(60))
            *pde_of(d, slot) = play_pt[d][slot - PLAY_SLOT0] | pde_flags();
    } else if (r < 6) {
        slot = below(wild_first);
        if (slot >= PLAY_SLOT0 && slot < PLAY_SLOT0 + PLAY_SLOTS)
            slot = 0;
    } else if (r < 9) {
        slot = wild_slot();
        u32 k = below(3);
        *pde_of(d, slot) = k == 0 ? 0 : k == 1 ? (rnd() & ~F_P) : (wild_pt[below(NWILD)] | pde_flags());
    } else {
        /* The switcher's slot: lguest leaves it alone whatever the guest puts there. */
        slot = SWITCHER_SLOT;
        *pde_of(d, slot) = pct(50) ? 0 : (wild_pt[below(NWILD)] | pde_flags() | F_P);
    }
    barrier();
    set_pgd(d, slot);
    if (d == cur && slot >= PLAY_SLOT0 && slot < PLAY_SLOT0 + PLAY_SLOTS && pct(50))
        touch_play(play_addr(PLAY_BASE + (slot - PLAY_SLOT0) * SLOT_SIZE + below(1024) * PAGE_SIZE), pct(50));
}

static void op_behind_pde(void)
{
    u32 d = pick_dir(), slot = PLAY_SLOT0 + below(PLAY_SLOTS);
    *pde_of(d, slot) = play_pt[d][slot - PLAY_SLOT0] | pde_flags();
    stale[d] = 1;
}

static void op_set_pmd(void)
{
    u32 dir = pct(80) ? dirs[pick_dir()] : rnd();
    u32 arg;
    switch (below(3)) {
    case 0:
        arg = below(1024); /* as an index */
        break;
    case 1:
        arg = play_page();
        break;
    default:
        arg = rnd();
    }
    hcall2(LHCALL_SET_PMD, dir, arg);
}

/* SET_PTE outside the playground, where the tables map RAM onto itself: the
 * entry named is the identity too, with any flags. A shadow it leaves
 * narrower than the table faults back in. */
static void op_set_pte_ram(void)
{
    u32 page = below(mem_size >> PAGE_SHIFT) << PAGE_SHIFT;
    if (page >= PLAY_BASE && page < PLAY_END)
        page = 0;
    hcall3(LHCALL_SET_PTE, dirs[pick_dir()], page, page | pte_flags());
}

/* Calls naming a directory that is none of ours: nothing to change. */
static void op_foreign_dir(void)
{
    u32 dir;
    do
        dir = pct(50) ? rnd() : (below(mem_size >> PAGE_SHIFT) << PAGE_SHIFT) | (pct(20) ? below(PAGE_SIZE) : 0);
    while (dir == dirs[0] || dir == dirs[1] || dir == dirs[2] || dir == dirs[3] || dir == dirs[4] || dir == dirs[5]);
    switch (below(3)) {
    case 0: {
        u32 page = play_page();
        if (pct(50))
            hcall3(LHCALL_SET_PTE, dir, page, page | pte_flags());
        else /* above the kernel address: lguest sets it in every directory */
            hcall3(LHCALL_SET_PTE, dir, 0xC0000000u + below(0x3FC00) * PAGE_SIZE,
                   pct(50) ? not_present() : (device_frame() << PAGE_SHIFT) | pte_flags());
        break;
    }
    case 1:
        hcall2(LHCALL_SET_PGD, dir, below(1024));
        break;
    default:
        hcall2(LHCALL_SET_PMD, dir, rnd());
    }
}

/*
 * SET_CLOCKEVENT with a random delay. The clock must not fire while the
 * guest runs (lguest.itest/README.md, finding 1: a kick then may lose guest
 * state), so it is armed through the ring and the same exit also runs the
 * HALT that waits for it (short ones) or the SET_CLOCKEVENT(0) that
 * cancels it (long ones): the guest runs no instruction while it is armed.
 * known=1 arms it with a plain hypercall and leaves it.
 */
static void op_clock(void)
{
    u32 ns;
    switch (below(3)) {
    case 0:
        ns = 0;
        break;
    case 1:
        ns = 1000 + below(2000000);
        break;
    default:
        ns = rnd();
    }
    if (known & KNOWN_KICKS) {
        hcall1(LHCALL_SET_CLOCKEVENT, ns);
        return;
    }
    async_hcall(LHCALL_SET_CLOCKEVENT, ns, 0, 0, 0);
    if (ns != 0 && ns <= 2000000) {
        wait_for_interrupt();
        halts++;
    } else {
        hcall1(LHCALL_SET_CLOCKEVENT, 0);
    }
}

/* A short clock event, armed in the same exit as the HALT that waits for it (see op_clock). */
static void op_halt(void)
{
    async_hcall(LHCALL_SET_CLOCKEVENT, 1000 + below(100000), 0, 0, 0);
    wait_for_interrupt();
    halts++;
}

static void op_irq_window(void)
{
    irq_enable();
    for (volatile u32 i = below(100); i > 0; i--)
        ;
    irq_disable();
}

static void op_misc(void)
{
    switch (below(3)) {
    case 0:
        hcall1(LHCALL_TS, pct(50) ? below(2) * 8 : rnd());
        break;
    case 1:
        hcall(LHCALL_FLUSH_ASYNC, rnd(), rnd(), rnd(), rnd());
        break;
    default:
        hcall(LHCALL_SEND_INTERRUPTS, rnd(), rnd(), rnd(), rnd());
    }
}

/* Up to eight calls through the ring, then a synchronous one that runs them. */
static void op_async(void)
{
    u32 n = 1 + below(8), flushed = 0, switched = NDIRS;
    for (u32 i = 0; i < n; i++) {
        u32 d = pick_dir();
        switch (below(6)) {
        case 0: {
            u32 page = play_page(), pte = pct(80) ? page | pte_flags() : not_present();
            *play_pte(d, page) = pte;
            barrier();
            async_hcall(LHCALL_SET_PTE, dirs[d], page, pte, 0);
            break;
        }
        case 1: {
            u32 slot = PLAY_SLOT0 + below(PLAY_SLOTS);
            *pde_of(d, slot) = play_pt[d][slot - PLAY_SLOT0] | pde_flags();
            barrier();
            async_hcall(LHCALL_SET_PGD, dirs[d], slot, 0, 0);
            break;
        }
        case 2:
            async_hcall(LHCALL_FLUSH_TLB, 1, 0, 0, 0);
            flushed = 1;
            break;
        case 3:
            async_hcall(LHCALL_TS, below(2) * 8, 0, 0, 0);
            break;
        case 4:
            async_hcall(LHCALL_SET_PMD, dirs[d], rnd(), 0, 0);
            break;
        default:
            async_hcall(LHCALL_NEW_PGTABLE, dirs[d], 0, 0, 0);
            switched = d;
        }
    }
    hcall0(LHCALL_FLUSH_ASYNC);
    if (switched < NDIRS) {
        cur = switched;
        switches++;
    }
    if (flushed)
        memset(stale, 0, sizeof(stale));
}

static void load_gate(u32 v, u32 handler, u32 selector, u32 type, u32 dpl)
{
    gate_present[v] = 1;
    gate_dpl[v] = (u8)dpl;
    u32 lo = (selector << 16) | (handler & 0xFFFF);
    u32 hi = (handler & 0xFFFF0000u) | 0x8000u | (dpl << 13) | (type << 8) | (rnd() & 0xFF);
    hcall3(LHCALL_LOAD_IDT_ENTRY, v, lo, hi);
}

/* Vectors the Host never delivers to us: no interrupt but the timer's, no "int n" but 0x80. */
static u32 undelivered_vector(void)
{
    u32 v;
    do
        v = 33 + below(256 - 33);
    while (v == 0x80);
    return v;
}

static void op_idt(void)
{
    u32 r = below(10);
    if (r < 5) {
        /* One of ours again: the Host keeps only the handler, type and DPL, and uses the kernel CS. */
        u32 v;
        do
            v = below(NR_TRAP_VECTORS);
        while (v == 2 || v == 8 || v == 15 || v == LGUEST_TRAP_ENTRY);
        u32 dpl = pct(80) ? 0 : below(4);
        load_gate(v, trap_stub(v), pct(50) ? KERNEL_CS : rnd() & 0xFFFF, pct(70) ? 0xE : 0xF, dpl);
    } else if (r < 7) {
        u32 v = undelivered_vector();
        load_gate(v, rnd(), rnd() & 0xFFFF, pct(50) ? 0xE : 0xF, below(4));
    } else if (r < 9) {
        /* The Host's own vectors: ignored, whatever they hold. */
        static const u32 own[4] = {2, 8, 15, LGUEST_TRAP_ENTRY};
        hcall3(LHCALL_LOAD_IDT_ENTRY, own[below(4)], rnd(), rnd());
    } else {
        u32 v = undelivered_vector();
        hcall3(LHCALL_LOAD_IDT_ENTRY, v, rnd(), rnd() & ~0x8000u);
        gate_present[v] = 0;
    }
}

/* A descriptor that is no system descriptor (S set, or not present). */
static struct desc random_segment(void)
{
    u32 access = rnd() & 0xFF;
    if (access & 0x80)
        access |= 0x10;
    return make_desc(rnd(), rnd() & 0xFFFFF, access, rnd() & 0xF);
}

static struct desc kernel_segment(u32 code, u32 dpl)
{
    return make_desc(0, 0xFFFFF, 0x90 | (dpl << 5) | (code ? 0xA : 0x2) | below(2), 0xC);
}

static void op_gdt(void)
{
    static const u32 unused[] = {0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 14, 15, 17, 18, 19, 20, 21, 22, 23, 24, 25, 26, 27, 28, 29, 30};
    static const u32 ignored[] = {10, 11, 16, 31};
    u32 r = below(10), num;
    struct desc d;
    if (r < 6) {
        num = unused[below(ARRAY_SIZE(unused))];
        d = random_segment();
    } else if (r < 8) {
        num = ignored[below(ARRAY_SIZE(ignored))];
        d.lo = rnd();
        d.hi = rnd();
    } else {
        /* Our own CS or DS again, DPL 0 (the Host makes it 1) or 1. */
        num = below(2) ? GDT_ENTRY_KERNEL_CS : GDT_ENTRY_KERNEL_DS;
        d = kernel_segment(num == GDT_ENTRY_KERNEL_CS, below(2));
    }
    hcall3(LHCALL_LOAD_GDT_ENTRY, num, d.lo, d.hi);
}

static void op_tls(void)
{
    struct desc *t = (struct desc *)desc_buf;
    for (u32 i = 0; i < 3; i++)
        t[i] = random_segment();
    barrier();
    hcall1(LHCALL_LOAD_TLS, desc_buf);
}

static void op_set_stack(void)
{
    stack_pages_set = below(3);
    hcall3(LHCALL_SET_STACK, (rnd() & 0xFFFC) | GUEST_PL, (u32)stack_top, stack_pages_set);
}

/*
 * u32 stack_game(u32 esp): with %esp = esp, divide by zero; the Host pushes
 * the trap frame there and our handler runs on that stack, skips the
 * divide, and we return on our own stack: 1 if the trap came.
 */
u32 stack_game(u32 esp);
static volatile u32 saved_esp;
__asm__(".text\n"
        ".globl stack_game\n"
        "stack_game:\n\t"
        "movl 4(%esp), %eax\n\t"
        "movl %esp, saved_esp\n\t"
        "movl %eax, %esp\n\t"
        "xorl %edx, %edx\n\t"
        "movl $1, %eax\n\t"
        "xorl %ecx, %ecx\n"
        "1:\tdivl %ecx\n\t"
        "movl saved_esp, %esp\n\t"
        "xorl %eax, %eax\n\t"
        "ret\n"
        "2:\tmovl saved_esp, %esp\n\t"
        "movl $1, %eax\n\t"
        "ret\n\t" EXTABLE(1b, 2b));

/* A trap taken on a stack in a playground page that is present and writable. */
static void op_stack_game(void)
{
    u32 page = 0, pde, pte;
    for (u32 tries = 0; tries < 8 && !page; tries++) {
        u32 p = play_page();
        if (expect_play(cur, p, 1, &pde, &pte) == WORKS)
            page = p;
    }
    if (!page)
        return;
    u32 esp = page + PAGE_SIZE / 2 + below(PAGE_SIZE / 8) * 4 + (pct(10) ? 1 + below(3) : 0);
    u32 divides = trap_count[0];
    if (!stack_game(esp) || last_vector != 0 || trap_count[0] != divides + 1)
        fail("a divide error on a stack at %#x: trap %u", esp, last_vector);
    games++;
}

/* "int $n" for every n: one stub each, 8 bytes apart, each fixed up past its int. */
extern char int_stubs[];
__asm__(".text\n"
        ".align 8\n"
        ".globl int_stubs\n"
        "int_stubs:\n"
        ".set fuzz_int_n, 0\n"
        ".rept 256\n"
        ".align 8\n"
        "1:\tint $fuzz_int_n\n"
        "2:\tret\n"
        ".pushsection .extable,\"a\"\n\t.long 1b, 2b\n\t.popsection\n"
        ".set fuzz_int_n, fuzz_int_n + 1\n"
        ".endr\n");

/*
 * "int $n" at ring 1: a gate of DPL 0, or none, is a #GP with the vector in
 * the error code (the Host checks as the CPU did); through a gate of DPL 1
 * or more, vectors from 32 up but the system call's were real interrupts to
 * lguest, so the Host ignores them. (Below 32 such a gate would run our
 * stub without the error code it expects: not done.)
 */
static void op_int_n(void)
{
    u32 n;
    int open;
    do {
        n = below(256);
        open = gate_present[n] && gate_dpl[n] >= GUEST_PL;
    } while (n == LGUEST_TRAP_ENTRY || (open && (n < FIRST_EXTERNAL_VECTOR || n == SYSCALL_VECTOR)) ||
             (n == 6 && !(known & KNOWN_UD))); /* lguest.itest/README.md, finding 2 */
    u32 gps = trap_count[13], traps = fixups;
    ((void (*)(void))(int_stubs + 8 * n))();
    if (!open) {
        if (trap_count[13] != gps + 1 || last_vector != 13 || last_errcode != ((n << 3) | 2))
            fail("int $%#x: trap %u, error code %#x (expected a #GP with %#x)", n, last_vector, last_errcode,
                 (n << 3) | 2);
    } else if (fixups != traps) {
        fail("int $%#x: trap %u came back through a gate of DPL %u (lguest ignores software interrupts >= 32)", n,
             last_vector, gate_dpl[n]);
    }
    int_ns++;
}

/* ud2: trap 6 for the guest's handler (lguest.itest/README.md, finding 2: only with known=2). */
static void op_ud2(void)
{
    if (!(known & KNOWN_UD))
        return;
    u32 before = trap_count[6];
    __asm__ __volatile__("1:\tud2\n2:\n\t" EXTABLE(1b, 2b));
    if (trap_count[6] != before + 1)
        fail("ud2 gave trap %u, not 6", last_vector);
}

struct op {
    void (*fn)(void);
    u32 weight;
    const char *name;
};

#define OP(fn, weight) {fn, weight, #fn}
static const struct op safe_ops[] = {
    OP(op_map, 16),       OP(op_unmap, 6),        OP(op_device_map, 5),  OP(op_touch, 26),  OP(op_touch_wild, 4),
    OP(op_touch_top, 1),  OP(op_switch, 8),       OP(op_flush, 4),       OP(op_set_pgd, 6), OP(op_behind_pde, 2),
    OP(op_set_pmd, 2),    OP(op_set_pte_ram, 2),  OP(op_foreign_dir, 2), OP(op_clock, 1),   OP(op_halt, 1),
    OP(op_irq_window, 1), OP(op_misc, 2),         OP(op_async, 2),       OP(op_idt, 2),     OP(op_gdt, 2),
    OP(op_tls, 1),        OP(op_set_stack, 1),    OP(op_stack_game, 2),  OP(op_int_n, 2),    OP(op_ud2, 1),
};

/* The last acts, for the report of a trap nobody expected. */
#define HISTORY 8u
static const char *history[HISTORY];
static u32 history_case[HISTORY];

static void remember(const char *name)
{
    if (cases >= trace_from)
        say("fuzz: case %u: %s", cases, name);
    history[cases % HISTORY] = name;
    history_case[cases % HISTORY] = cases;
}

/* Any trap below 32: the fix-up table, or a report of what led to it. */
static int any_trap(struct trap_frame *frame)
{
    if (extable_fixup(frame))
        return 1;
    irq_disable();
    for (u32 i = 1; i <= HISTORY; i++) {
        u32 k = (cases + i) % HISTORY;
        if (history[k])
            say("fuzz: case %u was %s", history_case[k], history[k]);
    }
    fail("unexpected trap %u (error code %#x) at eip %#x in case %u, cr2 %#x, esp %#x", frame->vector,
         frame->errcode, frame->eip, cases, frame->vector == 14 ? lguest_data.cr2 : 0, frame->esp_at_pusha + 20);
}

/* ------------------------------------------------------------ violations */

/* An address in a wild slot of the current directory, emptied (and announced) first. */
static u32 unmapped_va(void)
{
    u32 slot = wild_slot();
    *pde_of(cur, slot) = 0;
    barrier();
    set_pgd(cur, slot);
    return wild_va(slot) + below(PAGE_SIZE / 4) * 4;
}

static const u32 valid_calls_mask = (1u << LHCALL_FLUSH_ASYNC) | (1u << LHCALL_LGUEST_INIT) | (1u << LHCALL_SHUTDOWN) |
                                    (1u << LHCALL_NEW_PGTABLE) | (1u << LHCALL_FLUSH_TLB) |
                                    (1u << LHCALL_LOAD_IDT_ENTRY) | (1u << LHCALL_SET_STACK) | (1u << LHCALL_TS) |
                                    (1u << LHCALL_SET_CLOCKEVENT) | (1u << LHCALL_HALT) | (1u << LHCALL_SET_PMD) |
                                    (1u << LHCALL_SET_PTE) | (1u << LHCALL_SET_PGD) | (1u << LHCALL_LOAD_TLS) |
                                    (1u << LHCALL_NOTIFY) | (1u << LHCALL_LOAD_GDT_ENTRY) |
                                    (1u << LHCALL_SEND_INTERRUPTS);

static u32 bad_call_number(void)
{
    u32 n;
    do
        n = pct(60) ? below(256) : rnd();
    while (n < 32 && (valid_calls_mask & (1u << n)));
    return n;
}

/* An address where no range of len bytes lies inside RAM. */
static u32 past_ram(u32 len)
{
    switch (below(4)) {
    case 0:
        return mem_size - len + 1 + below(len);
    case 1:
        return mem_size + below(SLOT_SIZE);
    case 2:
        return 0xFFFFFFFFu - below(0x4000);
    default:
        return mem_size + below(0xFFFFFFFFu - mem_size);
    }
}

static void bad_hcall(void)
{
    u32 n = bad_call_number();
    announce("hypercall %u", n);
    hcall(n, rnd(), rnd(), rnd(), rnd());
}

static void bad_async(void)
{
    u32 n = bad_call_number();
    announce("hypercall %u through the ring", n);
    async_hcall(n, rnd(), rnd(), rnd(), rnd());
    hcall0(LHCALL_FLUSH_ASYNC);
}

static void bad_init(void)
{
    u32 a = pct(50) ? (u32)&lguest_data : rnd();
    announce("LGUEST_INIT(%#x) again", a);
    hcall1(LHCALL_LGUEST_INIT, a);
}

static void bad_shutdown(void)
{
    u32 a = past_ram(128); /* lguest reads 128 bytes */
    /* Never LGUEST_SHUTDOWN_RESTART: lguest restarts such a guest even when it cannot read the message. */
    u32 how = pct(50) ? LGUEST_SHUTDOWN_POWEROFF : rnd();
    if (how == LGUEST_SHUTDOWN_RESTART)
        how = 0;
    announce("SHUTDOWN(%#x, %u), its message past RAM", a, how);
    hcall2(LHCALL_SHUTDOWN, a, how);
}

static void bad_notify(void)
{
    u32 a = mem_size + below(0xFFFFFFFFu - mem_size);
    if (pct(30))
        a = mem_size;
    announce("NOTIFY %#x", a);
    hcall1(LHCALL_NOTIFY, a);
}

static void bad_new_pgtable(void)
{
    u32 a;
    const char *what;
    switch (below(4)) {
    case 0:
        a = past_ram(4);
        what = "past RAM";
        break;
    case 1:
        a = zero_dir + (pct(50) ? 0 : below(PAGE_SIZE));
        what = "mapping nothing";
        break;
    case 2:
        a = bad_dir;
        what = "with a bad entry for the code";
        break;
    default:
        a = below(0x100);
        what = "at the boot data";
    }
    announce("NEW_PGTABLE(%#x), a directory %s", a, what);
    hcall1(LHCALL_NEW_PGTABLE, a);
    go(cur);
}

static void bad_set_pgd(void)
{
    u32 i = pct(50) ? 1024 + below(4096) : 1024 + below(0xFFFFFFFFu - 1024);
    announce("SET_PGD index %u", i);
    set_pgd(pick_dir(), i);
}

static void bad_switcher_pte(void)
{
    u32 va = SWITCHER_ADDR + below(SLOT_SIZE), pte = pct(50) ? rnd() : FRAME(hot[0]) | PTE_FLAGS;
    announce("SET_PTE(%#x, %#x) in the Host's top 4 MiB", va, pte);
    hcall3(LHCALL_SET_PTE, dirs[pick_dir()], va, pte);
}

/* An entry lguest refuses in a playground page of the current directory, then a touch. */
static void bad_pte(void)
{
    u32 page = play_page();
    volatile u32 *slot = play_pte(cur, page);
    u32 old = *slot, pte;
    if (pct(50))
        pte = (host_frame() << PAGE_SHIFT) | pte_flags() | F_P | F_A;
    else
        pte = page | pte_flags() | F_P | F_A | F_PSE;
    announce("SET_PTE(%#x, %#x), then a touch", page, pte);
    *slot = pte;
    barrier();
    set_pte(cur, page, pte);
    u32 got;
    probe_read(page, &got);
    *slot = old;
    barrier();
    set_pte(cur, page, old);
}

/* A directory entry lguest refuses, announced with SET_PGD and touched. */
static void bad_pde(void)
{
    static const u32 foreign[] = {F_PSE, F_PWT, F_PCD, F_G, 0x200, 0x400, 0x800};
    int play = pct(50);
    u32 slot = play ? PLAY_SLOT0 + below(PLAY_SLOTS) : wild_slot();
    volatile u32 *pde = pde_of(cur, slot);
    u32 old = *pde, bad;
    u32 table = play ? play_pt[cur][slot - PLAY_SLOT0] : wild_pt[below(NWILD)];
    if (pct(50))
        bad = table | F_P | F_RW | F_A | foreign[below(ARRAY_SIZE(foreign))];
    else
        bad = (device_frame() << PAGE_SHIFT) | F_P | F_RW | F_A;
    u32 va = (slot << 22) | (below(1024) << PAGE_SHIFT);
    announce("directory entry %u = %#x, then a touch of %#x", slot, bad, va);
    *pde = bad;
    barrier();
    set_pgd(cur, slot);
    u32 got;
    probe_read(va, &got);
    *pde = old;
    barrier();
    set_pgd(cur, slot);
}

/* A wild table entry with a frame in the Host's top 4 MiB or PSE, then a touch. */
static void bad_wild_pte(void)
{
    u32 slot = wild_slot(), va = wild_va(slot);
    u32 pt = wild_table(cur, slot);
    volatile u32 *e = (volatile u32 *)(pt + ((va >> PAGE_SHIFT) & 1023) * 4);
    u32 old = *e;
    u32 pte = pct(50) ? (host_frame() << PAGE_SHIFT) | F_P | F_RW | F_A : (device_frame() << PAGE_SHIFT) | F_P | F_PSE;
    announce("entry %#x for %#x above RAM, then a touch", pte, va);
    *e = pte;
    barrier();
    if (pct(50))
        set_pte(cur, va, pte);
    u32 got;
    probe_read(va, &got);
    *e = old;
    barrier();
    set_pte(cur, va, old);
}

static void bad_idt(void)
{
    u32 r = below(3);
    if (r == 0) {
        u32 v = 256 + below(0xFFFFFFFFu - 256);
        announce("LOAD_IDT_ENTRY %u", v);
        hcall3(LHCALL_LOAD_IDT_ENTRY, v, rnd(), rnd());
    } else if (r == 1) {
        u32 v, type;
        do
            v = below(256);
        while (v == 2 || v == 8 || v == 15 || v == LGUEST_TRAP_ENTRY);
        do
            type = below(16);
        while (type == 0xE || type == 0xF);
        announce("LOAD_IDT_ENTRY %u of type %#x", v, type);
        hcall3(LHCALL_LOAD_IDT_ENTRY, v, rnd(), (rnd() & ~0xF00u) | 0x8000u | (type << 8));
        if (v < NR_TRAP_VECTORS)
            load_gate(v, trap_stub(v), KERNEL_CS, 0xE, 0);
    } else {
        static const u32 used[3] = {0, 13, 14};
        u32 v = used[below(3)];
        announce("no gate for vector %u, then that trap", v);
        hcall3(LHCALL_LOAD_IDT_ENTRY, v, rnd(), rnd() & ~0x8000u);
        u32 got;
        if (v == 0)
            provoke_divide_error();
        else if (v == 13)
            ((void (*)(void))(int_stubs + 8 * SYSCALL_VECTOR))(); /* no gate: #GP */
        else
            probe_read(unmapped_va(), &got);
        load_gate(v, trap_stub(v), KERNEL_CS, 0xE, 0);
    }
}

static void bad_gdt(void)
{
    u32 r = below(4);
    if (r == 0) {
        u32 n = 32 + below(0xFFFFFFFFu - 32);
        announce("LOAD_GDT_ENTRY %u", n);
        hcall3(LHCALL_LOAD_GDT_ENTRY, n, rnd(), rnd());
    } else if (r == 1) {
        static const u32 slots[] = {0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 12, 13, 14, 15, 17, 20, 24, 30};
        u32 n = slots[below(ARRAY_SIZE(slots))];
        u32 type = below(16);
        struct desc d = make_desc(rnd(), rnd() & 0xFFFFF, 0x80 | (below(4) << 5) | type, rnd() & 0xF);
        announce("LOAD_GDT_ENTRY %u with system descriptor type %#x", n, type);
        hcall3(LHCALL_LOAD_GDT_ENTRY, n, d.lo, d.hi);
    } else {
        /* Our own CS or DS made unusable: the next entry to the guest cannot load it. */
        u32 cs = r == 2;
        struct desc d = kernel_segment(cs, 1);
        const char *what;
        if (pct(50)) {
            d.hi &= ~0x8000u;
            what = "not present";
        } else if (cs) {
            d = kernel_segment(0, 1);
            what = "a data segment";
        } else {
            d = make_desc(0, 0xFFFFF, 0x98 | (1 << 5), 0xC);
            what = "execute-only code";
        }
        u32 n = cs ? GDT_ENTRY_KERNEL_CS : GDT_ENTRY_KERNEL_DS;
        announce("LOAD_GDT_ENTRY %u (the kernel's %s), %s", n, cs ? "CS" : "DS", what);
        hcall3(LHCALL_LOAD_GDT_ENTRY, n, d.lo, d.hi);
        d = kernel_segment(cs, 1);
        hcall3(LHCALL_LOAD_GDT_ENTRY, n, d.lo, d.hi);
    }
}

static void bad_tls(void)
{
    if (pct(50)) {
        u32 a = past_ram(24);
        announce("LOAD_TLS from %#x", a);
        hcall1(LHCALL_LOAD_TLS, a);
    } else {
        struct desc *t = (struct desc *)desc_buf;
        for (u32 i = 0; i < 3; i++)
            t[i] = random_segment();
        u32 i = below(3), type = below(16);
        t[i] = make_desc(rnd(), rnd() & 0xFFFFF, 0x80 | (below(4) << 5) | type, rnd() & 0xF);
        barrier();
        announce("LOAD_TLS with a system descriptor (type %#x) in entry %u", type, 6 + i);
        hcall1(LHCALL_LOAD_TLS, desc_buf);
    }
}

static void restore_stack(void)
{
    hcall3(LHCALL_SET_STACK, KERNEL_DS | GUEST_PL, (u32)stack_top, stack_pages_set);
}

static void bad_set_stack(void)
{
    u32 r = below(3);
    if (r == 0) {
        u32 seg = (rnd() & 0xFFFC) | (pct(50) ? 0 : 2 + below(2));
        announce("SET_STACK segment %#x", seg);
        hcall3(LHCALL_SET_STACK, seg, (u32)stack_top, 1);
    } else if (r == 1) {
        u32 pages = 3 + below(0xFFFFFFF0u);
        announce("SET_STACK of %u pages", pages);
        hcall3(LHCALL_SET_STACK, KERNEL_DS | GUEST_PL, (u32)stack_top, pages);
    } else {
        u32 esp;
        switch (below(3)) {
        case 0:
            esp = SWITCHER_ADDR + below(SLOT_SIZE);
            break;
        case 1:
            esp = below(PAGE_SIZE) + 1; /* its second page is 0xFFFFF000 */
            break;
        default: {
            u32 slot = wild_slot();
            esp = wild_va(slot) + PAGE_SIZE;
            if (*pde_of(cur, slot) & F_P)
                esp = SWITCHER_ADDR + PAGE_SIZE;
        }
        }
        announce("SET_STACK at %#x, where nothing is mapped", esp);
        hcall3(LHCALL_SET_STACK, KERNEL_DS | GUEST_PL, esp, 2);
    }
    restore_stack();
}

/* A trap on a stack the Host cannot push a frame to. */
static void bad_stack_game(void)
{
    u32 esp;
    const char *what;
    switch (below(5)) {
    case 0:
        esp = below(16);
        what = "at the bottom of RAM";
        break;
    case 1:
        esp = SWITCHER_ADDR + below(SLOT_SIZE);
        what = "in the Host's top 4 MiB";
        break;
    case 2:
        esp = 0xFFFFFFFFu - below(16);
        what = "at the top of the address space";
        break;
    case 3: {
        /* Mapped onto the device region, a few bytes into the page. */
        u32 slot = wild_slot(), va = wild_va(slot);
        u32 pt = wild_table(cur, slot);
        u32 pte = (device_frame() << PAGE_SHIFT) | F_P | F_RW | F_A | F_D;
        wr32(pt + ((va >> PAGE_SHIFT) & 1023) * 4, pte);
        barrier();
        set_pte(cur, va, pte);
        esp = va + below(8);
        what = "on device memory";
        break;
    }
    default: {
        esp = unmapped_va();
        what = "where nothing is mapped";
    }
    }
    announce("a trap with the stack at %#x, %s", esp, what);
    stack_game(esp);
}

static const struct op bad_ops[] = {
    OP(bad_hcall, 1), OP(bad_async, 1), OP(bad_init, 1),     OP(bad_shutdown, 1),  OP(bad_notify, 1),
    OP(bad_new_pgtable, 1), OP(bad_set_pgd, 1), OP(bad_switcher_pte, 1), OP(bad_pte, 1), OP(bad_pde, 1),
    OP(bad_wild_pte, 1), OP(bad_idt, 1), OP(bad_gdt, 1), OP(bad_tls, 1), OP(bad_set_stack, 1),
    OP(bad_stack_game, 1),
};

/* ------------------------------------------------------------ main */

static void setup(void)
{
    limit_pfn = mem_size >> PAGE_SHIFT;
    wild_first = (mem_size + SLOT_SIZE - 1) >> 22;
    if (mem_size < PLAY_END || wild_first > 767)
        fail("needs 16 MiB to 3 GiB of RAM, not %u KiB", mem_size >> 10);
    for (u32 d = 0; d < NDIRS; d++) {
        dirs[d] = pgdir_identity_private(PLAY_BASE, PLAY_END);
        for (u32 s = 0; s < PLAY_SLOTS; s++)
            play_pt[d][s] = FRAME(*pde_of(d, PLAY_SLOT0 + s));
    }
    for (u32 w = 0; w < NWILD; w++)
        wild_pt[w] = page_alloc();
    zero_dir = page_alloc();
    if (page_alloc() != zero_dir + PAGE_SIZE)
        fail("internal: the empty directory is not two pages");
    bad_dir = page_alloc();
    wr32(bad_dir, pct(50) ? (limit_pfn << PAGE_SHIFT) | PDE_FLAGS : (u32)_image_start | PDE_FLAGS | F_PSE);
    desc_buf = page_alloc();
    if (page_alloc() >= PLAY_BASE)
        fail("internal: the setup reaches the playground");

    static const u32 fixed[4] = {0, 767, 768, 1022};
    wild_slots[0] = wild_first;
    for (u32 i = 1; i < NWILD_SLOTS; i++)
        wild_slots[i] = i < 4 ? fixed[i] : wild_first + below(SWITCHER_SLOT - wild_first);
    for (u32 i = 0; i < NHOT; i++)
        hot[i] = PLAY_BASE + below(PLAY_PAGES) * PAGE_SIZE;
    go(0);
    switches = 0;
}

static u32 total_weight;

static void safe_act(void)
{
    u32 r = below(total_weight);
    for (u32 i = 0; i < ARRAY_SIZE(safe_ops); i++) {
        if (r < safe_ops[i].weight) {
            remember(safe_ops[i].name);
            safe_ops[i].fn();
            return;
        }
        r -= safe_ops[i].weight;
    }
}

void main(void)
{
    guest_init();
    if (boot_problem)
        fail("%s", boot_problem);
    traps_init();
    for (u32 v = 0; v < NR_TRAP_VECTORS; v++)
        gate_present[v] = !(v == 2 || v == 8 || v == 15 || v == LGUEST_TRAP_ENTRY);
    for (u32 v = 0; v < FIRST_EXTERNAL_VECTOR; v++)
        set_trap_handler(v, any_trap);
    seed = param("seed", seed);
    total_cases = param("cases", total_cases);
    bad_rate = param("bad", bad_rate);
    trace_from = param("trace", trace_from);
    known = param("known", known);
    if (bad_rate > 10000)
        bad_rate = 10000;
    seed_rng(seed);
    for (u32 i = 0; i < ARRAY_SIZE(safe_ops); i++)
        total_weight += safe_ops[i].weight;
    setup();
    say("fuzz: seed %u, %u cases, %u violations in 10000, %u KiB of RAM%s", seed, total_cases, bad_rate,
        mem_size >> 10, known ? ", acts that meet known Host bugs included" : "");

    for (cases = 1; cases <= total_cases; cases++) {
        if (below(10000) < bad_rate) {
            const struct op *op = &bad_ops[below(ARRAY_SIZE(bad_ops))];
            remember(op->name);
            op->fn();
            survived++; /* still here */
        } else {
            safe_act();
        }
        if (cases % 1000 == 0)
            say("fuzz: %u cases", cases);
    }
    cases = total_cases;
    if (cases % 1000 != 0)
        say("fuzz: %u cases", cases);
    say("fuzz: %u touches worked, %u faulted (%u device traps, %u stale), %u top reads, %u top writes, "
        "%u switches, %u int n, %u stack games, %u halts, %u violations survived of %u",
        touch_ok, touch_fault, device_traps, stale_hits, top_reads, top_writes, switches, int_ns, games, halts,
        survived, violations);
    pass();
}
