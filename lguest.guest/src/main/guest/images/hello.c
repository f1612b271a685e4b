/*
 * hello: the smallest useful guest. LGUEST_INIT, a greeting through the
 * early console, a look at the boot data the Launcher wrote, power off.
 * No IDT, no interrupts, no page tables: only INIT, NOTIFY and SHUTDOWN.
 */
#include "rt.h"

IMAGE("hello");

void main(void)
{
    guest_init();
    say("Hello from an lguest guest");
    if (boot_subarch != SUBARCH_LGUEST)
        fail("boot_params.hardware_subarch is %u, not 1 (lguest)", boot_subarch);
    if (boot_problem)
        fail("%s", boot_problem);
    if (boot_cmdline_ptr == 0 || boot_cmdline_ptr >= mem_size)
        fail("boot_params.hdr.cmd_line_ptr %#x is not inside RAM", boot_cmdline_ptr);
    say("hello: %u KiB of RAM, command line \"%s\"", mem_size >> 10, boot_cmdline);
    pass();
}
