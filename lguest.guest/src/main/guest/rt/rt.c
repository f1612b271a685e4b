/*
 * The C part of the runtime: boot data, lguest_data and INIT, the
 * asynchronous ring, the console, interrupts and traps.
 */
#include "rt.h"

extern char lguest_noirq_iret[];
extern char trap_stubs[];
extern const u32 __extable_start[], __extable_end[];

/*
 * The page shared with the Host. Everything the Host reads at INIT is
 * filled in statically, so it is right before the first hypercall: the
 * ring is empty (0xFF), the iret the Host must know is named, interrupts start
 * disabled (enabled only once an image has its IDT), nothing is blocked.
 */
volatile struct lguest_data lguest_data ALIGNED(4096) = {
    .irq_enabled = 0,
    .hcall_status = {[0 ... LHCALL_RING_SIZE - 1] = 0xFF},
    .noirq_iret = (u32)lguest_noirq_iret,
    .kernel_address = GUEST_KERNEL_ADDRESS,
    .syscall_vec = SYSCALL_VECTOR,
};

/* ---------------------------------------------------------------- boot */

u32 mem_size;
u32 boot_subarch;
u32 boot_e820_count;
u32 boot_cmdline_ptr;
char boot_cmdline[256];
const char *boot_problem;
static char boot_problem_text[120];

/* Page 0 is a fixed physical address; keep the compiler from reasoning
 * about "null" pointers by laundering the address through asm. */
static inline u32 peek32(u32 addr)
{
    volatile u32 *p;
    __asm__("" : "=r"(p) : "0"(addr));
    return *p;
}

static inline u8 peek8(u32 addr)
{
    volatile u8 *p;
    __asm__("" : "=r"(p) : "0"(addr));
    return *p;
}

static void parse_boot_params(void)
{
    /*G:020
     * The guest reads the boot data at physical 0 as a Linux kernel would: the e820 map gives the size of
     * RAM, hardware_subarch says lguest, cmd_line_ptr leads to the command line.
     */
    u32 n = peek8(BP_E820_ENTRIES);
    boot_e820_count = n;
    boot_subarch = peek32(BP_HARDWARE_SUBARCH);
    if (n > E820_MAX_ENTRIES)
        n = E820_MAX_ENTRIES;
    for (u32 i = 0; i < n; i++) {
        u32 e = BP_E820_MAP + i * E820_ENTRY_SIZE;
        u32 addr_lo = peek32(e), addr_hi = peek32(e + 4);
        u32 size_lo = peek32(e + 8), size_hi = peek32(e + 12);
        u32 type = peek32(e + 16);
        if (type != E820_RAM || addr_lo != 0 || addr_hi != 0)
            continue;
        /* RAM can never reach the Host's top 4 MiB. */
        u32 size = (size_hi != 0 || size_lo > SWITCHER_ADDR) ? SWITCHER_ADDR : size_lo;
        mem_size = size & ~(PAGE_SIZE - 1);
        break;
    }
    boot_cmdline_ptr = peek32(BP_CMD_LINE_PTR);
    if (boot_cmdline_ptr != 0 && boot_cmdline_ptr < mem_size) {
        u32 i;
        for (i = 0; i < sizeof(boot_cmdline) - 1 && boot_cmdline_ptr + i < mem_size; i++) {
            char c = (char)peek8(boot_cmdline_ptr + i);
            if (c == 0)
                break;
            boot_cmdline[i] = c;
        }
        boot_cmdline[i] = 0;
    }

    /* What every image needs: RAM from 0 that holds it. (hello checks the rest.) */
    if (mem_size == 0)
        format(boot_problem_text, sizeof(boot_problem_text),
               "no e820 RAM entry starting at 0 (%u entries)", boot_e820_count);
    else if (mem_size < (u32)_end)
        format(boot_problem_text, sizeof(boot_problem_text),
               "RAM (%#x bytes) ends below the image end %#x", mem_size, (u32)_end);
    if (boot_problem_text[0])
        boot_problem = boot_problem_text;
}

/* Called from _start with the stack set and the BSS clear. */
NORETURN void rt_start(void);
NORETURN void rt_start(void)
{
    parse_boot_params();
    main();
    fail("main() returned without a verdict");
}

void guest_init(void)
{
    /*G:030
     * The hypercall every guest makes first: it tells the Host where lguest_data lives, the page both sides
     * share.
     */
    hcall1(LHCALL_LGUEST_INIT, (u32)&lguest_data);
}

/* ------------------------------------------------------- the async ring */

unsigned int async_next;

