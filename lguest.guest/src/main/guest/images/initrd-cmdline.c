/*
 * initrd-cmdline: what a Linux kernel reads from the boot data when it is
 * booted with an initrd and a command line, checked field by field, and the
 * initrd's bytes checked against the pattern the test wrote.
 * Run it with the initrd and command line IMAGES.md gives.
 */
#include "rt.h"
#include "virtio.h"

IMAGE("initrd-cmdline");

/* boot_params offsets the runtime does not parse itself. */
#define BP_APM_VERSION          0x040   /* u16 */
#define BP_TBOOT_ADDR           0x058   /* u64 */
#define BP_SETUP_VERSION        0x206   /* u16 */
#define BP_TYPE_OF_LOADER       0x210   /* u8 */
#define BP_LOADFLAGS            0x211   /* u8 */
#define BP_RAMDISK_IMAGE        0x218   /* u32 */
#define BP_RAMDISK_SIZE         0x21C   /* u32 */
#define BP_KERNEL_ALIGNMENT     0x230   /* u32 */
#define KEEP_SEGMENTS           0x40

/* The test's initrd: INITRD_BYTES bytes, byte i = (i * 7 + 3) & 0xFF. */
#define INITRD_BYTES            10000u
#define INITRD_CRC32            0xd5e50a16u
static const char expected_cmdline[] =
    "initrd-cmdline root=/dev/ram0 rdinit=/init  two-spaces \"quoted words\" end=1";

/* Page 0 is a real address here: keep the compiler from treating it as null. */
static inline const volatile u8 *at(u32 addr)
{
    const volatile u8 *p;
    __asm__("" : "=r"(p) : "0"(addr));
    return p;
}
static u32 get32(u32 addr) { return *(const volatile u32 *)at(addr); }
static u32 get16(u32 addr) { return *(const volatile u16 *)at(addr); }
static u32 get8(u32 addr) { return *at(addr); }

void main(void)
{
    guest_init();
    if (boot_problem)
        fail("%s", boot_problem);
    u32 version = get16(BP_SETUP_VERSION), flags = get8(BP_LOADFLAGS);
    u32 align = get32(BP_KERNEL_ALIGNMENT);
    say("initrd-cmdline: boot protocol %#x, subarch %u, loadflags %#x, kernel_alignment %#x",
        version, boot_subarch, flags, align);
    if (version != 0x207)
        fail("boot_params.hdr.version is %#x, not 0x207", version);
    if (boot_subarch != SUBARCH_LGUEST)
        fail("hardware_subarch is %u, not 1 (lguest)", boot_subarch);
    if (!(flags & KEEP_SEGMENTS))
        fail("loadflags %#x lack KEEP_SEGMENTS (0x40)", flags);
    if (align != 0x1000000)
        fail("kernel_alignment is %#x, not 0x1000000", align);
    if (boot_e820_count != 1)
        fail("%u e820 entries, not 1", boot_e820_count);
    if (get32(BP_TBOOT_ADDR) || get32(BP_TBOOT_ADDR + 4) || get16(BP_APM_VERSION))
        fail("tboot_addr or the APM BIOS version is not 0");

    if (boot_cmdline_ptr != 0x1000)
        fail("cmd_line_ptr is %#x, not 0x1000", boot_cmdline_ptr);
    u32 i;
    for (i = 0; i < sizeof(expected_cmdline); i++) {
        if (get8(boot_cmdline_ptr + i) != (u8)expected_cmdline[i])
            fail("the command line differs from the expected one at byte %u (read \"%s\")", i, boot_cmdline);
    }
    say("initrd-cmdline: command line at %#x: \"%s\"", boot_cmdline_ptr, boot_cmdline);

    u32 image = get32(BP_RAMDISK_IMAGE), size = get32(BP_RAMDISK_SIZE), loader = get8(BP_TYPE_OF_LOADER);
    u32 padded = (INITRD_BYTES + PAGE_SIZE - 1) & ~(PAGE_SIZE - 1);
    if (size != padded)
        fail("ramdisk_size is %u, not the page-aligned %u", size, padded);
    if (image != mem_size - padded)
        fail("ramdisk_image is %#x, not the top of RAM less the initrd (%#x)", image, mem_size - padded);
    if (loader != 0xFF)
        fail("type_of_loader is %#x, not 0xff", loader);
    const u8 *initrd = (const u8 *)at(image);
    for (i = 0; i < INITRD_BYTES; i++) {
        if (initrd[i] != (u8)(i * 7 + 3))
            fail("initrd byte %u is %#x, not %#x", i, initrd[i], (u8)(i * 7 + 3));
    }
    for (; i < size; i++) {
        if (initrd[i] != 0)
            fail("the initrd's padding byte %u is %#x, not 0", i, initrd[i]);
    }
    u32 crc = crc32(initrd, INITRD_BYTES);
    say("initrd-cmdline: initrd %u bytes at %#x (loader %#x), crc32 %#x over the first %u", size, image, loader,
        crc, INITRD_BYTES);
    if (crc != INITRD_CRC32)
        fail("the initrd's crc32 is %#x, not %#x", crc, INITRD_CRC32);
    pass();
}
