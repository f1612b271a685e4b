package org.lguest.launcher.internal;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.lguest.api.guest.LaunchException;

/** Telling vmlinux from bzImage, placing the kernel and the initrd, and refusing what does not fit. */
class KernelLoadingTest {
    private static final long MIB = 1 << 20;

    @TempDir
    Path dir;

    /** A bzImage: the boot sector and {@code setupSects} setup sectors, then {@code payload}. */
    static byte[] bzImage(int setupSects, long code32Start, byte[] payload) {
        int sectors = (setupSects == 0 ? 4 : setupSects) + 1;
        ByteBuffer b = ByteBuffer.allocate(sectors * 512 + payload.length).order(ByteOrder.LITTLE_ENDIAN);
        b.put(0x1F1, (byte) setupSects);
        b.putShort(0x1FE, (short) 0xAA55);
        b.putInt(0x202, 0x53726448);
        b.putShort(0x206, (short) 0x20C);
        b.putInt(0x214, (int) code32Start);
        b.position(sectors * 512);
        b.put(payload);
        return b.array();
    }

    private static KernelImage parse(byte[] bytes) throws LaunchException {
        return KernelImage.parse(ImageSource.ofBytes("k", bytes));
    }

    @Test
    void aBzImagesProtectedModePartGoesToOneMiB() throws LaunchException {
        byte[] payload = {1, 2, 3, 4, 5};
        for (int setupSects : new int[] {0, 1, 27}) {
            KernelImage kernel = parse(bzImage(setupSects, 0x100000, payload));
            BzImage bz = assertInstanceOf(BzImage.class, kernel);
            assertEquals(((setupSects == 0 ? 4 : setupSects) + 1) * 512, bz.payloadOffset(), "setup_sects " + setupSects);
            assertEquals(0x100000, kernel.entry());
            assertEquals(0x100005, kernel.end());
            try (Arena arena = Arena.ofConfined()) {
                MemorySegment ram = arena.allocate(2 * MIB, 4096);
                kernel.checkFits(ram.byteSize());
                kernel.load(ram);
                assertArrayEquals(payload, ram.asSlice(0x100000, 5).toArray(ValueLayout.JAVA_BYTE));
                assertEquals(0, ram.get(ValueLayout.JAVA_BYTE, 0x100005));
            }
        }
    }

    @Test
    void refusesBzImagesThatMakeNoSense() throws LaunchException {
        assertRefused("no protected-mode part", java.util.Arrays.copyOf(bzImage(3, 0x100000, new byte[0]), 4 * 512));
        assertRefused("code32_start 0x200000 lies outside", bzImage(3, 0x200000, new byte[16]));
        KernelImage big = parse(bzImage(3, 0x100000, new byte[(int) MIB]));
        LaunchException e = assertThrows(LaunchException.class, () -> big.checkFits(2 * MIB - 1));
        assertTrue(e.getMessage().contains("protected-mode part (1024 KiB at 0x100000) does not fit"), e.getMessage());
        byte[] neither = new byte[1024];
        assertRefused("neither an ELF32 i386 file (vmlinux) nor a bzImage", neither);
    }

    @Test
    void theInitrdGoesPageAlignedToTheTopOfRam() throws Exception {
        byte[] initrd = new byte[10_000];
        for (int i = 0; i < initrd.length; i++) {
            initrd[i] = (byte) (i * 7 + 3);
        }
        Path file = Files.write(dir.resolve("initrd"), initrd);
        KernelImage kernel = ElfImageTest.parse("k", ElfImageTest.elf(0x100000, 0x100000, new byte[4], 0));
        try (ImageSource source = ImageSource.ofFile("initrd", file, "initrd"); Arena arena = Arena.ofConfined()) {
            BootPlan plan = BootPlan.check(kernel, source, 4 * MIB, "root=/dev/ram0");
            assertEquals(new BootParams.Initrd(4 * MIB - 0x3000, 0x3000), plan.initrdPlace());
            MemorySegment ram = arena.allocate(4 * MIB, 4096);
            plan.load(ram);
            assertArrayEquals(initrd, ram.asSlice(4 * MIB - 0x3000, initrd.length).toArray(ValueLayout.JAVA_BYTE));
            assertEquals(0, ram.get(ValueLayout.JAVA_BYTE, 4 * MIB - 1), "the padding is zero");
            assertEquals((int) (4 * MIB - 0x3000), ram.get(ValueLayout.JAVA_INT_UNALIGNED, BootParams.RAMDISK_IMAGE));
            assertEquals("root=/dev/ram0", ram.getString(BootParams.COMMAND_LINE));
        }
    }

    @Test
    void refusesAnInitrdThatWouldMeetTheKernel() throws Exception {
        Path file = Files.write(dir.resolve("initrd"), new byte[(int) MIB]);
        KernelImage kernel = ElfImageTest.parse("k", ElfImageTest.elf(0x100000, 0x100000, new byte[4], 0x100000));
        try (ImageSource source = ImageSource.ofFile("initrd", file, "initrd")) {
            LaunchException e = assertThrows(LaunchException.class, () -> BootPlan.check(kernel, source, 3 * MIB, ""));
            assertTrue(e.getMessage().contains("does not fit between the kernel"), e.getMessage());
            BootPlan.check(kernel, source, 4 * MIB, "");
        }
        Path empty = Files.write(dir.resolve("empty"), new byte[0]);
        try (ImageSource source = ImageSource.ofFile("empty", empty, "initrd")) {
            LaunchException e = assertThrows(LaunchException.class, () -> BootPlan.check(kernel, source, 8 * MIB, ""));
            assertTrue(e.getMessage().contains("it is empty"), e.getMessage());
        }
    }

    @Test
    void refusesWhatIsNotARegularFile() throws IOException {
        LaunchException e = assertThrows(LaunchException.class, () -> ImageSource.ofFile("d", dir, "initrd"));
        assertEquals("cannot use d as initrd: it is not a regular file", e.getMessage());
        e = assertThrows(LaunchException.class, () -> ImageSource.ofFile("nope", dir.resolve("nope"), "initrd"));
        assertEquals("no initrd file nope", e.getMessage());
    }

    @Test
    void readsAVmlinuxFromItsFileOnlyWhereItLoads() throws Exception {
        byte[] code = {(byte) 0xF4, 9, 8, 7};
        byte[] elf = ElfImageTest.elf(0x1000000, 0x1000000, code, 0x1000);
        Path file = Files.write(dir.resolve("vmlinux"), elf);
        try (ImageSource source = ImageSource.ofFile("vmlinux", file, "guest image"); Arena arena = Arena.ofConfined()) {
            KernelImage kernel = KernelImage.parse(source);
            assertInstanceOf(ElfImage.class, kernel);
            MemorySegment ram = arena.allocate(32 * MIB, 4096);
            BootPlan.check(kernel, null, ram.byteSize(), "").load(ram);
            assertArrayEquals(code, ram.asSlice(0x1000000, 4).toArray(ValueLayout.JAVA_BYTE));
            LaunchException e = assertThrows(LaunchException.class, () -> BootPlan.check(kernel, null, 16 * MIB, ""));
            assertTrue(e.getMessage().contains("does not fit in 16 MiB"), e.getMessage());
        }
    }

    private static void assertRefused(String why, byte[] bytes) {
        LaunchException e = assertThrows(LaunchException.class, () -> parse(bytes));
        assertTrue(e.getMessage().contains(why), e.getMessage());
    }
}
