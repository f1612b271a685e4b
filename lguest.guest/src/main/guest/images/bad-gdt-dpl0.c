/*
 * bad-gdt-dpl0 (forbidden): LOAD_GDT_ENTRY of a flat code segment with
 * DPL 0 into entry 14 -- the descriptor tls-gdt loads with DPL 1, except
 * for the privilege level.
 *
 * Two safe answers: the Host kills the guest, or (as lguest's
 * fixup_gdt_table() did) it installs the entry with DPL 1. After a return
 * the image checks the second: lar must see the entry usable at ring 1 with
 * DPL 1, and a far return into it must run at ring 1. It fails if the
 * entry still says DPL 0 or code through it runs at any other ring.
 */
#include "rt.h"

IMAGE("bad-gdt-dpl0");

#define GDT_CODE 14

void main(void)
{
    guest_init();
    traps_init();
    say("bad-gdt-dpl0: loading a DPL-0 code segment into GDT entry %u", GDT_CODE);
    struct desc c = make_desc(0, 0xFFFFF, 0x9B, 0xC);
    hcall3(LHCALL_LOAD_GDT_ENTRY, GDT_CODE, c.lo, c.hi);

    /* Not killed: the entry must have been made harmless. */
    u32 sel = GDT_CODE * 8 | GUEST_PL;
    u32 ar;
    if (!load_access_rights(sel, &ar))
        fail("not killed, and GDT entry %u is not usable at ring 1 (lar refused %#x): DPL 0 kept", GDT_CODE, sel);
    u32 dpl = (ar >> 13) & 3;
    if (dpl != GUEST_PL)
        fail("not killed, and GDT entry %u has DPL %u (access rights %#x)", GDT_CODE, dpl, ar);
    u32 cs = run_through_segment(sel);
    if (cs == 0xFFFFFFFFu)
        fail("not killed, and a far return into GDT entry %u faulted (trap %u)", GDT_CODE, last_vector);
    if ((cs & 3) != GUEST_PL)
        fail("code through GDT entry %u ran with CS %#x", GDT_CODE, cs);
    say("bad-gdt-dpl0: not killed: the Host lowered entry %u to DPL %u; code through it runs with CS %#x", GDT_CODE,
        dpl, cs);
    pass();
}
