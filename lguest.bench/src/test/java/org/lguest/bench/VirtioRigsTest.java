package org.lguest.bench;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;

/**
 * The virtio benchmarks' rigs (6-8) do what they claim, in tiny sizes: every
 * round checks its own results (data stamps, status bytes, sequence numbers,
 * used lengths) and throws when one is wrong, and closing a guest checks the
 * guard bytes around its RAM. Nothing here is timed or compared.
 */
class VirtioRigsTest {

    /** The first figure of a round (the benchmark's own) is a real time; later ones are diagnostics. */
    private static void positive(double[] figures) {
        assertTrue(figures[0] > 0 && Double.isFinite(figures[0]), "a figure of " + figures[0]);
    }

    @Test
    void diskRoundsReadWriteAndFlushTheImage() throws Exception {
        for (int depth : new int[] {1, 8}) {
            try (DiskBench d = new DiskBench(1 << 20, depth)) {
                for (DiskBench.Kind kind : DiskBench.Kind.values()) {
                    positive(d.virtio(kind));
                    positive(d.direct(kind));
                    d.settle();
                }
                positive(d.virtio(DiskBench.Kind.READ)); // what the virtio writes left is read back with the right stamps
                assertTrue(d.kicks() > 0 && d.interrupts() > 0);
            }
        }
    }

    @Test
    void framesGoBothWaysThroughTheSwitchAndTheFloors() throws Exception {
        try (NetBench n = new NetBench(); NetBench.Queues q = new NetBench.Queues(); NetBench.Udp u = new NetBench.Udp()) {
            positive(n.pingPong(50));
            positive(n.bursts(5));
            positive(n.pingPong(5));
            positive(q.pingPong(50));
            positive(q.bursts(5));
            positive(u.pingPong(50));
            positive(u.bursts(5));
            assertTrue(n.interrupts() > 0 && n.kicks() > 0);
        }
    }

    @Test
    void notificationsReachTheProbeAndComeBack() throws Exception {
        try (NotifyBench n = new NotifyBench()) {
            double[] v = n.virtio(200);
            assertEquals(3, v.length);
            for (double f : v) {
                assertTrue(f > 0 && Double.isFinite(f), "a figure of " + f);
            }
            positive(n.floor(200));
            assertTrue(n.interrupts() > 0); // not one per chain: event indexes let the device skip some
        }
    }
}
