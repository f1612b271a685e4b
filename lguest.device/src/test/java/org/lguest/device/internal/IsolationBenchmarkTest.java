package org.lguest.device.internal;

import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;

import org.junit.jupiter.api.Test;
import org.lguest.api.abi.Errno;
import org.lguest.api.abi.LguestData;
import org.lguest.api.abi.Lhcall;

/*
 * Issue 13, finding 2, measured (./test --long): a neighbour's clock on the
 * Host's shared clock thread, alone and beside each hostile guest, and how
 * long a stop (the reader's interrupt, as lguest:stop sends it) takes to
 * come back from each. The fake engine stands in for Unicorn, so this
 * measures the Host's own machinery, not the emulator. Ratios only, against
 * the neighbour alone in the same run; nothing here is asserted.
 */
class IsolationBenchmarkTest {
    private static final int TICKS = 300;

    @Test
    void neighbourSlowdownAndStopLatencyBesideHostileGuests() throws Exception {
        assumeTrue(Boolean.getBoolean("lguest.long"), "a benchmark: ./test --long");
        StringBuilder report = new StringBuilder("IsolationBenchmarkTest (fake engine, " + TICKS + " 1 ms ticks)\n");
        double alone;
        try (Rig rig = new Rig()) {
            alone = ticks(rig);
        }
        report.append(String.format("  neighbour alone           %.2f ms per tick%n", alone / TICKS / 1e6));
        for (String hostile : new String[] {"spinning", "holding its CPU lock, clock pending", "halted, interrupt pending but blocked"}) {
            try (Rig rig = new Rig()) {
                CountDownLatch ready = new CountDownLatch(1);
                CompletableFuture<Long> stopped = new CompletableFuture<>();
                long[] stopAt = new long[1];
                Thread guest = new Thread(() -> {
                    rig.boot();
                    if (hostile.startsWith("holding")) {
                        rig.cpu().lock.lock();
                        try {
                            rig.cpu().hrt.set(1_000_000);
                            ready.countDown();
                            while (!Thread.currentThread().isInterrupted()) {
                                Thread.onSpinWait();
                            }
                            stopped.complete(System.nanoTime() - stopAt[0]);
                        } finally {
                            rig.cpu().lock.unlock();
                        }
                        return;
                    }
                    if (hostile.startsWith("halted")) {
                        rig.put32(Rig.DATA + LguestData.BLOCKED_INTERRUPTS, 1);
                        rig.backend.then(Rig.hcall(Lhcall.SET_CLOCKEVENT, 1_000_000), Rig.hcall(Lhcall.HALT));
                    }
                    ready.countDown();
                    long n = rig.read().n();
                    stopped.complete(n == -Errno.EINTR ? System.nanoTime() - stopAt[0] : -n);
                });
                guest.start();
                ready.await();
                Thread.sleep(20);
                double beside = ticks(rig);
                stopAt[0] = System.nanoTime();
                guest.interrupt();
                long stop = stopped.get(30, TimeUnit.SECONDS);
                guest.join();
                // The lock holder is this test's own thread standing in for a Host-side hog: its stop means nothing.
                String stopText = hostile.startsWith("holding") ? "n/a"
                    : stop < 0 ? "answered errno " + (-stop) : String.format("%.2f ms", stop / 1e6);
                report.append(String.format("  beside a guest %-38s neighbour %.2fx, stop %s%n", hostile + ":",
                    beside / alone, stopText));
            }
        }
        System.out.print(report);
    }

    /* The neighbour: TICKS one-shot 1 ms timers, each armed when the last fired, on the Host's clock thread. */
    private static double ticks(Rig rig) throws Exception {
        long start = System.nanoTime();
        for (int i = 0; i < TICKS; i++) {
            CompletableFuture<Void> tick = new CompletableFuture<>();
            rig.host.timers.schedule(() -> tick.complete(null), 1, TimeUnit.MILLISECONDS);
            tick.get(30, TimeUnit.SECONDS);
        }
        return System.nanoTime() - start;
    }
}
