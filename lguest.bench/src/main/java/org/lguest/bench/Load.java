package org.lguest.bench;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * How busy the machine was with other processes while a block ran: the CPU
 * time of the whole machine ({@code /proc/stat}) less this JVM's own
 * ({@code /proc/self/stat}), over the wall time of all CPUs. The virtio
 * benchmarks hand work between threads several times per operation, and on
 * two shared cores a thread woken while another process holds the CPU can
 * wait a scheduler tick (milliseconds): a block during which others were
 * busy shows it at once. Linux only; elsewhere it reads as unknown.
 */
final class Load {
    private final long machine, self, nanos;

    private Load(long machine, long self, long nanos) {
        this.machine = machine;
        this.self = self;
        this.nanos = nanos;
    }

    /** Now; null where /proc cannot be read. */
    static Load now() {
        try {
            String[] cpu = Files.readAllLines(Path.of("/proc/stat")).getFirst().trim().split("\\s+");
            // cpu user nice system idle iowait irq softirq steal ...
            long busy = 0;
            for (int i : new int[] {1, 2, 3, 6, 7, 8}) {
                busy += Long.parseLong(cpu[i]);
            }
            String stat = Files.readString(Path.of("/proc/self/stat"));
            String[] f = stat.substring(stat.lastIndexOf(')') + 2).trim().split("\\s+");
            long own = Long.parseLong(f[11]) + Long.parseLong(f[12]); // utime, stime (fields 14 and 15)
            return new Load(busy, own, System.nanoTime());
        } catch (IOException | RuntimeException e) {
            return null;
        }
    }

    /** The share of all CPUs other processes used since {@code before} (clock ticks of 10 ms: coarse), or -1. */
    static double othersSince(Load before) {
        Load after = now();
        if (before == null || after == null || after.nanos - before.nanos < 50_000_000L) {
            return -1;
        }
        double ticks = (after.machine - before.machine) - (after.self - before.self);
        double available = (after.nanos - before.nanos) / 1e7 * Runtime.getRuntime().availableProcessors();
        return Math.max(0, ticks / available);
    }
}
