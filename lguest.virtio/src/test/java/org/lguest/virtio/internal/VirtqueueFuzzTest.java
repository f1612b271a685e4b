package org.lguest.virtio.internal;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.time.Duration;
import java.util.EnumMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.atomic.AtomicInteger;

import org.junit.jupiter.api.Test;
import org.lguest.api.virtio.DescriptorChain;
import org.lguest.api.virtio.Virtio;
import org.lguest.api.virtio.VirtioGuest;
import org.lguest.virtio.testkit.DriverDevice;
import org.lguest.virtio.testkit.DriverQueue;
import org.lguest.virtio.testkit.EchoDevice;
import org.lguest.virtio.testkit.GuardedRam;
import org.lguest.virtio.testkit.GuestDriver;
import org.lguest.virtio.testkit.RecordingInterrupts;

/**
 * Random and malformed descriptor chains, as a hostile guest would write
 * them: nothing may escape, nothing outside guest RAM may change, every
 * malformed chain must break the device, every good one must be served,
 * and a broken device must stay broken until the guest resets it.
 */
class VirtqueueFuzzTest {
    private static final long RAM = 4 << 20;
    private static final int QUEUE_LEVEL_CHAINS = Integer.getInteger("fuzz.queue", 200_000);
    private static final int TRANSPORT_LEVEL_CHAINS = Integer.getInteger("fuzz.transport", 100_000);
    private static final long SEED = Long.getLong("fuzz.seed", 0x5EED_1A6E57L);

    /** Straight against the queue: the device's side of every chain, many sizes. */
    @Test
    void queueLevel() {
        Random random = new Random(SEED);
        Map<ChainFuzzer.Kind, int[]> counts = new EnumMap<>(ChainFuzzer.Kind.class);
        int escaped = 0;
        int broken = 0;
        int taken = 0;
        int resets = 0;
        long bytesWritten = 0;
        int[] sizes = {1, 2, 4, 16, 64, 256};
        try (GuardedRam memory = new GuardedRam(RAM); Arena scratch = Arena.ofConfined()) {
            MemorySegment buffer = scratch.allocate(1 << 16);
            FakeHost host = new FakeHost(memory.guestRam(), QueueRig.all());
            QueueRig rig = null;
            ChainFuzzer fuzzer = null;
            for (int n = 0; n < QUEUE_LEVEL_CHAINS; n++) {
                if (rig == null) {
                    host.features = random.nextInt(8) == 0 ? Virtio.bit(Virtio.F_VERSION_1) : QueueRig.all();
                    rig = new QueueRig(host, sizes[random.nextInt(sizes.length)]);
                    rig.restart();
                    fuzzer = new ChainFuzzer(random, rig.ram, QueueRig.DESC, QueueRig.AVAIL, QueueRig.USED, rig.size,
                        QueueRig.DATA, RAM - QueueRig.DATA);
                    resets++;
                }
                int usedBefore = rig.usedIdx();
                ChainFuzzer.Kind kind = fuzzer.next();
                boolean indirectRefused = (host.features & Virtio.bit(Virtio.F_RING_INDIRECT_DESC)) == 0
                    && kind == ChainFuzzer.Kind.VALID_INDIRECT;
                try {
                    DescriptorChain chain;
                    int guard = 0;
                    while ((chain = rig.queue.next()) != null && guard++ < 1024) {
                        long w = Math.min(chain.writableLength(), buffer.byteSize());
                        buffer.asSlice(0, w).fill((byte) n);
                        bytesWritten += chain.write(0, buffer.asSlice(0, w));
                        chain.read(random.nextInt(64), buffer.asSlice(0, Math.min(chain.readableLength(), buffer.byteSize())));
                        rig.queue.complete(chain, random.nextInt(8) == 0 ? random.nextInt() : (int) w);
                    }
                    rig.queue.notifyGuest();
                } catch (Throwable t) {
                    escaped++;
                    if (escaped < 5) {
                        t.printStackTrace();
                    }
                }
                int[] c = counts.computeIfAbsent(kind, k -> new int[2]);
                if (host.broken != null) {
                    c[1]++;
                    broken++;
                    if (kind.outcome == ChainFuzzer.Outcome.TAKEN && !indirectRefused) {
                        fail(kind + " was refused: " + host.broken);
                    }
                    assertTrue(host.fault.driverAtFault(), kind + " broke a named rule, not the queue's code: " + host.broken);
                    assertNull(rig.queue.next(), "broken until reset");
                    rig = null;
                } else {
                    c[0]++;
                    taken++;
                    if (kind.outcome == ChainFuzzer.Outcome.BREAKS || indirectRefused) {
                        fail(kind + " was taken");
                    }
                    if (kind.outcome == ChainFuzzer.Outcome.TAKEN) {
                        assertEquals((usedBefore + 1) & 0xFFFF, rig.usedIdx(), kind + " was served");
                    }
                }
            }
            long changed = memory.changedGuardBytes();
            System.out.printf("FUZZ queue level: %d chains (seed %#x): %d served, %d broke the device, %d resets, "
                + "%d bytes written by the device, %d exceptions escaped, %d guard bytes changed%n",
                QUEUE_LEVEL_CHAINS, SEED, taken, broken, resets, bytesWritten, escaped, changed);
            counts.forEach((k, v) -> System.out.printf("  %-24s served %6d  broke %6d%n", k, v[0], v[1]));
            assertEquals(0, escaped, "exceptions escaped");
            assertEquals(0, changed, "guard bytes changed");
        }
    }

