package org.lguest.bench;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.LockSupport;

import org.lguest.api.virtio.DescriptorChain;
import org.lguest.api.virtio.DeviceContext;
import org.lguest.api.virtio.DeviceSession;
import org.lguest.api.virtio.VirtQueue;
import org.lguest.api.virtio.Virtio;
import org.lguest.api.virtio.VirtioDevice;
import org.lguest.virtio.testkit.DriverQueue;

/**
 * Benchmark 8: from a guest's notification to the device's {@code serve},
 * and the whole round trip back to the guest. A probe device (below) does
 * nothing but note when its {@code serve} starts and write that time into
 * the chain it returns. The guest (the calling thread) publishes a one-buffer
 * chain, takes the time, signals the queue's eventfd (what the Host does for
 * {@code LHCALL_NOTIFY} at the queue's address), halts until the interrupt,
 * reads the ISR and finds the chain used. Between two notifications both
 * sides are asleep: the device thread waits for work, the guest for its
 * interrupt.
 * <p>
 * The floor: the same two hand-offs between two plain platform threads with
 * {@link LockSupport#park}/{@link LockSupport#unpark} and a volatile flag each
 * way, the least a thread hand-off in Java costs; "one way" is from before
 * the unpark to the woken thread's first instruction.
 */
final class NotifyBench implements AutoCloseable {
    /** A device type no guest driver knows (it is never seen by a guest). */
    static final int PROBE_TYPE = 0x3E;

    /** Notes the time its {@code serve} starts and hands every chain back with that time in its buffer. */
    static final class ProbeDevice implements VirtioDevice {
        @Override
        public int type() {
            return PROBE_TYPE;
        }

        @Override
        public String name() {
            return "probe";
        }

        @Override
        public long features() {
            return 0;
        }

        @Override
        public int[] queueSizes() {
            return new int[] {16};
        }

        @Override
        public int configSize() {
            return 0;
        }

        @Override
        public DeviceSession attach(DeviceContext context) {
            MemorySegment stamp = MemorySegment.ofArray(new long[1]);
            return new DeviceSession() {
                @Override
                public int readConfig(int offset, int size) {
                    return 0;
                }

                @Override
                public void activate(long features) {
                }

                @Override
                public void serve(int queue) {
                    VirtQueue q = context.queue(queue);
                    DescriptorChain chain;
                    while ((chain = q.next()) != null) {
                        // Per chain: a serve may take the next notification's chain too.
                        stamp.set(ValueLayout.JAVA_LONG, 0, System.nanoTime());
                        q.complete(chain, (int) chain.write(0, stamp));
                    }
                }

                @Override
                public void reset() {
                }

                @Override
                public void close() {
                }
            };
        }
    }

    private final BenchGuest guest;
    private final BenchGuest.Queue queue;
    private final long buffer;
    private final Thread partner;
    private final Thread self = Thread.currentThread();
    private volatile boolean go, done, stopped;
    private volatile long woke;

    NotifyBench() {
        guest = new BenchGuest(1, "bench-notify", 1L << 20, List.of(new ProbeDevice()));
        guest.runOnThisThread();
        queue = guest.start(guest.driver.find(PROBE_TYPE), 0)[0];
        buffer = guest.driver.alloc(8, 8);
        queue.descriptor(0, buffer, 8, Virtio.DESC_F_WRITE, 0);
        partner = Thread.ofPlatform().name("floor-partner").daemon().start(() -> {
            while (true) {
                while (!go) {
                    if (stopped) {
                        return;
                    }
                    LockSupport.park(this);
                }
                go = false;
                woke = System.nanoTime();
                done = true;
                LockSupport.unpark(self);
            }
        });
    }

    /**
     * {@code n} notifications: nanoseconds from the signal to {@code serve} and to the guest seeing the chain
     * used, the median of the round's notifications for each, then the mean round trip (tails included).
     */
    double[] virtio(int n) {
        MemorySegment ram = guest.ram;
        long[] oneWay = new long[n], roundTrip = new long[n];
        for (int i = 0; i < n; i++) {
            queue.offer(0);
            queue.ring.publish();
            long start = System.nanoTime();
            queue.eventfd.signal(1);
            DriverQueue.Used u = queue.await();
            long end = System.nanoTime();
            if (u.head() != 0 || u.length() != 8) {
                throw new IllegalStateException("the probe returned " + u);
            }
            oneWay[i] = ram.get(ValueLayout.JAVA_LONG_UNALIGNED, buffer) - start;
            roundTrip[i] = end - start;
        }
        return summary(oneWay, roundTrip);
    }

    private static double[] summary(long[] oneWay, long[] roundTrip) {
        double mean = java.util.Arrays.stream(roundTrip).average().orElseThrow();
        java.util.Arrays.sort(oneWay);
        java.util.Arrays.sort(roundTrip);
        return new double[] {oneWay[oneWay.length / 2], roundTrip[roundTrip.length / 2], mean};
    }

    /** The same with a parked platform thread: nanoseconds to its waking, and back. */
    double[] floor(int n) {
        long[] oneWay = new long[n], roundTrip = new long[n];
        for (int i = 0; i < n; i++) {
            long start = System.nanoTime();
            go = true;
            LockSupport.unpark(partner);
            while (!done) {
                LockSupport.park(this);
            }
            done = false;
            long end = System.nanoTime();
            oneWay[i] = woke - start;
            roundTrip[i] = end - start;
        }
        return summary(oneWay, roundTrip);
    }

    long interrupts() {
        return guest.interrupts.get();
    }

    @Override
    public void close() throws InterruptedException {
        stopped = true;
        LockSupport.unpark(partner);
        partner.join(TimeUnit.SECONDS.toMillis(10));
        guest.close();
    }
}
