package org.lguest.bench;

import java.lang.management.ManagementFactory;
import java.lang.management.ThreadMXBean;
import java.util.HashMap;
import java.util.Locale;
import java.util.Map;

/**
 * What idle devices cost, run by hand: the virtio benchmarks' guests (a
 * disk, two cards on a switch, the notification probe) are set up and
 * worked (so every device thread has grown a spin budget), then left alone
 * with their vCPUs halted for {@code seconds}; the process's CPU time over
 * that time is printed, and the part the device threads took. An idle
 * device must cost nothing: each spins at most once, for at most its bound,
 * after its last work, and then parks until a doorbell or a frame.
 *
 * <pre>
 * java -cp lguest.bench/target/classes:$(cat lguest.bench/target/bench.classpath) org.lguest.bench.IdleProbe [seconds]
 * </pre>
 */
public final class IdleProbe {
    private IdleProbe() {
    }

    public static void main(String[] args) throws Exception {
        int seconds = args.length > 0 ? Integer.parseInt(args[0]) : 10;
        var os = (com.sun.management.OperatingSystemMXBean) ManagementFactory.getOperatingSystemMXBean();
        ThreadMXBean threads = ManagementFactory.getThreadMXBean();
        try (DiskBench disk = new DiskBench(8L << 20, 1); NetBench net = new NetBench(); NotifyBench notify = new NotifyBench()) {
            disk.virtio(DiskBench.Kind.READ);
            net.pingPong(2_000);
            notify.virtio(2_000);
            Thread.sleep(2_000); // let the JIT finish what the work above queued
            Map<Long, Long> before = deviceThreads(threads);
            Map<Long, Long> all0 = allThreads(threads);
            long cpu0 = os.getProcessCpuTime();
            long t0 = System.nanoTime();
            Thread.sleep(seconds * 1000L);
            long cpu1 = os.getProcessCpuTime();
            long wall = System.nanoTime() - t0;
            Map<Long, Long> after = deviceThreads(threads);
            Map<Long, Long> all1 = allThreads(threads);
            long devices = 0;
            for (Map.Entry<Long, Long> e : after.entrySet()) {
                devices += e.getValue() - before.getOrDefault(e.getKey(), 0L);
            }
            System.out.printf(Locale.ROOT, "idle %d s, %d device threads: process CPU %.1f ms (%.3f%% of one CPU), device threads %.3f ms%n",
                seconds, after.size(), (cpu1 - cpu0) / 1e6, 100.0 * (cpu1 - cpu0) / wall, devices / 1e6);
            // Who took the rest (Java threads only; the JVM's own GC and compiler threads are not Java threads).
            Map<String, Long> names = new HashMap<>();
            for (Thread t : Thread.getAllStackTraces().keySet()) {
                long d = all1.getOrDefault(t.threadId(), 0L) - all0.getOrDefault(t.threadId(), 0L);
                if (d > 0) {
                    names.merge(t.getName(), d, Long::sum);
                }
            }
            names.entrySet().stream().sorted(Map.Entry.<String, Long>comparingByValue().reversed()).limit(5)
                .forEach(e -> System.out.printf(Locale.ROOT, "  %-40s %.3f ms%n", e.getKey(), e.getValue() / 1e6));
        }
    }

    /** CPU nanoseconds of every live thread, by thread id (also IdleBench's). */
    static Map<Long, Long> allThreads(ThreadMXBean threads) {
        Map<Long, Long> out = new HashMap<>();
        for (Thread t : Thread.getAllStackTraces().keySet()) {
            out.put(t.threadId(), threads.getThreadCpuTime(t.threadId()));
        }
        return out;
    }

    /** CPU nanoseconds of every device thread (lguest.virtio names them lguest-virtio-GUEST-DEVICE). */
    private static Map<Long, Long> deviceThreads(ThreadMXBean threads) {
        Map<Long, Long> out = new HashMap<>();
        for (Thread t : Thread.getAllStackTraces().keySet()) {
            if (t.getName().startsWith("lguest-virtio-")) {
                out.put(t.threadId(), threads.getThreadCpuTime(t.threadId()));
            }
        }
        return out;
    }
}
