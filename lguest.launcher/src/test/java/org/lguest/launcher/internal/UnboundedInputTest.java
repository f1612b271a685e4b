package org.lguest.launcher.internal;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.RandomAccessFile;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Optional;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.lguest.api.cpu.AnonymousMemory;
import org.lguest.api.guest.LaunchException;

/** Issue 13, findings 3 and 4: inputs a guest or a user chooses are bounded before anything is allocated. */
class UnboundedInputTest {
    private static final long MIB = 1 << 20;
    private static final long GIB = 1L << 30;

    @Test
    void aNotifyOfAHugeStringShowsOneLinesWorth() {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment ram = arena.allocate(64 * 1024);
            ram.fill((byte) 'x');
            byte[] text = RunningGuest.earlyConsoleText(ram, 16);
            assertEquals(RunningGuest.EARLY_CONSOLE_MAX, text.length);
            // A short string stops at its NUL, one at the end of RAM at the end.
            ram.set(ValueLayout.JAVA_BYTE, 20, (byte) 0);
            assertEquals(4, RunningGuest.earlyConsoleText(ram, 16).length);
            assertEquals(10, RunningGuest.earlyConsoleText(ram, ram.byteSize() - 10).length);
        }
    }

    @Test
    void aSparseFileLargerThanGuestRamIsRefusedBeforeItIsRead(@TempDir Path dir) throws Exception {
        Path sparse = dir.resolve("sparse.img");
        try (RandomAccessFile f = new RandomAccessFile(sparse.toFile(), "rw")) {
            f.setLength(3 * GIB);
        }
        try (ImageSource source = ImageSource.ofFile("sparse.img", sparse, "guest image")) {
            LaunchException e = assertThrows(LaunchException.class,
                () -> Launcher.refuseLarger(source, "kernel", 128 * MIB));
            assertEquals("cannot boot: the kernel sparse.img is 3072 MiB, larger than the 128 MiB of guest memory it"
                + " would load into", e.getMessage());
        }
    }

    @Test
    void devZeroIsNotAFileToBoot() {
        Path zero = Path.of("/dev/zero");
        if (!Files.exists(zero)) {
            return;
        }
        LaunchException e = assertThrows(LaunchException.class, () -> ImageSource.ofFile("/dev/zero", zero, "guest image"));
        assertEquals("cannot use /dev/zero as guest image: it is not a regular file", e.getMessage());
    }

    @Test
    void theSecondOfTwo2GiBGuestsInA3GiBCgroupIsRefused() {
        Admission.HostMemory host = new Admission.HostMemory(64 * GIB, 3 * GIB - 200 * MIB);
        assertEquals(Optional.empty(), Admission.refusal(2 * GIB, 48 * MIB, List.of(), Admission.UNLIMITED, host));
        // The first runs and has touched 100 MiB: the cgroup's room shrank by that much, the rest is owed.
        Admission.HostMemory after = new Admission.HostMemory(64 * GIB, 3 * GIB - 300 * MIB);
        String refused = Admission.refusal(2 * GIB, 48 * MIB, List.of(new Admission.Running(2 * GIB, 100 * MIB)),
            Admission.UNLIMITED, after).orElseThrow();
        assertTrue(refused.contains("its memory cgroup has 2772 MiB left"), refused);
        // A small one still fits beside it.
        assertEquals(Optional.empty(), Admission.refusal(128 * MIB, 48 * MIB, List.of(new Admission.Running(2 * GIB, 100 * MIB)),
            Admission.UNLIMITED, new Admission.HostMemory(64 * GIB, 3 * GIB + 100 * MIB)));
    }

    @Test
    void untouchedRamOfAStoppedGuestIsNotCountedAndThePlatformLimitHolds() {
        Admission.HostMemory plenty = new Admission.HostMemory(64 * GIB, Admission.UNLIMITED);
        assertEquals(Optional.empty(), Admission.refusal(GIB, 48 * MIB, List.of(new Admission.Running(GIB, 0)), 2 * GIB, plenty));
        String refused = Admission.refusal(GIB, 48 * MIB,
            List.of(new Admission.Running(GIB, 0), new Admission.Running(512 * MIB, 0)), 2 * GIB, plenty).orElseThrow();
        assertTrue(refused.contains("platform's limit of 2048 MiB"), refused);
    }

    @Test
    void theHostsFiguresAreReadFromMeminfoAndTheCgroupChain(@TempDir Path dir) throws Exception {
        Path proc = Files.createDirectories(dir.resolve("proc/self")).getParent();
        Files.writeString(proc.resolve("meminfo"), "MemTotal: 8000000 kB\nMemAvailable:    4194304 kB\n");
        Files.writeString(proc.resolve("self/cgroup"), "0::/a/b\n");
        Path root = dir.resolve("cg");
        Path b = Files.createDirectories(root.resolve("a/b"));
        Files.writeString(root.resolve("a/memory.max"), String.valueOf(3 * GIB));
        Files.writeString(root.resolve("a/memory.current"), String.valueOf(GIB));
        Files.writeString(b.resolve("memory.max"), "max\n");
        Files.writeString(b.resolve("memory.current"), "12345\n");
        Admission.HostMemory host = Admission.HostMemory.read(proc, root);
        assertEquals(4 * GIB, host.available());
        assertEquals(2 * GIB, host.cgroupRoom(), "the parent's limit binds");
    }

    @Test
    void cgroupV1sMemoryLimitCountsToo(@TempDir Path dir) throws Exception {
        Path proc = Files.createDirectories(dir.resolve("proc/self")).getParent();
        Files.writeString(proc.resolve("meminfo"), "MemAvailable:    8388608 kB\n");
        Files.writeString(proc.resolve("self/cgroup"), "5:devices:/\n4:memory:/box/one\n0::/\n");
        Path root = dir.resolve("cg");
        Path one = Files.createDirectories(root.resolve("memory/box/one"));
        Files.writeString(one.resolve("memory.limit_in_bytes"), String.valueOf(3 * GIB));
        Files.writeString(one.resolve("memory.usage_in_bytes"), String.valueOf(GIB / 2));
        Files.writeString(root.resolve("memory/memory.limit_in_bytes"), "9223372036854771712\n");
        Files.writeString(root.resolve("memory/memory.usage_in_bytes"), String.valueOf(GIB));
        assertEquals(3 * GIB - GIB / 2, Admission.HostMemory.read(proc, root).cgroupRoom());
    }

    @Test
    void residentCountsOnlyTouchedPages() {
        try (Arena arena = Arena.ofShared()) {
            MemorySegment ram = AnonymousMemory.map(arena, 64 * MIB);
            long before = AnonymousMemory.resident(ram);
            for (long at = 0; at < 4 * MIB; at += 4096) {
                ram.set(ValueLayout.JAVA_BYTE, at, (byte) 1);
            }
            long after = AnonymousMemory.resident(ram);
            assertTrue(after - before >= 4 * MIB && after < 64 * MIB, before + " then " + after);
        }
    }
}
