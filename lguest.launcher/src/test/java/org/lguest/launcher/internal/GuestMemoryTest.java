package org.lguest.launcher.internal;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.file.Files;
import java.nio.file.Path;

import org.junit.jupiter.api.Test;

/** Guest RAM costs the host only the pages the guest touches. */
class GuestMemoryTest {
    private static final long MIB = 1 << 20;

    /** This process's resident set, from the kernel's own account. */
    private static long residentBytes() throws IOException {
        for (String line : Files.readAllLines(Path.of("/proc/self/status"))) {
            if (line.startsWith("VmRSS:")) {
                return Long.parseLong(line.replaceAll("\\D", "")) * 1024;
            }
        }
        throw new IllegalStateException("no VmRSS in /proc/self/status");
    }

    @Test
    void untouchedRamIsNotResidentAndReadsAsZero() throws IOException {
        try (Arena arena = Arena.ofShared()) {
            long before = residentBytes();
            MemorySegment ram = GuestMemory.map(arena, 1024 * MIB);
            assertEquals(0, ram.address() % 4096, "page-aligned");
            for (long at = 0; at < ram.byteSize(); at += 64 * MIB) {
                ram.set(ValueLayout.JAVA_LONG, at, at);
            }
            long grown = residentBytes() - before;
            assertTrue(grown < 64 * MIB, "1 GiB mapped, 16 pages touched, yet " + (grown >> 20) + " MiB became resident");
            assertEquals(0, ram.get(ValueLayout.JAVA_LONG, 8), "fresh pages are zero");
            assertEquals(64 * MIB, ram.get(ValueLayout.JAVA_LONG, 64 * MIB));
        }
    }
}
