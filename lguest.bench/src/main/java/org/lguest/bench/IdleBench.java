package org.lguest.bench;

import java.io.IOException;
import java.io.OutputStream;
import java.lang.management.ManagementFactory;
import java.lang.management.ThreadMXBean;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;

import org.lguest.api.device.LguestDevice;
import org.lguest.api.guest.Guest;
import org.lguest.api.guest.LaunchOptions;
import org.lguest.launcher.internal.Launcher;

/**
 * 10. What idle guests cost the host: the {@code idle} image (one line,
 * then HALT for ever) started 1, 200 and 1,000 times through the real
 * Launcher. Every figure is against a floor of the same run: the
 * process's resident memory, native threads and CPU time with no guest at
 * all (measured after one guest has come and gone, so the code every
 * guest needs is loaded), and the median launch of a single guest.
 * <p>
 * Per guest: resident memory beyond the guest RAM the host actually backs
 * (mincore over each guest's RAM), against the goal of 2 MiB; native
 * threads; the whole process's CPU time over {@code idleSeconds} with all
 * of them halted, against the same time with none; the launch to the
 * first console line, per guest, against one alone. After they all stop:
 * the resident memory kept, against the floor.
 */
final class IdleBench {
    /** The goal of issue 11: host memory an idle guest may cost beyond its RAM. */
    static final long GOAL_BYTES = 2L << 20;
    private static final int MEMORY_MIB = 2;
    private static final String IMAGE = "idle";

    /** What the process looked like at one moment. */
    record Process(long rssBytes, int threads) {
        /** VmRSS and Threads from /proc/self/status (Linux). */
        static Process now() {
            long rss = -1;
            int threads = -1;
            try {
                for (String line : Files.readAllLines(Path.of("/proc/self/status"))) {
                    if (line.startsWith("VmRSS:")) {
                        rss = Long.parseLong(line.replaceAll("[^0-9]", "")) * 1024;
                    } else if (line.startsWith("Threads:")) {
                        threads = Integer.parseInt(line.replaceAll("[^0-9]", ""));
                    }
                }
            } catch (IOException | NumberFormatException e) {
                throw new IllegalStateException("cannot read /proc/self/status: " + e, e);
            }
            return new Process(rss, threads);
        }
    }

    /** One size: N guests. */
    record Sample(int guests, double launchNanosPerGuest, Process up, long guestRamResident, double cpuShare, Process afterStop) {
    }

    private final LguestDevice device;
    private final int[] counts;
    private final int idleSeconds;
    private final Consumer<String> progress;
    private Process floor;
    private double floorCpuShare;
    /** The launch floor: the median of {@link #ALONE_LAUNCHES} launches of one guest with no other running. */
    private double aloneNanos;
    private static final int ALONE_LAUNCHES = 5;
    private final List<Sample> samples = new ArrayList<>();

    IdleBench(LguestDevice device, int[] counts, int idleSeconds, Consumer<String> progress) {
        this.device = device;
        this.counts = counts.clone();
        this.idleSeconds = idleSeconds;
        this.progress = progress;
    }

    void run() throws Exception {
        // Admission counts an overhead per guest; the goal's 2 MiB lets a thousand in on any host that can hold them.
        Launcher launcher = Launchers.launcher(device, Map.of("guest_overhead_mib", (int) (GOAL_BYTES >> 20)));
        try {
            // One guest comes and goes first, so the floor has the code and classes every guest needs.
            stopAll(launchAll(launcher, 1).guests);
            List<Double> alone = new ArrayList<>();
            for (int i = 0; i < ALONE_LAUNCHES; i++) {
                Launched one = launchAll(launcher, 1);
                stopAll(one.guests);
                alone.add(one.nanos);
            }
            aloneNanos = Stats.of(alone).median();
            settle();
            floor = Process.now();
            floorCpuShare = cpuShare();
            progress.accept(String.format(Locale.ROOT, "   floor (no guest): RSS %s, %d threads, CPU %.3f%% of one over %d s;"
                + " one guest alone launches in %s (median of %d)", mib(floor.rssBytes()), floor.threads(), 100 * floorCpuShare, idleSeconds,
                Bench.time(aloneNanos), ALONE_LAUNCHES));
            for (int n : counts) {
                Launched launched = launchAll(launcher, n);
                settle();
                Process up = Process.now();
                long resident = 0;
                for (Guest g : launched.guests) {
                    resident += g.residentBytes();
                }
                double cpu = cpuShare();
                stopAll(launched.guests);
                settle();
                Sample s = new Sample(n, launched.nanos / n, up, resident, cpu, Process.now());
                samples.add(s);
                progress.accept(String.format(Locale.ROOT,
                    "   %d idle guests: launch %s each, %s per guest beyond RAM (%s of RAM backed), %.2f threads each,"
                        + " CPU %.3f%% of one; after stop RSS %s over the floor",
                    n, Bench.time(s.launchNanosPerGuest()), mib(beyondRam(s)), mib(resident / n), threadsPerGuest(s),
                    100 * cpu, mib(s.afterStop().rssBytes() - floor.rssBytes())));
            }
        } finally {
            Launchers.deactivate(launcher);
        }
    }

    /** Resident bytes per guest beyond the guest RAM the host backs. */
    private double beyondRam(Sample s) {
        return (double) (s.up().rssBytes() - floor.rssBytes() - s.guestRamResident()) / s.guests();
    }

    private double threadsPerGuest(Sample s) {
        return (double) (s.up().threads() - floor.threads()) / s.guests();
    }

    private record Launched(List<Guest> guests, double nanos) {
    }

