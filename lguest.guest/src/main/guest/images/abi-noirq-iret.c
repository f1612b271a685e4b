/*
 * abi-noirq-iret: an interrupt due exactly when EIP is at the guest's
 * interrupt-return iret (lguest_data.noirq_iret) is delivered on the frame
 * that iret would pop: the Host takes EFLAGS from the frame, as the iret
 * would have, and enters the handler without pushing anything.
 *
 * To meet the iret exactly, a timer interrupt is left pending while
 * interrupts are off, every shadow mapping is dropped (FLUSH_TLB(1)), and
 * the runtime's return path is entered with a frame of our own: it turns
 * interrupts on, and fetching the iret (a page of its own) faults. The
 * Host fills that page and, with EIP at the iret, delivers.
 */
#include "rt.h"

IMAGE("abi-noirq-iret");

#define FRAME_EFLAGS 0xAD7u  /* OF, IF, SF, ZF, AF, PF, CF and the fixed bit */

extern char lguest_noirq_iret[], noirq_resume[];
u32 stub_eflags, stub_esp, frame_esp, resumed_eflags, resumed_esp;
u32 vec32_stub(void);

/*
 * Vector 32's gate: note EFLAGS and ESP as the handler finds them, then
 * the runtime's stub for 32 (which makes a trap_frame for timer_irq).
 */
__asm__(".text\n"
        ".globl vec32_stub\n"
        "vec32_stub:\n\t"
        "pushfl\n\t"
        "popl stub_eflags\n\t"
        "movl %esp, stub_esp\n\t"
        "jmp *vec32_runtime_stub\n");
u32 vec32_runtime_stub;

/*
 * Push an interrupt frame (FRAME_EFLAGS, our CS, noirq_resume), drop every
 * shadow mapping, and return through the runtime's lguest_iret. Back at
 * noirq_resume, note EFLAGS and ESP.
 */
void iret_through_noirq(void);
__asm__(".text\n"
        ".globl iret_through_noirq\n"
        ".globl noirq_resume\n"
        "iret_through_noirq:\n\t"
        "pushl %ebx\n\t"
        "movl %esp, frame_esp\n\t"
        "pushl $" "0xAD7" "\n\t"
        "pushl %cs\n\t"
        "pushl $noirq_resume\n\t"
        "movl $5, %eax\n\t"          /* LHCALL_FLUSH_TLB */
        "movl $1, %ebx\n\t"          /* all of it */
        "int $0x1f\n\t"
        "jmp lguest_iret\n"
        "noirq_resume:\n\t"
        "pushfl\n\t"
        "popl resumed_eflags\n\t"
        "movl %esp, resumed_esp\n\t"
        "popl %ebx\n\t"
        "ret\n");

static volatile u32 ticks, handler_irq_enabled, handler_eip, handler_cs, handler_eflags;

static int timer_irq(struct trap_frame *frame)
{
    ticks++;
    handler_irq_enabled = lguest_data.irq_enabled;
    handler_eip = frame->eip;
    handler_cs = frame->cs;
    handler_eflags = frame->eflags;
    return 1;
}

void main(void)
{
    guest_init();
    if (boot_problem)
        fail("%s", boot_problem);
    traps_init();
    vec32_runtime_stub = trap_stub(FIRST_EXTERNAL_VECTOR);
    u32 lo, hi;
    make_gate((u32)vec32_stub, KERNEL_CS, &lo, &hi);
    hcall3(LHCALL_LOAD_IDT_ENTRY, FIRST_EXTERNAL_VECTOR, lo, hi);
    set_trap_handler(FIRST_EXTERNAL_VECTOR, timer_irq);
    if (lguest_data.noirq_iret != (u32)lguest_noirq_iret || (u32)lguest_noirq_iret % PAGE_SIZE != 0)
        fail("noirq_iret %#x is not the runtime's page-aligned iret at %#x", lguest_data.noirq_iret,
             (u32)lguest_noirq_iret);

    /* A timer interrupt pending while interrupts are off. */
    irq_disable();
    hcall1(LHCALL_SET_CLOCKEVENT, 100000);
    for (u32 i = 0; i < 100000 && !lguest_data.irq_pending; i++)
        hcall0(LHCALL_FLUSH_ASYNC);
    if (!lguest_data.irq_pending || ticks != 0)
        fail("no timer interrupt waiting while disabled (irq_pending %#x, %u delivered)", lguest_data.irq_pending,
             ticks);

    iret_through_noirq();

    if (ticks != 1)
        fail("%u timer interrupts on the way through the iret, not 1", ticks);
    if (handler_eip == (u32)lguest_noirq_iret)
        fail("the Host pushed a new frame at the iret instead of using the iret's own");
    if (handler_eip != (u32)noirq_resume || handler_cs != (KERNEL_CS | GUEST_PL) || handler_eflags != FRAME_EFLAGS)
        fail("the handler's frame holds %#x:%#x, EFLAGS %#x; the iret's was %#x:%#x, EFLAGS %#x", handler_cs,
             handler_eip, handler_eflags, KERNEL_CS | GUEST_PL, (u32)noirq_resume, FRAME_EFLAGS);
    if (stub_esp != frame_esp - 12)
        fail("the handler's stack is at %#x, not on the iret's frame at %#x", stub_esp, frame_esp - 12);
    if (stub_eflags != FRAME_EFLAGS)
        fail("the handler ran with EFLAGS %#x, not the iret frame's %#x", stub_eflags, FRAME_EFLAGS);
    if (handler_irq_enabled != 0)
        fail("irq_enabled was %#x in the handler of an interrupt gate", handler_irq_enabled);
    say("abi-noirq-iret: an interrupt met the iret at %#x and was delivered on its frame", (u32)lguest_noirq_iret);

    if (resumed_eflags != FRAME_EFLAGS || resumed_esp != frame_esp)
        fail("resumed with EFLAGS %#x and ESP %#x, not %#x and %#x", resumed_eflags, resumed_esp, FRAME_EFLAGS,
             frame_esp);
    if (lguest_data.irq_enabled != X86_EFLAGS_IF || lguest_data.irq_pending != 0)
        fail("after the return: irq_enabled %#x, irq_pending %#x", lguest_data.irq_enabled, lguest_data.irq_pending);
    irq_disable();
    say("abi-noirq-iret: the handler ran with EFLAGS %#x and returned to %#x on the same stack", FRAME_EFLAGS,
        (u32)noirq_resume);
    pass();
}
