package org.lguest.launcher.internal;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

import org.junit.jupiter.api.Test;

class BootParamsTest {

    @Test
    void writesTheFieldsALinuxGuestReadsAtTheirOffsets() {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment ram = arena.allocate(0x4000, 4096);
            BootParams.write(ram, 64L << 20, "hello world");
            assertEquals(1, ram.get(ValueLayout.JAVA_BYTE, 0x1E8), "one e820 entry");
            assertEquals(0, ram.get(ValueLayout.JAVA_LONG_UNALIGNED, 0x2D0), "RAM starts at 0");
            assertEquals(64L << 20, ram.get(ValueLayout.JAVA_LONG_UNALIGNED, 0x2D8), "all of it is RAM");
            assertEquals(1, ram.get(ValueLayout.JAVA_INT_UNALIGNED, 0x2E0), "E820_RAM");
            assertEquals(1, ram.get(ValueLayout.JAVA_INT_UNALIGNED, 0x23C), "hardware_subarch lguest");
            assertEquals(0x1000, ram.get(ValueLayout.JAVA_INT_UNALIGNED, 0x228), "cmd_line_ptr");
            assertEquals("hello world", ram.getString(0x1000));
        }
    }

    @Test
    void cutsAnOverlongCommandLine() {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment ram = arena.allocate(0x4000, 4096);
            BootParams.write(ram, 1 << 20, "x".repeat(5000));
            assertEquals(BootParams.COMMAND_LINE_MAX - 1, ram.getString(0x1000).length());
        }
    }
}
