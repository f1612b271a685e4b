package org.lguest.launcher.internal;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;

/**
 * The boot data lguest's Launcher wrote for its guest: a Linux
 * {@code struct boot_params} at guest-physical 0 and the command line in the
 * page after it. The guest finds it through ESI, which the Host leaves 0.
 * Every other byte of the page stays zero (so tboot_addr and the APM BIOS
 * version are 0, keeping Linux away from both).
 */
final class BootParams {
    /** boot_params and the command line page: the image must load above. */
    static final long RESERVED_BYTES = 0x2000;
    static final long COMMAND_LINE = 0x1000;
    /** i386 Linux copies at most this much of the command line, NUL included. */
    static final int COMMAND_LINE_MAX = 2048;

    static final long E820_ENTRIES = 0x1E8;
    static final long SETUP_VERSION = 0x206;
    static final long TYPE_OF_LOADER = 0x210;
    static final long LOADFLAGS = 0x211;
    static final long RAMDISK_IMAGE = 0x218;
    static final long RAMDISK_SIZE = 0x21C;
    static final long CMD_LINE_PTR = 0x228;
    static final long KERNEL_ALIGNMENT = 0x230;
    static final long HARDWARE_SUBARCH = 0x23C;
    static final long E820_TABLE = 0x2D0;

    private static final int E820_RAM = 1;
    private static final int X86_SUBARCH_LGUEST = 1;
    /** 2.07: the first boot protocol with hardware_subarch, which sends Linux to lguest_entry. */
    private static final short BOOT_PROTOCOL = 0x207;
    /** Where a relocatable bzImage puts the kernel it unpacks: 16 MiB, as lguest's Launcher said. */
    static final int KERNEL_ALIGNMENT_BYTES = 0x1000000;
    private static final byte LOADER_UNKNOWN = (byte) 0xFF;
    private static final int KEEP_SEGMENTS = 0x40;
    // The boot protocol's fields are little-endian, whatever the host's order.
    private static final ValueLayout.OfShort SHORT = ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    private static final ValueLayout.OfInt INT = ValueLayout.JAVA_INT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    private static final ValueLayout.OfLong LONG = ValueLayout.JAVA_LONG_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);

    /** Where the initrd lies: {@code size} is page-aligned, as lguest's Launcher reported it. */
    record Initrd(long address, long size) {
    }

    private BootParams() {
    }

    /**
     * @param commandLine ASCII, shorter than {@link #COMMAND_LINE_MAX} (LaunchOptions checks)
     * @param initrd where the initrd was put, or null without one
     */
    static void write(MemorySegment ram, long memoryBytes, String commandLine, Initrd initrd) {
        /*M:080
         * The boot data a Linux guest reads first: one e820 entry covering all RAM, the boot protocol
         * version, the subarchitecture that sends Linux down lguest's path, the initrd's place and size, and
         * the command line one page up.
         */
        ram.asSlice(0, RESERVED_BYTES).fill((byte) 0);
        // One e820 entry: all of guest memory is RAM.
        ram.set(ValueLayout.JAVA_BYTE, E820_ENTRIES, (byte) 1);
        ram.set(LONG, E820_TABLE, 0L);
        ram.set(LONG, E820_TABLE + 8, memoryBytes);
        ram.set(INT, E820_TABLE + 16, E820_RAM);
        ram.set(SHORT, SETUP_VERSION, BOOT_PROTOCOL);
        ram.set(ValueLayout.JAVA_BYTE, LOADFLAGS, (byte) KEEP_SEGMENTS);
        ram.set(INT, KERNEL_ALIGNMENT, KERNEL_ALIGNMENT_BYTES);
        ram.set(INT, HARDWARE_SUBARCH, X86_SUBARCH_LGUEST);
        if (initrd != null) {
            ram.set(INT, RAMDISK_IMAGE, (int) initrd.address());
            ram.set(INT, RAMDISK_SIZE, (int) initrd.size());
            ram.set(ValueLayout.JAVA_BYTE, TYPE_OF_LOADER, LOADER_UNKNOWN);
        }
        byte[] text = commandLine.getBytes(StandardCharsets.US_ASCII);
        int length = Math.min(text.length, COMMAND_LINE_MAX - 1);
        MemorySegment.copy(MemorySegment.ofArray(text), 0, ram, COMMAND_LINE, length);
        ram.set(ValueLayout.JAVA_BYTE, COMMAND_LINE + length, (byte) 0);
        ram.set(INT, CMD_LINE_PTR, (int) COMMAND_LINE);
    }
}
