/*
 * bad-hcall (forbidden): hypercall number 99, which lguest never had. The
 * Host must kill the guest; if the call returns, the image says so and
 * powers off.
 */
#include "rt.h"

IMAGE("bad-hcall");

#define BAD_CALL 99

void main(void)
{
    guest_init();
    say("bad-hcall: making hypercall %u", BAD_CALL);
    u32 result = hcall0(BAD_CALL);
    fail("the Host returned %#x from hypercall %u", result, BAD_CALL);
}
