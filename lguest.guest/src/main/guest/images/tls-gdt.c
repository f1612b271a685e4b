/*
 * tls-gdt: segments the guest installs itself.
 *
 * 1. LOAD_TLS with three DPL-3 data segments (GDT entries 6-8, flat 4 GiB
 *    limit, each based at its own buffer): load %gs with each TLS selector
 *    (RPL 3) and read through it; write through %gs and find the word in
 *    the buffer.
 * 2. LOAD_TLS again with the bases rotated: reloading %gs must see the new
 *    bases.
 * 3. LOAD_GDT_ENTRY 24, a DPL-1 data segment based at its own buffer, read
 *    through %fs; LOAD_GDT_ENTRY 14, a flat DPL-1 code segment (execute and
 *    read), loaded into %fs and read through (it must read what %ds reads).
 */
#include "rt.h"

IMAGE("tls-gdt");

#define N GDT_ENTRY_TLS_ENTRIES
#define GDT_DATA 24
#define GDT_CODE 14

static struct desc tls[N] ALIGNED(8);
static u32 buffers[N][16] ALIGNED(64);
static u32 gdt_buffer[16] ALIGNED(64);

static u32 tls_sel(u32 i)
{
    return (GDT_ENTRY_TLS_MIN + i) * 8 | 3;
}

static void load_tls(u32 rotate)
{
    for (u32 i = 0; i < N; i++)
        tls[i] = make_desc((u32)buffers[(i + rotate) % N], 0xFFFFF, 0xF3, 0xC);
    hcall1(LHCALL_LOAD_TLS, (u32)tls);
}

static void check_tls(u32 rotate)
{
    for (u32 i = 0; i < N; i++) {
        u32 *b = buffers[(i + rotate) % N];
        for (u32 w = 0; w < 4; w++) {
            u32 got = read_gs(tls_sel(i), w * 4);
            if (got != b[w])
                fail("TLS entry %u (%%gs=%#x): offset %u read %#x, not %#x", GDT_ENTRY_TLS_MIN + i, tls_sel(i),
                     w * 4, got, b[w]);
        }
    }
}

void main(void)
{
    guest_init();
    traps_init();

    for (u32 i = 0; i < N; i++)
        for (u32 w = 0; w < 16; w++)
            buffers[i][w] = 0x715B0000u | i << 8 | w;
    for (u32 w = 0; w < 16; w++)
        gdt_buffer[w] = 0x6D7B0000u | w;

    load_tls(0);
    check_tls(0);
    for (u32 i = 0; i < N; i++) {
        write_gs(tls_sel(i), 8 * 4, 0x3A17E000u | i);
        if (buffers[i][8] != (0x3A17E000u | i))
            fail("a write through TLS entry %u landed elsewhere (buffer holds %#x)", GDT_ENTRY_TLS_MIN + i,
                 buffers[i][8]);
    }
    clear_fs_gs();
    say("tls-gdt: TLS entries 6, 7 and 8 read and written through %%gs");

    load_tls(1);
    check_tls(1);
    clear_fs_gs();
    say("tls-gdt: reloaded TLS entries take effect");

    struct desc d = make_desc((u32)gdt_buffer, 0xFFFFF, 0xB3, 0xC);
    hcall3(LHCALL_LOAD_GDT_ENTRY, GDT_DATA, d.lo, d.hi);
    for (u32 w = 0; w < 4; w++) {
        u32 got = read_fs(GDT_DATA * 8 | GUEST_PL, w * 4);
        if (got != gdt_buffer[w])
            fail("GDT entry %u (%%fs=%#x): offset %u read %#x, not %#x", GDT_DATA, GDT_DATA * 8 | GUEST_PL, w * 4,
                 got, gdt_buffer[w]);
    }
    struct desc c = make_desc(0, 0xFFFFF, 0xBB, 0xC);
    hcall3(LHCALL_LOAD_GDT_ENTRY, GDT_CODE, c.lo, c.hi);
    u32 here = (u32)gdt_buffer;
    u32 got = read_fs(GDT_CODE * 8 | GUEST_PL, here);
    clear_fs_gs();
    if (got != gdt_buffer[0])
        fail("GDT entry %u (code, %%fs=%#x): %#x read %#x, not %#x", GDT_CODE, GDT_CODE * 8 | GUEST_PL, here, got,
             gdt_buffer[0]);
    say("tls-gdt: GDT entries 24 (data) and 14 (code) load and read through %%fs");
    pass();
}
