/*
 * The guest runtime: what every image links against.
 *
 * Conventions: the images run at ring 1 with virtual == physical for every
 * address the runtime hands out (the Host's linear mapping at first, then
 * the images' own identity-mapping page tables), so a pointer is also the
 * guest-physical address the Host wants.
 */
#ifndef LGUEST_GUEST_RT_H
#define LGUEST_GUEST_RT_H

#include "lguest.h"

#define NORETURN __attribute__((noreturn))
#define PRINTF(a, b) __attribute__((format(printf, a, b)))
#define ALIGNED(n) __attribute__((aligned(n)))
#define barrier() __asm__ __volatile__("" ::: "memory")
#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

/* Each image names itself once: IMAGE("hello"). */
extern const char image_name[];
#define IMAGE(name) const char image_name[] = name

/* The image's entry point, called after the boot data is parsed. */
void main(void);

/* ---- hypercalls ---- */
/* Returns EAX after the call: the call number, as no hypercall writes a register. */
static inline u32 hcall(u32 call, u32 arg1, u32 arg2, u32 arg3, u32 arg4)
{
    __asm__ __volatile__("int $0x1f"
                         : "+a"(call)
                         : "b"(arg1), "c"(arg2), "d"(arg3), "S"(arg4)
                         : "memory", "cc");
    return call;
}
#define hcall0(c)             hcall((c), 0, 0, 0, 0)
#define hcall1(c, a)          hcall((c), (a), 0, 0, 0)
#define hcall2(c, a, b)       hcall((c), (a), (b), 0, 0)
#define hcall3(c, a, b, d)    hcall((c), (a), (b), (d), 0)

/* Queue a call in lguest_data's ring. Returns 1 when queued, 0 when the ring
 * was full and the call was made synchronously instead (which also makes the
 * Host run everything queued before it). */
int async_hcall(u32 call, u32 arg1, u32 arg2, u32 arg3, u32 arg4);
/* The ring slot the next async_hcall will use. */
extern unsigned int async_next;

/* The shared page, registered by guest_init(). */
extern volatile struct lguest_data lguest_data;

/* LHCALL_LGUEST_INIT with &lguest_data. Must be the first hypercall. */
void guest_init(void);

/* ---- boot data (parsed from page 0 before main) ---- */
extern u32 mem_size;        /* end of the RAM entry that starts at 0; 0 if none */
extern u32 boot_subarch;    /* hardware_subarch */
extern u32 boot_e820_count; /* e820_entries */
extern u32 boot_cmdline_ptr;
extern char boot_cmdline[256];
extern const char *boot_problem; /* non-null when there is no usable RAM entry */

/* ---- console: one NOTIFY per line, the newline added here ---- */
void say(const char *fmt, ...) PRINTF(1, 2);
/* When set, say() (and so pass()) hands each line, newline included, to
 * this instead of the early console (a virtio console, see virtio.h).
 * fail() clears it and always uses the early console. */
extern void (*say_hook)(const char *line, u32 len);
/* "PASS <image>", then power off. */
NORETURN void pass(void);
/* "FAIL <image>: <why>", then power off. */
NORETURN void fail(const char *fmt, ...) PRINTF(1, 2);
NORETURN void power_off(void);              /* SHUTDOWN "Power down", POWEROFF */
NORETURN void restart(void);                /* SHUTDOWN "Restart", RESTART */
int vformat(char *buf, unsigned int size, const char *fmt, __builtin_va_list ap);
int format(char *buf, unsigned int size, const char *fmt, ...) PRINTF(3, 4);

/* ---- interrupts ---- */
static inline void irq_disable(void)
{
    lguest_data.irq_enabled = 0;
    barrier();
}
/* Enable, and if the Host left an interrupt pending, ask for it now. */
void irq_enable(void);
/* With interrupts disabled: HALT until an interrupt, let it in, disable again. */
void wait_for_interrupt(void);

struct trap_frame {
    /* pushal */
    u32 edi, esi, ebp, esp_at_pusha, ebx, edx, ecx, eax;
    /* the stub */
    u32 vector, errcode;
    /* the Host (as the CPU would): same privilege, so no ESP/SS */
    u32 eip, cs, eflags;
};
/* A handler returns nonzero when it dealt with the trap. */
typedef int (*trap_handler)(struct trap_frame *frame);

#define NR_TRAP_VECTORS 64
/* Load IDT entries 0-63 (all but 2, 8, 15 and 0x1f, which lguest keeps). */
void traps_init(void);
void set_trap_handler(unsigned int vector, trap_handler handler);
/* Build the lo/hi words of an interrupt gate (type 0xE, present, DPL 0). */
void make_gate(u32 handler, u32 selector, u32 *lo, u32 *hi);
/* The stub the runtime installs for a vector. */
u32 trap_stub(unsigned int vector);

extern volatile u32 trap_count[NR_TRAP_VECTORS];
extern volatile u32 last_vector, last_errcode, last_eip, last_cr2;
extern volatile u32 unexpected_irqs;

