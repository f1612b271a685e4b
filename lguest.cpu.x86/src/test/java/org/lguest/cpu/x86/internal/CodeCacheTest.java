package org.lguest.cpu.x86.internal;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Optional;

import org.junit.jupiter.api.Test;
import org.lguest.api.cpu.VcpuState;
import org.lguest.cpu.x86.internal.unicorn.Engine;
import org.lguest.cpu.x86.internal.unicorn.HostMemory;
import org.lguest.cpu.x86.internal.unicorn.Unicorn;

/** The translation cache each engine gets: the configured size, reserved lazily, never on huge pages. */
class CodeCacheTest {
    private static final long MIB = 1 << 20;

    @Test
    void everyGuestCpuGetsTheConfiguredCache() throws Exception {
        try (TestGuest guest = new TestGuest()) {
            assertEquals(UnicornBackend.DEFAULT_CODE_CACHE_MIB * MIB, ((UnicornVcpu) guest.vcpu).codeCacheBytes());
            UnicornBackend small = new UnicornBackend(Unicorn.load(), 3 * MIB);
            UnicornVcpu other = (UnicornVcpu) small.create(guest.machine, new VcpuState(1));
            try {
                assertEquals(3 * MIB, other.codeCacheBytes());
            } finally {
                other.close();
            }
        }
    }

    @Test
    void anEngineReservesItsConfiguredCacheNotUnicornsGigabyte() {
        Unicorn unicorn = Unicorn.load();
        long before = virtualBytes();
        try (Engine engine = Engine.open(unicorn)) {
            long grew = virtualBytes() - before;
            assertEquals(1024 * MIB, engine.codeCacheBytes(), "Unicorn 2.1's own default");
            assertTrue(grew >= 512 * MIB, "the default cache reserves its gigabyte; the process grew by " + grew / MIB + " MiB");
        }
        before = virtualBytes();
        try (Engine engine = Engine.open(unicorn, 8 * MIB)) {
            long grew = virtualBytes() - before;
            assertEquals(8 * MIB, engine.codeCacheBytes());
            assertTrue(grew < 256 * MIB, "an 8 MiB cache; the process grew by " + grew / MIB + " MiB");
        }
    }

    @Test
    void aSmallCacheIsNeverBackedByHugePages() {
        try (Engine engine = Engine.open(Unicorn.load(), 8 * MIB)) {
            assertTrue(HostMemory.hugePagesOff());
            status("THP_enabled:").ifPresent(v -> assertEquals(0, v, "the kernel says THP is still on for this process"));
        }
    }

    @Test
    void cacheSizesOutsideUnicornsBoundsAreRefused() {
        Unicorn unicorn = Unicorn.load();
        assertThrows(IllegalArgumentException.class, () -> Engine.open(unicorn, MIB / 2));
        assertThrows(IllegalArgumentException.class, () -> Engine.open(unicorn, 4096 * MIB));
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> new UnicornBackend(unicorn, 0));
        assertTrue(e.getMessage().contains("code_cache_mib"), e.getMessage());
    }

    /** VmSize of this process. */
    static long virtualBytes() {
        return status("VmSize:").orElseThrow() * 1024;
    }

    /** A number from /proc/self/status, or empty when the kernel has no such line. */
    static Optional<Long> status(String field) {
        try {
            return Files.readAllLines(Path.of("/proc/self/status")).stream().filter(l -> l.startsWith(field))
                    .map(l -> Long.parseLong(l.substring(field.length()).replaceAll("[^0-9]", ""))).findFirst();
        } catch (IOException e) {
            throw new IllegalStateException(e);
        }
    }
}
