/*
 * abi-gp-triage: Linux 4.x's Host hands every general-protection fault with
 * error code 0 to the Launcher, which skips a kernel's "cli", emulates port
 * I/O, and gives anything else back to the guest (LHREQ_TRAP 13). So a
 * "cli" at ring 1 must simply be passed over, and "hlt" or "mov %cr0,%eax"
 * must reach our own #GP handler with error code 0 at the instruction.
 */
#include "rt.h"

IMAGE("abi-gp-triage");

/* Each returns the address of its instruction; a fix-up skips it if it faults. */
static u32 run_cli(void)
{
    u32 at;
    __asm__ __volatile__("movl $1f, %0\n"
                         "1:\tcli\n"
                         "2:\n\t" EXTABLE(1b, 2b)
                         : "=r"(at)
                         :
                         : "memory");
    return at;
}

static u32 run_hlt(void)
{
    u32 at;
    __asm__ __volatile__("movl $1f, %0\n"
                         "1:\thlt\n"
                         "2:\n\t" EXTABLE(1b, 2b)
                         : "=r"(at)
                         :
                         : "memory");
    return at;
}

static u32 run_read_cr0(void)
{
    u32 at, cr0 = 0;
    __asm__ __volatile__("movl $1f, %0\n"
                         "1:\tmovl %%cr0, %1\n"
                         "2:\n\t" EXTABLE(1b, 2b)
                         : "=r"(at), "+r"(cr0)
                         :
                         : "memory");
    return at;
}

static void expect_reinjected(const char *what, u32 (*run)(void))
{
    u32 before = trap_count[13];
    u32 at = run();
    if (trap_count[13] != before + 1)
        fail("%s at ring 1 gave %u general-protection faults, not 1", what, trap_count[13] - before);
    if (last_errcode != 0 || last_eip != at)
        fail("%s: #GP with error code %#x at %#x, not 0 at %#x", what, last_errcode, last_eip, at);
}

void main(void)
{
    guest_init();
    if (boot_problem)
        fail("%s", boot_problem);
    traps_init();

    u32 before = trap_count[13];
    irq_enable();
    run_cli();
    if (trap_count[13] != before)
        fail("cli at ring 1 reached the guest's #GP handler instead of being skipped");
    if (lguest_data.irq_enabled != X86_EFLAGS_IF)
        fail("skipping cli changed irq_enabled to %#x", lguest_data.irq_enabled);
    irq_disable();
    say("abi-gp-triage: cli at CPL 1 skipped, no #GP reached the guest");

    expect_reinjected("hlt", run_hlt);
    expect_reinjected("mov %cr0", run_read_cr0);
    say("abi-gp-triage: hlt and mov %%cr0 came back to the guest's #GP handler with error code 0");
    pass();
}
