package org.lguest.bench;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.locks.Condition;
import java.util.concurrent.locks.LockSupport;
import java.util.concurrent.locks.ReentrantLock;

import org.lguest.api.device.Eventfd;

/**
 * A diagnostic behind benchmark 8, not one of the benchmarks: the wake-up
 * chain of lguest.virtio's {@code DeviceRunner} re-created outside the
 * platform (its classes are internal), to see what the extra hop costs. A
 * notification there goes eventfd → the device's waiter thread (virtual)
 * blocked in {@link Eventfd#read()} → {@code kick}: a lock and a condition
 * → the device thread. Three shapes are timed from {@code signal} to the
 * device thread running, interleaved round by round:
 * <ul>
 * <li>{@code virtual}: that chain, with a virtual waiter (as the platform has it);
 * <li>{@code platform}: the same chain with a platform waiter;
 * <li>{@code direct}: one hop, the device thread blocked in {@link Eventfd#read()} itself.
 * </ul>
 *
 * <pre>
 * java -cp lguest.bench/target/classes:$(cat lguest.bench/target/bench.classpath) org.lguest.bench.HopProbe [rounds]
 * </pre>
 */
public final class HopProbe {
    private static volatile long reached;

    private HopProbe() {
    }

    private static Runnable chain(String shape, Thread guest) {
        Eventfd eventfd = new Eventfd();
        if (shape.equals("direct")) {
            Thread.ofPlatform().name("device-" + shape).daemon().start(() -> {
                try {
                    while (eventfd.read() != 0) {
                        reached = System.nanoTime();
                        LockSupport.unpark(guest);
                    }
                } catch (InterruptedException e) {
                    // end
                }
            });
            return () -> eventfd.signal(1);
        }
        ReentrantLock lock = new ReentrantLock();
        Condition changed = lock.newCondition();
        boolean[] pending = new boolean[1];
        Thread.ofPlatform().name("device-" + shape).daemon().start(() -> {
            while (true) {
                lock.lock();
                try {
                    while (!pending[0]) {
                        changed.awaitUninterruptibly();
                    }
                    pending[0] = false;
                } finally {
                    lock.unlock();
                }
                reached = System.nanoTime();
                LockSupport.unpark(guest);
            }
        });
        Runnable waiter = () -> {
            try {
                while (eventfd.read() != 0) {
                    lock.lock();
                    try {
                        pending[0] = true;
                        changed.signalAll();
                    } finally {
                        lock.unlock();
                    }
                }
            } catch (InterruptedException e) {
                // end
            }
        };
        (shape.equals("virtual") ? Thread.ofVirtual() : Thread.ofPlatform().daemon()).name("waiter-" + shape).start(waiter);
        return () -> eventfd.signal(1);
    }

    public static void main(String[] args) {
        int rounds = Math.max(5, args.length > 0 ? Integer.parseInt(args[0]) : 24);
        int n = 20_000;
        String[] shapes = {"virtual", "platform", "direct"};
        Map<String, Runnable> signal = new LinkedHashMap<>();
        Map<String, List<Double>> medians = new LinkedHashMap<>(), means = new LinkedHashMap<>();
        for (String s : shapes) {
            signal.put(s, chain(s, Thread.currentThread()));
            medians.put(s, new ArrayList<>());
            means.put(s, new ArrayList<>());
        }
        for (int round = 0; round < rounds; round++) {
            for (String s : shapes) {
                long[] v = new long[n];
                for (int i = 0; i < n; i++) {
                    long before = reached;
                    long start = System.nanoTime();
                    signal.get(s).run();
                    while (reached == before) {
                        LockSupport.park();
                    }
                    v[i] = reached - start;
                }
                double mean = Arrays.stream(v).average().orElseThrow();
                Arrays.sort(v);
                if (round >= 4) { // the first rounds warm up
                    medians.get(s).add((double) v[n / 2]);
                    means.get(s).add(mean);
                }
            }
        }
        for (String s : shapes) {
            List<Double> m = medians.get(s), a = means.get(s);
            Collections.sort(m);
            Collections.sort(a);
            System.out.printf(Locale.ROOT, "%-8s signal to the device thread: median %s (rounds %s to %s), mean %s%n", s,
                Bench.time(m.get(m.size() / 2)), Bench.time(m.getFirst()), Bench.time(m.getLast()), Bench.time(a.get(a.size() / 2)));
        }
    }
}