int async_hcall(u32 call, u32 arg1, u32 arg2, u32 arg3, u32 arg4)
{
    /* No interrupt handler may queue a call while we are filling a slot. */
    u32 saved = lguest_data.irq_enabled;
    int queued;
    irq_disable();
    unsigned int n = async_next;
    if (lguest_data.hcall_status[n] != 0xFF) {
        /* Full: a synchronous call makes the Host run the ring first. */
        hcall(call, arg1, arg2, arg3, arg4);
        queued = 0;
    } else {
        volatile struct hcall_args *slot = &lguest_data.hcalls[n];
        slot->arg0 = call;
        slot->arg1 = arg1;
        slot->arg2 = arg2;
        slot->arg3 = arg3;
        slot->arg4 = arg4;
        barrier(); /* the arguments before the status byte */
        lguest_data.hcall_status[n] = 0;
        async_next = (n + 1) % LHCALL_RING_SIZE;
        queued = 1;
    }
    if (saved)
        irq_enable();
    return queued;
}

/* ------------------------------------------------------------ console */

void (*say_hook)(const char *line, u32 len);

void say(const char *fmt, ...)
{
    char buf[240];
    __builtin_va_list ap;
    __builtin_va_start(ap, fmt);
    int n = vformat(buf, sizeof(buf) - 1, fmt, ap);
    __builtin_va_end(ap);
    buf[n] = '\n';
    buf[n + 1] = 0;
    if (say_hook)
        say_hook(buf, (u32)n + 1);
    else
        /*G:040
         * Without a virtio console, a line goes out as a NOTIFY of its address; no eventfd claims that
         * address, so the Launcher prints it.
         */
        hcall1(LHCALL_NOTIFY, (u32)buf);
}

NORETURN void power_off(void)
{
    /*G:110
     * The end: LHCALL_SHUTDOWN with a message; the Host kills the guest and keeps the message for the
     * Launcher.
     */
    hcall2(LHCALL_SHUTDOWN, (u32) "Power down", LGUEST_SHUTDOWN_POWEROFF);
    for (;;)
        hcall0(LHCALL_HALT);
}

NORETURN void restart(void)
{
    hcall2(LHCALL_SHUTDOWN, (u32) "Restart", LGUEST_SHUTDOWN_RESTART);
    for (;;)
        hcall0(LHCALL_HALT);
}

NORETURN void pass(void)
{
    say("PASS %s", image_name);
    power_off();
}

NORETURN void fail(const char *fmt, ...)
{
    char why[180];
    __builtin_va_list ap;
    __builtin_va_start(ap, fmt);
    vformat(why, sizeof(why), fmt, ap);
    __builtin_va_end(ap);
    irq_disable();
    say_hook = 0; /* the early console: whatever broke may be the virtio console */
    say("FAIL %s: %s", image_name, why);
    power_off();
}

/* --------------------------------------------------------- interrupts */

void irq_enable(void)
{
    lguest_data.irq_enabled = X86_EFLAGS_IF;
    barrier();
    if (lguest_data.irq_pending)
        hcall0(LHCALL_SEND_INTERRUPTS);
}

/*
 * Linux's lguest idle loop: HALT with interrupts disabled (the Host wakes a
 * halted guest for any pending interrupt and, as lguest did, turns
 * interrupts on to deliver it, so none is lost between our check and the
 * HALT). Afterwards enable and make one SEND_INTERRUPTS so that a Host which
 * only woke us still gets an exit with interrupts on to deliver at.
 */
void wait_for_interrupt(void)
{
    hcall0(LHCALL_HALT);
    lguest_data.irq_enabled = X86_EFLAGS_IF;
    barrier();
    hcall0(LHCALL_SEND_INTERRUPTS);
    irq_disable();
}

/* -------------------------------------------------------------- traps */

volatile u32 trap_count[NR_TRAP_VECTORS];
volatile u32 last_vector = 0xFFFFFFFFu, last_errcode, last_eip, last_cr2;
volatile u32 unexpected_irqs;
volatile u32 fixups;
static trap_handler handlers[NR_TRAP_VECTORS];

u32 trap_stub(unsigned int vector)
{
    return (u32)trap_stubs + 16 * vector;
}

void make_gate(u32 handler, u32 selector, u32 *lo, u32 *hi)
{
    *lo = (selector << 16) | (handler & 0xFFFF);
    *hi = (handler & 0xFFFF0000) | 0x8E00; /* present, DPL 0, 32-bit interrupt gate */
}