    /**
     * Through the whole transport: the guest driver sets the device up over
     * MMIO, writes each chain, notifies through the queue's eventfd, and the
     * device's own thread serves it.
     */
    @Test
    void transportLevel() throws Exception {
        Random random = new Random(SEED ^ 0x7A);
        Map<ChainFuzzer.Kind, int[]> counts = new EnumMap<>(ChainFuzzer.Kind.class);
        AtomicInteger uncaught = new AtomicInteger();
        Thread.UncaughtExceptionHandler previous = Thread.getDefaultUncaughtExceptionHandler();
        Thread.setDefaultUncaughtExceptionHandler((t, e) -> {
            uncaught.incrementAndGet();
            e.printStackTrace();
        });
        int broken = 0;
        int served = 0;
        int resets = 0;
        int deviceFailures = 0;
        long start = System.nanoTime();
        try (GuardedRam memory = new GuardedRam(RAM)) {
            EchoDevice echo = new EchoDevice("echo", 64);
            RecordingInterrupts irqs = new RecordingInterrupts();
            VirtioPciBus bus = new VirtioPciBus(VirtioGuest.of(1, "fuzz", null), memory.guestRam(), irqs, RAM, 1,
                List.of(echo), null);
            try {
                GuestDriver driver = new GuestDriver(bus, memory.guestRam());
                DriverDevice dev = driver.find(EchoDevice.TYPE);
                long features = dev.deviceFeatures();
                DriverQueue q = dev.start(features, 0)[0];
                long data = driver.alloc(1 << 20, 4096);
                ChainFuzzer fuzzer = new ChainFuzzer(random, memory.ram(), q.descAddress(), q.availAddress(),
                    q.usedAddress(), q.size(), data, 1 << 20);
                for (int n = 0; n < TRANSPORT_LEVEL_CHAINS; n++) {
                    int usedBefore = q.usedIndex();
                    ChainFuzzer.Kind kind = fuzzer.next();
                    if (random.nextBoolean()) {
                        q.kick();
                    } else {
                        q.kickMmio();
                    }
                    long deadline = System.nanoTime() + Duration.ofSeconds(10).toNanos();
                    // Done when the device broke, or used every chain up to the available index.
                    while (!dev.broken() && q.usedIndex() != fuzzer.availIdx) {
                        if (System.nanoTime() > deadline) {
                            fail("chain " + n + " (" + kind + ") neither served nor refused");
                        }
                        Thread.onSpinWait();
                    }
                    int[] c = counts.computeIfAbsent(kind, k -> new int[2]);
                    if (dev.broken()) {
                        c[1]++;
                        broken++;
                        String why = bus.slots().get(0).broken();
                        assertNotNull(why);
                        if (why.startsWith("the device failed")) {
                            deviceFailures++;
                        }
                        if (kind.outcome == ChainFuzzer.Outcome.TAKEN) {
                            fail(kind + " was refused: " + why);
                        }
                        assertTrue((dev.isr() & Virtio.ISR_CONFIG) != 0, "a configuration interrupt told the guest");
                        if (random.nextInt(50) == 0) {
                            // still broken: a good chain now is not served
                            q.forget();
                            q.add(List.of(new byte[] {1}), List.of(1));
                            q.publish();
                            q.kick();
                            Thread.sleep(2);
                            assertTrue(dev.broken());
                        }
                        dev.restart(features, q);
                        fuzzer.availIdx = 0;
                        resets++;
                    } else {
                        c[0]++;
                        served++;
                        if (kind.outcome == ChainFuzzer.Outcome.BREAKS) {
                            fail(kind + " was taken");
                        }
                        if (kind.outcome == ChainFuzzer.Outcome.TAKEN) {
                            assertEquals((usedBefore + 1) & 0xFFFF, q.usedIndex(), kind + " was served");
                        }
                    }
                }
            } finally {
                bus.close();
            }
            long changed = memory.changedGuardBytes();
            double seconds = (System.nanoTime() - start) / 1e9;
            System.out.printf("FUZZ transport level: %d chains (seed %#x) in %.1f s: %d served, %d broke the device, "
                + "%d resets, %d device exceptions, %d uncaught exceptions, %d interrupts, %d guard bytes changed%n",
                TRANSPORT_LEVEL_CHAINS, SEED ^ 0x7A, seconds, served, broken, resets, deviceFailures, uncaught.get(),
                irqs.count(1), changed);
            counts.forEach((k, v) -> System.out.printf("  %-24s served %6d  broke %6d%n", k, v[0], v[1]));
            assertEquals(0, uncaught.get(), "exceptions escaped the device threads");
            assertEquals(0, deviceFailures, "the platform threw into the device");
            assertEquals(0, changed, "guard bytes changed");
        } finally {
            Thread.setDefaultUncaughtExceptionHandler(previous);
        }
    }
}
