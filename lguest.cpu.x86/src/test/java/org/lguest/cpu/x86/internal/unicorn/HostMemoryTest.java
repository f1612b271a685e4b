package org.lguest.cpu.x86.internal.unicorn;

import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

import org.junit.jupiter.api.Test;

/** Memory closed engines leave in the C heap goes back to the system. */
class HostMemoryTest {
    private static final long MIB = 1 << 20;
    private static final int ENGINES = 64;

    @Test
    void whatClosedEnginesHeldIsGivenBack() throws Exception {
        Unicorn unicorn = Unicorn.load();
        // One engine first, so that what the JVM keeps for good (classes, compiled code, upcall stubs) is in the floor.
        Thread.ofPlatform().start(() -> Engine.open(unicorn, 4 * MIB).close()).join();
        HostMemory.trim();
        long before = residentBytes();
        long[] open = new long[1];
        // On a thread of their own, as a guest's CPU is: glibc gives such a thread an arena of its own, which it keeps.
        Thread.ofPlatform().start(() -> {
            List<Engine> engines = new ArrayList<>();
            for (int i = 0; i < ENGINES; i++) {
                engines.add(Engine.open(unicorn, 4 * MIB));
            }
            try {
                open[0] = residentBytes();
            } catch (IOException e) {
                throw new IllegalStateException(e);
            }
            engines.forEach(Engine::close);
        }).join();
        HostMemory.trim(); // closing asked for one already, on a thread of its own: this one makes sure it is done
        long after = residentBytes();
        long took = open[0] - before, kept = after - before;
        assertTrue(took >= ENGINES * MIB / 2, "the engines took only " + took / MIB + " MiB: nothing to measure");
        assertTrue(kept < took / 2, String.format("of %d MiB the engines took, %d MiB is still resident", took / MIB, kept / MIB));
        assertTrue(HostMemory.trims() > 0);
    }

    private static long residentBytes() throws IOException {
        return Files.readAllLines(Path.of("/proc/self/status")).stream().filter(l -> l.startsWith("VmRSS:"))
                .map(l -> Long.parseLong(l.replaceAll("[^0-9]", "")) * 1024).findFirst().orElseThrow();
    }
}