void traps_init(void)
{
    /*G:060
     * The guest's IDT is the Host's copy: one LHCALL_LOAD_IDT_ENTRY per vector, each pointing at its stub.
     */
    for (unsigned int v = 0; v < NR_TRAP_VECTORS; v++) {
        /* NMI, double fault, vector 15 and the hypercall trap are the Host's. */
        if (v == 2 || v == 8 || v == 15 || v == LGUEST_TRAP_ENTRY)
            continue;
        u32 lo, hi;
        make_gate(trap_stub(v), KERNEL_CS, &lo, &hi);
        hcall3(LHCALL_LOAD_IDT_ENTRY, v, lo, hi);
    }
}

void set_trap_handler(unsigned int vector, trap_handler handler)
{
    if (vector < NR_TRAP_VECTORS)
        handlers[vector] = handler;
}

int extable_fixup(struct trap_frame *frame)
{
    for (const u32 *e = __extable_start; e < __extable_end; e += 2) {
        if (e[0] == frame->eip) {
            frame->eip = e[1];
            fixups++;
            return 1;
        }
    }
    return 0;
}

void trap_dispatch(struct trap_frame *frame);
void trap_dispatch(struct trap_frame *frame)
{
    u32 v = frame->vector;
    if (v < NR_TRAP_VECTORS)
        trap_count[v]++;
    last_vector = v;
    last_errcode = frame->errcode;
    last_eip = frame->eip;
    if (v == 14)
        last_cr2 = lguest_data.cr2;
    if (v < NR_TRAP_VECTORS && handlers[v] && handlers[v](frame))
        return;
    if (v < FIRST_EXTERNAL_VECTOR) {
        if (extable_fixup(frame))
            return;
        fail("unexpected trap %u (error code %#x) at eip %#x, cr2 %#x", v, frame->errcode,
             frame->eip, v == 14 ? last_cr2 : 0);
    }
    /* An interrupt nobody asked for (a device, say): note it and go on. */
    unexpected_irqs++;
}

void provoke_divide_error(void)
{
    __asm__ __volatile__("xorl %%edx, %%edx\n\t"
                         "movl $1, %%eax\n\t"
                         "xorl %%ecx, %%ecx\n"
                         "1:\tdivl %%ecx\n"
                         "2:\n\t" EXTABLE(1b, 2b)
                         :
                         :
                         : "eax", "ecx", "edx", "memory", "cc");
}

void provoke_gp_hlt(void)
{
    __asm__ __volatile__("1:\thlt\n"
                         "2:\n\t" EXTABLE(1b, 2b)
                         :
                         :
                         : "memory");
}

void provoke_gp_segment(void)
{
    __asm__ __volatile__("1:\tmovw %w0, %%ss\n"
                         "2:\n\t" EXTABLE(1b, 2b)
                         :
                         : "r"(KERNEL_CS | GUEST_PL)
                         : "memory");
}

/* -------------------------------------------------------- descriptors */

struct desc make_desc(u32 base, u32 limit, u32 access, u32 flags)
{
    struct desc d;
    d.lo = (limit & 0xFFFF) | (base << 16);
    d.hi = ((base >> 16) & 0xFF) | ((access & 0xFF) << 8) | (limit & 0xF0000) | ((flags & 0xF) << 20) |
           (base & 0xFF000000);
    return d;
}

u32 read_fs(u32 sel, u32 offset)
{
    u32 v;
    __asm__ __volatile__("movw %w1, %%fs\n\tmovl %%fs:(%2), %0" : "=r"(v) : "r"(sel), "r"(offset) : "memory");
    return v;
}

u32 read_gs(u32 sel, u32 offset)
{
    u32 v;
    __asm__ __volatile__("movw %w1, %%gs\n\tmovl %%gs:(%2), %0" : "=r"(v) : "r"(sel), "r"(offset) : "memory");
    return v;
}

void write_gs(u32 sel, u32 offset, u32 value)
{
    __asm__ __volatile__("movw %w0, %%gs\n\tmovl %2, %%gs:(%1)" : : "r"(sel), "r"(offset), "r"(value) : "memory");
}

u32 read_cs(void)
{
    u32 cs;
    __asm__ __volatile__("movl %%cs, %0" : "=r"(cs));
    return cs & 0xFFFF;
}

int load_access_rights(u32 sel, u32 *ar)
{
    u32 value = 0;
    unsigned char ok;
    __asm__ __volatile__("larl %2, %0\n\tsetz %1" : "+r"(value), "=q"(ok) : "r"(sel) : "cc");
    *ar = value;
    return ok;
}

void clear_fs_gs(void)
{
    __asm__ __volatile__("movw %w0, %%fs\n\tmovw %w0, %%gs" : : "r"(0) : "memory");
}