    /** Launches n idle guests and waits until each has said its line (it HALTs right after). */
    private static Launched launchAll(Launcher launcher, int n) throws Exception {
        CountDownLatch spoke = new CountDownLatch(n);
        List<Guest> guests = new ArrayList<>(n);
        long start = System.nanoTime();
        try {
            for (int i = 0; i < n; i++) {
                guests.add(launcher.launch(new LaunchOptions(IMAGE, MEMORY_MIB, new FirstLine(spoke))));
            }
            if (!spoke.await(10, TimeUnit.MINUTES)) {
                throw new IllegalStateException((n - spoke.getCount()) + " of " + n + " idle guests spoke within 10 minutes");
            }
        } catch (Exception | Error e) {
            stopAll(guests);
            throw e;
        }
        return new Launched(guests, System.nanoTime() - start);
    }

    private static void stopAll(List<Guest> guests) throws Exception {
        for (Guest g : guests) {
            g.stop();
        }
        for (Guest g : guests) {
            Guest.Outcome o = g.outcome().toCompletableFuture().get(2, TimeUnit.MINUTES);
            if (o.state() != Guest.State.STOPPED) {
                throw new IllegalStateException("an idle guest ended " + o + " instead of being stopped");
            }
        }
    }

    /** Lets what stopping or starting left behind finish (finalization of arenas, the collector), untimed. */
    private static void settle() throws InterruptedException {
        System.gc();
        Thread.sleep(2_000);
        System.gc();
        Thread.sleep(1_000);
    }

    /**
     * The process's CPU time over idleSeconds of wall time, as a share of
     * one CPU. Who took it is printed: Java threads by name (digits folded),
     * and the rest, the JVM's own threads (collector, compiler).
     */
    private double cpuShare() throws InterruptedException {
        var os = (com.sun.management.OperatingSystemMXBean) ManagementFactory.getOperatingSystemMXBean();
        ThreadMXBean threads = ManagementFactory.getThreadMXBean();
        Map<Long, Long> before = IdleProbe.allThreads(threads);
        long cpu0 = os.getProcessCpuTime(), t0 = System.nanoTime();
        Thread.sleep(idleSeconds * 1000L);
        long cpu = os.getProcessCpuTime() - cpu0, wall = System.nanoTime() - t0;
        Map<String, Long> byName = new HashMap<>();
        long java = 0;
        for (Thread t : Thread.getAllStackTraces().keySet()) {
            long now = threads.getThreadCpuTime(t.threadId());
            Long then = before.get(t.threadId());
            if (now > 0 && then != null && now > then) {
                byName.merge(t.getName().replaceAll("[0-9]+", "N"), now - then, Long::sum);
                java += now - then;
            }
        }
        StringBuilder who = new StringBuilder();
        byName.entrySet().stream().sorted(Map.Entry.<String, Long>comparingByValue().reversed()).limit(3)
            .forEach(e -> who.append(String.format(Locale.ROOT, "%s %.1f ms, ", e.getKey(), e.getValue() / 1e6)));
        progress.accept(String.format(Locale.ROOT, "   CPU %.1f ms in %d s: %sthe JVM's own threads %.1f ms", cpu / 1e6, idleSeconds, who,
            Math.max(0, cpu - java) / 1e6));
        return (double) cpu / wall;
    }

    /** Counts down once, at the first newline. */
    private static final class FirstLine extends OutputStream {
        private final CountDownLatch spoke;
        private boolean done;

        FirstLine(CountDownLatch spoke) {
            this.spoke = spoke;
        }

        @Override
        public synchronized void write(int b) {
            if (b == '\n' && !done) {
                done = true;
                spoke.countDown();
            }
        }
    }

    static String mib(double bytes) {
        return String.format(Locale.ROOT, "%.2f MiB", bytes / (1 << 20));
    }

    /** The results as a Markdown table: one row per size, the floors in the first. */
    String table() {
        StringBuilder out = new StringBuilder();
        out.append(String.format(Locale.ROOT, "Floor (no guest, after one came and went): RSS %s, %d native threads, "
            + "CPU %.3f%% of one CPU over %d s; one guest alone launches in %s (median of %d). Guests: `%s`, %d MiB of RAM each.%n%n",
            mib(floor.rssBytes()), floor.threads(), 100 * floorCpuShare, idleSeconds, Bench.time(aloneNanos), ALONE_LAUNCHES, IMAGE,
            MEMORY_MIB));
        out.append("| idle guests | RSS per guest beyond RAM | against the 2 MiB goal | guest RAM backed, each | threads per guest "
            + "| CPU over " + idleSeconds + " s (floor " + String.format(Locale.ROOT, "%.3f%%", 100 * floorCpuShare) + ") "
            + "| launch per guest | against one alone | RSS kept after stop | against the floor's RSS |\n");
        out.append("|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n");
        double alone = aloneNanos;
        for (Sample s : samples) {
            long kept = s.afterStop().rssBytes() - floor.rssBytes();
            out.append(String.format(Locale.ROOT, "| %,d | %s | %.2fx | %s | %.2f | %.3f%% | %s | %.2fx | %s | %.2fx |%n", s.guests(),
                mib(beyondRam(s)), beyondRam(s) / GOAL_BYTES, mib((double) s.guestRamResident() / s.guests()),
                threadsPerGuest(s), 100 * s.cpuShare(), Bench.time(s.launchNanosPerGuest()), s.launchNanosPerGuest() / alone,
                mib(kept), (double) s.afterStop().rssBytes() / floor.rssBytes()));
        }
        return out.toString();
    }
}
