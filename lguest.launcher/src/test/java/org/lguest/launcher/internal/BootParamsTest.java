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
            ram.fill((byte) 0x55);
            BootParams.write(ram, 64L << 20, "hello world", null);
            assertEquals(1, ram.get(ValueLayout.JAVA_BYTE, 0x1E8), "one e820 entry");
            assertEquals(0, ram.get(ValueLayout.JAVA_LONG_UNALIGNED, 0x2D0), "RAM starts at 0");
            assertEquals(64L << 20, ram.get(ValueLayout.JAVA_LONG_UNALIGNED, 0x2D8), "all of it is RAM");
            assertEquals(1, ram.get(ValueLayout.JAVA_INT_UNALIGNED, 0x2E0), "E820_RAM");
            assertEquals(1, ram.get(ValueLayout.JAVA_INT_UNALIGNED, 0x23C), "hardware_subarch lguest");
            assertEquals(0x1000, ram.get(ValueLayout.JAVA_INT_UNALIGNED, 0x228), "cmd_line_ptr");
            assertEquals(0x207, ram.get(ValueLayout.JAVA_SHORT_UNALIGNED, 0x206), "boot protocol 2.07");
            assertEquals(0x1000000, ram.get(ValueLayout.JAVA_INT_UNALIGNED, 0x230), "kernel_alignment 16 MiB");
            assertEquals(0x40, ram.get(ValueLayout.JAVA_BYTE, 0x211), "loadflags: KEEP_SEGMENTS only");
            assertEquals(0, ram.get(ValueLayout.JAVA_LONG_UNALIGNED, 0x58), "tboot_addr");
            assertEquals(0, ram.get(ValueLayout.JAVA_SHORT_UNALIGNED, 0x40), "apm_bios_info.version");
            assertEquals(0, ram.get(ValueLayout.JAVA_INT_UNALIGNED, 0x218), "no ramdisk_image");
            assertEquals(0, ram.get(ValueLayout.JAVA_INT_UNALIGNED, 0x21C), "no ramdisk_size");
            assertEquals(0, ram.get(ValueLayout.JAVA_BYTE, 0x210), "type_of_loader only with an initrd");
            assertEquals("hello world", ram.getString(0x1000));
        }
    }

    @Test
    void namesTheInitrdAndItsLoader() {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment ram = arena.allocate(0x4000, 4096);
            BootParams.write(ram, 64L << 20, "x", new BootParams.Initrd((64L << 20) - 0x3000, 0x3000));
            assertEquals((64 << 20) - 0x3000, ram.get(ValueLayout.JAVA_INT_UNALIGNED, 0x218), "ramdisk_image");
            assertEquals(0x3000, ram.get(ValueLayout.JAVA_INT_UNALIGNED, 0x21C), "ramdisk_size, page-aligned");
            assertEquals((byte) 0xFF, ram.get(ValueLayout.JAVA_BYTE, 0x210), "type_of_loader: unknown");
        }
    }
}
