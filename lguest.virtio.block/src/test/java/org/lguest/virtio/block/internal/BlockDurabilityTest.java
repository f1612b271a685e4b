package org.lguest.virtio.block.internal;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Data the guest flushed survives the JVM being killed: a separate JVM writes, flushes, and is killed with SIGKILL. */
class BlockDurabilityTest {
    @TempDir
    Path dir;

    @Test
    void flushedDataSurvivesAKilledJvm() throws Exception {
        Path image = dir.resolve("durable.img");
        try (FileChannel f = FileChannel.open(image, java.nio.file.StandardOpenOption.CREATE_NEW,
                java.nio.file.StandardOpenOption.WRITE)) {
            f.write(ByteBuffer.wrap(new byte[1]), (1 << 20) - 1);
        }
        int seed = (int) (System.nanoTime() & 0xFFFF);
        String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
        Process child = new ProcessBuilder(java, "-cp", System.getProperty("java.class.path"),
            FlushingGuest.class.getName(), image.toString(), Integer.toString(seed))
            .redirectErrorStream(true).start();
        try {
            CompletableFuture<String> line = CompletableFuture.supplyAsync(() -> {
                try (BufferedReader r = new BufferedReader(new InputStreamReader(child.getInputStream()))) {
                    String l;
                    StringBuilder all = new StringBuilder();
                    while ((l = r.readLine()) != null) {
                        if (l.equals("FLUSHED")) {
                            return l;
                        }
                        all.append(l).append('\n');
                    }
                    return all.toString();
                } catch (java.io.IOException e) {
                    return e.toString();
                }
            });
            assertEquals("FLUSHED", line.get(60, TimeUnit.SECONDS));
        } finally {
            child.destroyForcibly(); // SIGKILL: no shutdown hooks, no finalization, no closing of the channel
            assertTrue(child.waitFor(30, TimeUnit.SECONDS));
        }
        assertEquals(137, child.exitValue(), "killed by SIGKILL");
        try (FileChannel f = FileChannel.open(image)) {
            for (int s = 0; s < 16; s++) {
                ByteBuffer b = ByteBuffer.allocate(4096);
                f.read(b, 512L * (64 + 8L * s));
                assertArrayEquals(BlockRequests.pattern(4096, seed + s), b.array(), "block " + s);
            }
        }
        assertEquals(1 << 20, Files.size(image));
    }
}
