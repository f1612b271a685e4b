package org.lguest.launcher.internal;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.charset.StandardCharsets;

/**
 * The boot data lguest's Launcher wrote for its guest: a Linux
 * {@code struct boot_params} at guest-physical 0 and the command line in the
 * page after it. The guest finds it through ESI, which the Host leaves 0.
 */
final class BootParams {
    /** boot_params and the command line page: the image must load above. */
    static final long RESERVED_BYTES = 0x2000;
    static final long COMMAND_LINE = 0x1000;
    static final int COMMAND_LINE_MAX = 2048;

    private static final long E820_ENTRIES = 0x1E8;
    private static final long SETUP_VERSION = 0x206;
    private static final long TYPE_OF_LOADER = 0x210;
    private static final long LOADFLAGS = 0x211;
    private static final long CMD_LINE_PTR = 0x228;
    private static final long HARDWARE_SUBARCH = 0x23C;
    private static final long E820_TABLE = 0x2D0;

    private static final int E820_RAM = 1;
    private static final int X86_SUBARCH_LGUEST = 1;
    private static final int KEEP_SEGMENTS = 0x40;
    private static final ValueLayout.OfInt INT = ValueLayout.JAVA_INT_UNALIGNED;
    private static final ValueLayout.OfLong LONG = ValueLayout.JAVA_LONG_UNALIGNED;

    private BootParams() {
    }

    static void write(MemorySegment ram, long memoryBytes, String commandLine) {
        ram.asSlice(0, RESERVED_BYTES).fill((byte) 0);
        // One e820 entry: all of guest memory is RAM.
        ram.set(ValueLayout.JAVA_BYTE, E820_ENTRIES, (byte) 1);
        ram.set(LONG, E820_TABLE, 0L);
        ram.set(LONG, E820_TABLE + 8, memoryBytes);
        ram.set(INT, E820_TABLE + 16, E820_RAM);
        // The header fields a Linux guest checks: boot protocol 2.07, a loader it doesn't know, segments kept.
        ram.set(ValueLayout.JAVA_SHORT_UNALIGNED, SETUP_VERSION, (short) 0x207);
        ram.set(ValueLayout.JAVA_BYTE, TYPE_OF_LOADER, (byte) 0xFF);
        ram.set(ValueLayout.JAVA_BYTE, LOADFLAGS, (byte) KEEP_SEGMENTS);
        ram.set(INT, HARDWARE_SUBARCH, X86_SUBARCH_LGUEST);
        byte[] text = commandLine.getBytes(StandardCharsets.US_ASCII);
        int length = Math.min(text.length, COMMAND_LINE_MAX - 1);
        MemorySegment.copy(MemorySegment.ofArray(text), 0, ram, COMMAND_LINE, length);
        ram.set(ValueLayout.JAVA_BYTE, COMMAND_LINE + length, (byte) 0);
        ram.set(INT, CMD_LINE_PTR, (int) COMMAND_LINE);
    }
}
