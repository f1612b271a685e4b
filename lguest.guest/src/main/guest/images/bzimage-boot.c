/*
 * bzimage-boot: an image shipped as a bzImage (our own setup header,
 * bzimage/setup.S, in front of this image's bytes from 1 MiB on). Reaching
 * main at all shows the Launcher skipped the setup sectors, put the rest at
 * 1 MiB and entered at code32_start; the boot data must still be the
 * Launcher's own, with nothing of the file's header copied into it.
 */
#include "rt.h"

IMAGE("bzimage-boot");

#define BP_HEADER_MAGIC   0x202   /* "HdrS" in a bzImage's own header */
#define BP_TYPE_OF_LOADER 0x210
#define BP_RAMDISK_IMAGE  0x218

extern char _start[];

static inline u32 get32(u32 addr)
{
    const volatile u32 *p;
    __asm__("" : "=r"(p) : "0"(addr));
    return *p;
}

void main(void)
{
    guest_init();
    if (boot_problem)
        fail("%s", boot_problem);
    say("bzimage-boot: entered at %#x from a bzImage's protected-mode part", (u32)_start);
    if (boot_subarch != SUBARCH_LGUEST)
        fail("hardware_subarch is %u, not 1 (lguest)", boot_subarch);
    if (get32(BP_HEADER_MAGIC) != 0)
        fail("boot_params holds %#x at 0x202: the file's setup header was copied in", get32(BP_HEADER_MAGIC));
    if ((get32(BP_TYPE_OF_LOADER) & 0xFF) != 0 || get32(BP_RAMDISK_IMAGE) != 0)
        fail("type_of_loader or ramdisk_image is set without an initrd");
    say("bzimage-boot: %u KiB of RAM, command line \"%s\"", mem_size >> 10, boot_cmdline);
    pass();
}
