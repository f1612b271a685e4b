/*
 * The front of a bzImage of our own: a boot sector and setup sectors that
 * never run (the Launcher, as lguest's did, skips them and reads only the
 * header), then the protected-mode part, PAYLOAD: an image's bytes from
 * 1 MiB on. Field offsets are the x86 boot protocol's.
 */
#define SETUP_SECTS 0   /* 0 means 4 in the boot protocol: the rule a loader most easily gets wrong */
#define SECTORS     5   /* the boot sector + 4 setup sectors */

    .section .setup, "a"
    .code16
bzimage:
    .org 0x1F1
    .byte SETUP_SECTS                       /* setup_sects */
    .word 0                                 /* root_flags */
    .long (payload_end - payload + 15) / 16 /* syssize, in 16-byte units */
    .word 0                                 /* ram_size */
    .word 0xFFFF                            /* vid_mode: normal */
    .word 0                                 /* root_dev */
    .word 0xAA55                            /* boot_flag */
    .byte 0xEB, 0x00                        /* jump: never taken */
    .ascii "HdrS"                           /* header */
    .word 0x020C                            /* version: boot protocol 2.12 */
    .long 0                                 /* realmode_swtch */
    .word 0x1000                            /* start_sys_seg */
    .word 0                                 /* kernel_version */
    .byte 0                                 /* type_of_loader */
    .byte 0x01                              /* loadflags: LOADED_HIGH */
    .word 0                                 /* setup_move_size */
    .long 0x100000                          /* code32_start: the image's _start */
    .long 0                                 /* ramdisk_image */
    .long 0                                 /* ramdisk_size */
    .long 0                                 /* bootsect_kludge */
    .word 0                                 /* heap_end_ptr */
    .byte 0                                 /* ext_loader_ver */
    .byte 0                                 /* ext_loader_type */
    .long 0                                 /* cmd_line_ptr */
    .long 0x7FFFFFFF                        /* initrd_addr_max */
    .long 0x100000                          /* kernel_alignment: 1 MiB */
    .byte 0                                 /* relocatable_kernel: no */
    .byte 20                                /* min_alignment: 2^20 */
    .word 0                                 /* xloadflags */
    .long 2047                              /* cmdline_size */
    .long 0                                 /* hardware_subarch: the loader's to set */
    .org SECTORS * 512
payload:
    .incbin PAYLOAD
payload_end:
