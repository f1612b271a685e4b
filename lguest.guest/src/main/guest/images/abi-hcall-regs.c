/*
 * abi-hcall-regs: hypercall arguments arrive from EBX, ECX, EDX and ESI
 * (Linux 4.x), and the Host writes no register back. Each call is made with
 * every register set by hand to a distinctive value, so a Host reading the
 * arguments elsewhere kills the guest or gets a visibly wrong effect.
 */
#include "rt.h"

IMAGE("abi-hcall-regs");

#define GDT_ENTRY_TEST 24
#define SCRATCH_VECTOR 50   /* a stub of ours the divide error is rerouted to */

struct regs {
    u32 eax, ebx, ecx, edx, esi, edi, ebp;
};

/* int $0x1f with every register from *r; *r then holds the registers after. */
void raw_hcall(struct regs *r);
__asm__(".text\n"
        ".globl raw_hcall\n"
        ".type raw_hcall, @function\n"
        "raw_hcall:\n\t"
        "pushl %ebp\n\t"
        "pushl %ebx\n\t"
        "pushl %esi\n\t"
        "pushl %edi\n\t"
        "movl 20(%esp), %eax\n\t"
        "pushl %eax\n\t"
        "movl 4(%eax), %ebx\n\t"
        "movl 8(%eax), %ecx\n\t"
        "movl 12(%eax), %edx\n\t"
        "movl 16(%eax), %esi\n\t"
        "movl 20(%eax), %edi\n\t"
        "movl 24(%eax), %ebp\n\t"
        "movl (%eax), %eax\n\t"
        "int $0x1f\n\t"
        "xchgl %eax, (%esp)\n\t"
        "movl %ebx, 4(%eax)\n\t"
        "movl %ecx, 8(%eax)\n\t"
        "movl %edx, 12(%eax)\n\t"
        "movl %esi, 16(%eax)\n\t"
        "movl %edi, 20(%eax)\n\t"
        "movl %ebp, 24(%eax)\n\t"
        "popl (%eax)\n\t"
        "popl %edi\n\t"
        "popl %esi\n\t"
        "popl %ebx\n\t"
        "popl %ebp\n\t"
        "ret\n"
        ".size raw_hcall, . - raw_hcall\n");

static const char *const reg_names[] = {"EAX", "EBX", "ECX", "EDX", "ESI", "EDI", "EBP"};

/* The call with r's registers; every register must come back unchanged. */
static void call_unchanged(const char *name, struct regs r)
{
    struct regs after = r;
    raw_hcall(&after);
    const u32 *want = &r.eax, *got = &after.eax;
    for (u32 i = 0; i < ARRAY_SIZE(reg_names); i++)
        if (want[i] != got[i])
            fail("%s changed %s from %#x to %#x", name, reg_names[i], want[i], got[i]);
}

static u32 gdt_word ALIGNED(16) = 0xAB1C0DE5;
static volatile u32 rerouted, ticks;

static int rerouted_trap(struct trap_frame *frame)
{
    rerouted++;
    return extable_fixup(frame);
}

static int timer_irq(struct trap_frame *frame)
{
    (void)frame;
    ticks++;
    return 1;
}

void main(void)
{
    guest_init();
    if (boot_problem)
        fail("%s", boot_problem);
    traps_init();

    /* LOAD_GDT_ENTRY(24, lo, hi): an old-ABI Host would take hi (EDX) as the index. */
    struct desc d = make_desc((u32)&gdt_word, 0xFFFFF, 0xB3, 0xC);
    call_unchanged("LOAD_GDT_ENTRY", (struct regs){LHCALL_LOAD_GDT_ENTRY, GDT_ENTRY_TEST, d.lo, d.hi, 0xE51E51E5,
                                                   0xD1D1D1D1, 0xB9B9B9B9});
    u32 got = read_fs(GDT_ENTRY_TEST * 8 | GUEST_PL, 0);
    clear_fs_gs();
    if (got != gdt_word)
        fail("LOAD_GDT_ENTRY: %%fs read %#x through entry %u, not %#x", got, GDT_ENTRY_TEST, gdt_word);
    say("abi-hcall-regs: LOAD_GDT_ENTRY took EBX, ECX, EDX; EAX and the other registers unchanged");

    /* LOAD_IDT_ENTRY(0, lo, hi): vector 0 now leads to the stub of vector 50. */
    u32 lo, hi;
    make_gate(trap_stub(SCRATCH_VECTOR), KERNEL_CS, &lo, &hi);
    set_trap_handler(SCRATCH_VECTOR, rerouted_trap);
    call_unchanged("LOAD_IDT_ENTRY", (struct regs){LHCALL_LOAD_IDT_ENTRY, 0, lo, hi, 0x5A5A5A5A, 0x600DF00D,
                                                   0x0BADCAFE});
    u32 divide_errors = trap_count[0];
    provoke_divide_error();
    if (rerouted != 1 || trap_count[0] != divide_errors)
        fail("LOAD_IDT_ENTRY: the divide error went to vector 0's old gate (%u rerouted)", rerouted);
    make_gate(trap_stub(0), KERNEL_CS, &lo, &hi);
    hcall3(LHCALL_LOAD_IDT_ENTRY, 0, lo, hi);
    say("abi-hcall-regs: LOAD_IDT_ENTRY took EBX, ECX, EDX; a divide error went to the new gate");

    /* SET_CLOCKEVENT(100 us) with EDX = 0: a Host reading EDX would stop the clock. */
    set_trap_handler(FIRST_EXTERNAL_VECTOR + 0, timer_irq);
    irq_disable();
    call_unchanged("SET_CLOCKEVENT", (struct regs){LHCALL_SET_CLOCKEVENT, 100000, 0, 0, 0, 0x1D1D1D1D, 0x2B2B2B2B});
    for (u32 i = 0; i < 100000 && !lguest_data.irq_pending; i++)
        hcall0(LHCALL_FLUSH_ASYNC);
    if (!lguest_data.irq_pending)
        fail("SET_CLOCKEVENT: no timer interrupt after 100000 exits; the delta must come from EBX");
    irq_enable();
    if (ticks != 1)
        fail("SET_CLOCKEVENT: %u timer interrupts, not 1", ticks);
    irq_disable();
    say("abi-hcall-regs: SET_CLOCKEVENT took its delta from EBX (EDX was 0)");
    pass();
}
