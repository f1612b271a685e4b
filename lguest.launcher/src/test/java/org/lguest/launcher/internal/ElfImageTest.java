package org.lguest.launcher.internal;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;

import org.junit.jupiter.api.Test;
import org.lguest.api.guest.LaunchException;

class ElfImageTest {

    /** A minimal ELF32 i386 executable: one PT_LOAD of {@code code} at {@code paddr}, plus {@code bss} zero bytes. */
    static byte[] elf(long paddr, long entry, byte[] code, int bss) {
        ByteBuffer b = ByteBuffer.allocate(52 + 32 + code.length).order(ByteOrder.LITTLE_ENDIAN);
        b.putInt(0x464C457F).put((byte) 1).put((byte) 1).put((byte) 1);
        b.position(16);
        b.putShort((short) 2).putShort((short) 3).putInt(1).putInt((int) entry).putInt(52).putInt(0).putInt(0)
            .putShort((short) 52).putShort((short) 32).putShort((short) 1).putShort((short) 40).putShort((short) 0)
            .putShort((short) 0);
        b.putInt(1).putInt(84).putInt((int) paddr).putInt((int) paddr).putInt(code.length)
            .putInt(code.length + bss).putInt(5).putInt(4096);
        b.put(code);
        return b.array();
    }

    @Test
    void loadsSegmentsAtTheirPhysicalAddressAndZeroesTheRest() throws LaunchException {
        byte[] code = {(byte) 0xF4, 1, 2, 3};
        ElfImage image = parse("t", elf(0x100000, 0x100000, code, 16));
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment ram = arena.allocate(2 << 20, 4096);
            ram.fill((byte) 0x55);
            image.checkFits(ram.byteSize());
            image.load(ram);
            assertArrayEquals(code, ram.asSlice(0x100000, 4).toArray(ValueLayout.JAVA_BYTE));
            assertArrayEquals(new byte[16], ram.asSlice(0x100004, 16).toArray(ValueLayout.JAVA_BYTE));
            assertEquals(0x55, ram.get(ValueLayout.JAVA_BYTE, 0x100014));
            assertEquals(0x100000, image.entry());
        }
    }

    @Test
    void refusesWhatIsNotAnI386Executable() {
        byte[] good = elf(0x100000, 0x100000, new byte[4], 0);
        assertRefused("not an ELF", new byte[64]);
        byte[] elf64 = good.clone();
        elf64[4] = 2;
        assertRefused("32-bit", elf64);
        byte[] arm = good.clone();
        arm[18] = 40;
        assertRefused("i386", arm);
        byte[] shared = good.clone();
        shared[16] = 3;
        assertRefused("executable", shared);
        assertRefused("entry point", elf(0x100000, 0x200000, new byte[4], 0));
        byte[] truncated = java.util.Arrays.copyOf(good, good.length - 2);
        assertRefused("past the end", truncated);
    }

    @Test
    void refusesSegmentsThatDoNotFitOrHitTheBootData() throws LaunchException {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment ram = arena.allocate(1 << 20, 4096);
            ElfImage tooHigh = parse("t", elf(0x100000, 0x100000, new byte[4], 0));
            LaunchException e = assertThrows(LaunchException.class, () -> tooHigh.checkFits(ram.byteSize()));
            assertTrue(e.getMessage().contains("does not fit"), e.getMessage());
            ElfImage onBootData = parse("t", elf(0x1000, 0x1000, new byte[4], 0));
            e = assertThrows(LaunchException.class, () -> onBootData.checkFits(ram.byteSize()));
            assertTrue(e.getMessage().contains("boot data"), e.getMessage());
        }
    }

    @Test
    void refusesAbsurdProgramHeaderCountsBeforeReadingThem() {
        byte[] many = elf(0x100000, 0x100000, new byte[4], 0);
        many[44] = (byte) 0xFF;
        many[45] = (byte) 0xFF;
        assertRefused("65535 program headers", many);
        assertRefused("too short", new byte[20]);
    }

    @Test
    void endIsTheHighestByteLoaded() throws LaunchException {
        assertEquals(0x100000 + 4 + 0x3000, parse("t", elf(0x100000, 0x100000, new byte[4], 0x3000)).end());
    }

    static ElfImage parse(String name, byte[] bytes) throws LaunchException {
        return ElfImage.parse(ImageSource.ofBytes(name, bytes));
    }

    private static void assertRefused(String why, byte[] bytes) {
        LaunchException e = assertThrows(LaunchException.class, () -> parse("img", bytes));
        assertTrue(e.getMessage().contains(why), e.getMessage());
        assertTrue(e.getMessage().startsWith("cannot boot img"), e.getMessage());
    }
}
