/*
 * hcall-before-init (forbidden): the very first hypercall is a NOTIFY, not
 * LGUEST_INIT. The Host must kill the guest before the Launcher sees
 * anything; if the call returns, the image initializes properly, says so
 * and powers off.
 */
#include "rt.h"

IMAGE("hcall-before-init");

void main(void)
{
    hcall1(LHCALL_NOTIFY, (u32) "hcall-before-init: this NOTIFY came before LGUEST_INIT\n");
    guest_init();
    fail("the Host accepted a NOTIFY before LGUEST_INIT");
}