/* Exception fix-ups: an instruction at FROM that faults resumes at TO. */
#define EXTABLE(from, to) \
    ".pushsection .extable,\"a\"\n\t.long " #from ", " #to "\n\t.popsection\n\t"
int extable_fixup(struct trap_frame *frame);
extern volatile u32 fixups;

/* Faults on purpose, each skipped by its fix-up (see trap_count[]). */
void provoke_divide_error(void);   /* divl by zero: #DE (0) */
void provoke_gp_hlt(void);         /* hlt at ring 1: #GP(0) (lguest skips a cli instead) */
void provoke_gp_segment(void);     /* the kernel CS into %ss: #GP(0x60) */

/* Memory probes: 0 when the access worked, 1 when it faulted (any vector;
 * see last_vector / last_cr2 / last_errcode). */
int probe_read(u32 addr, u32 *value);
int probe_write(u32 addr, u32 value);

/* ---- pages and page tables (two-level, 4 KiB pages) ---- */
#define PDE_FLAGS 0x063u  /* present, rw, accessed, dirty (lguest allows 0x67 at most) */
#define PTE_FLAGS 0x063u  /* present, rw, accessed, dirty */
#define PTE_PRESENT 0x1u
#define PF_ERR_PRESENT 0x1u
#define PF_ERR_WRITE 0x2u

/* One zeroed page from the RAM after the image; fails the image when out. */
u32 page_alloc(void);
/* Fill a page with a word. */
void page_fill(u32 page, u32 word);
/* A new page directory mapping [0, min(mem_size, IDENTITY_LIMIT)) to
 * itself; the page tables behind it are shared by all such directories
 * (and must not be changed). */
#define IDENTITY_LIMIT 0x80000000u
u32 pgdir_identity(void);
/* The same, but the page tables covering [lo, hi) are the directory's own
 * copies (or empty ones, past RAM), free to change. */
u32 pgdir_identity_private(u32 lo, u32 hi);
/* A copy of a page table. */
u32 pt_copy(u32 pt);
/* The identity PTE for a page: its own address with PTE_FLAGS. */
#define IDENTITY_PTE(page) ((page) | PTE_FLAGS)
/* The PTE slot for va in pgdir, allocating a private page table if the
 * directory has none there; fails the image for a shared identity table. */
volatile u32 *pte_slot(u32 pgdir, u32 va);
/* Write a PTE (no hypercall). */
void pte_write(u32 pgdir, u32 va, u32 pte);
/* Write a PTE and tell the Host (SET_PTE pgdir, va, pte). */
void pte_set(u32 pgdir, u32 va, u32 pte);
/* NEW_PGTABLE. */
void switch_pgdir(u32 pgdir);
extern u32 current_pgdir; /* 0 while on the Host's linear mapping */
static inline volatile u32 *pde_slot(u32 pgdir, u32 va)
{
    return (volatile u32 *)(pgdir + (va >> 22) * 4);
}
static inline u32 rd32(u32 addr)
{
    return *(volatile u32 *)addr;
}
static inline void wr32(u32 addr, u32 value)
{
    *(volatile u32 *)addr = value;
}

/* Checks built on the probes; each fails the image with `what` in the reason. */
void expect_read(u32 va, u32 want, const char *what);   /* reads want */
void expect_fault(u32 va, const char *what);            /* a not-present #PF at va, cr2 right */
void expect_write_fault(u32 va, const char *what);      /* a write is a protection #PF at va */

/* ---- descriptors ---- */
/* An 8-byte segment descriptor as two words. access: P|DPL|S|type byte;
 * flags: G|D/B|L|AVL nibble. */
struct desc {
    u32 lo, hi;
};
struct desc make_desc(u32 base, u32 limit, u32 access, u32 flags);
/* Read/write 32 bits through a segment register loaded with sel. */
u32 read_fs(u32 sel, u32 offset);
u32 read_gs(u32 sel, u32 offset);
void write_gs(u32 sel, u32 offset, u32 value);
void clear_fs_gs(void);
/* The current CS selector. */
u32 read_cs(void);
/* lar: 1 and the access-rights word (bits 8-23 of the descriptor's high
 * word, so DPL at bits 13-14) when sel is visible at our ring, else 0. */
int load_access_rights(u32 sel, u32 *ar);
/* Far-return into code segment sel (running our own code at the same
 * offsets), read CS there, far-return to the kernel CS. Returns that CS,
 * or 0xFFFFFFFF when the far return into sel faulted. */
u32 run_through_segment(u32 sel);

/* ---- bits of libc ---- */
void *memset(void *dst, int c, unsigned int n);
void *memcpy(void *dst, const void *src, unsigned int n);
void *memmove(void *dst, const void *src, unsigned int n);
int memcmp(const void *a, const void *b, unsigned int n);
unsigned int strlen(const char *s);
int strcmp(const char *a, const char *b);

/* Stack (16 KiB, page-aligned) and the image's extent, from the linker script. */
extern char stack_bottom[], stack_top[];
extern char _image_start[], _end[];

#endif
