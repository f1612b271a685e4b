package org.lguest.virtio.internal;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.Duration;
import java.util.List;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/** The device thread: one hop from the doorbell, queues served as marked, a bounded spin, parked when idle. */
class DeviceRunnerTest {
    private static final long GIVE_UP_SECONDS = 30;
    private final BlockingQueue<String> served = new LinkedBlockingQueue<>();
    private DeviceRunner runner;

    private DeviceRunner start(String name, int queues, long maxSpinNanos) {
        runner = new DeviceRunner(name, queues, new DeviceRunner.Work() {
            @Override
            public void serve(int queue) {
                served.add(Thread.currentThread().getName() + ":" + queue);
            }

            @Override
            public void afterRound() {
                served.add(Thread.currentThread().getName() + ":round");
            }
        }, maxSpinNanos);
        runner.start();
        return runner;
    }

    @AfterEach
    void tearDown() {
        if (runner != null) {
            runner.close();
        }
    }

    /** The next thing served; waits (a hang guard, not a timing check). */
    private String next() throws InterruptedException {
        String s = served.poll(GIVE_UP_SECONDS, TimeUnit.SECONDS);
        if (s == null) {
            throw new AssertionError("nothing served in " + GIVE_UP_SECONDS + " s");
        }
        return s;
    }

    private List<String> round(int queues) throws InterruptedException {
        List<String> out = new java.util.ArrayList<>();
        for (int i = 0; i <= queues; i++) {
            out.add(next());
        }
        return out;
    }

    private static Thread thread(String name) {
        return Thread.getAllStackTraces().keySet().stream().filter(t -> t.getName().equals(name)).findFirst().orElseThrow();
    }

    /** Waits until the device thread is parked (a hang guard, not a timing check). */
    private static void awaitParked(Thread t) throws InterruptedException {
        Await.until(() -> t.getState() == Thread.State.WAITING, Duration.ofSeconds(GIVE_UP_SECONDS), t.getName() + " to park");
    }

    @Test
    void theDoorbellWakesTheDeviceThreadItselfAndMarksEveryQueue() throws InterruptedException {
        start("runner-a", 2, DeviceRunner.DEFAULT_MAX_SPIN_NANOS).resume();
        assertEquals(List.of("runner-a:0", "runner-a:1", "runner-a:round"), round(2));
        runner.doorbell().signal(1);
        assertEquals(List.of("runner-a:0", "runner-a:1", "runner-a:round"), round(2));
        assertTrue(Thread.getAllStackTraces().keySet().stream().noneMatch(t -> t.getName().startsWith("runner-a-")),
            "no waiter thread between the doorbell and the device thread");
    }

    @Test
    void aKickServesOnlyItsQueueAndNothingRunsWhilePaused() throws InterruptedException {
        start("runner-b", 3, DeviceRunner.DEFAULT_MAX_SPIN_NANOS).resume();
        round(3);
        runner.kick(1);
        assertEquals(List.of("runner-b:1", "runner-b:round"), round(1));
        runner.pause();
        runner.kick(2);
        runner.doorbell().signal(1);
        awaitParked(thread("runner-b"));
        assertTrue(served.isEmpty(), "served while paused: " + served);
        runner.resume();
        assertEquals(List.of("runner-b:0", "runner-b:1", "runner-b:2", "runner-b:round"), round(3));
    }

    @Test
    void withoutASpinBudgetTheThreadParksAtOnce() throws InterruptedException {
        start("runner-c", 1, 0).resume();
        round(1);
        for (int i = 0; i < 50; i++) {
            runner.doorbell().signal(1);
            round(1);
        }
        awaitParked(thread("runner-c"));
        long[] f = runner.spinFigures();
        assertEquals(0, f[0] + f[1] + f[2], "no spin at all");
        assertTrue(f[3] >= 1, "it parked");
        assertEquals(0, runner.spinBudget());
    }

    @Test
    void theSpinStaysWithinItsBoundAndAnIdleDeviceEndsUpParked() throws InterruptedException {
        long bound = 20_000;
        start("runner-d", 1, bound).resume();
        round(1);
        for (int i = 0; i < 2_000; i++) {
            runner.doorbell().signal(1);
            round(1);
            assertTrue(runner.spinBudget() <= bound, "budget " + runner.spinBudget() + " past " + bound);
        }
        awaitParked(thread("runner-d"));
        long[] f = runner.spinFigures();
        assertTrue(f[3] >= 1, "an idle device parks");
        // Each idle period spins at most once, for at most the bound (plus one spin-wait step).
        long idlePeriods = f[0] + f[1];
        assertTrue(f[2] <= idlePeriods * (bound + 1_000_000), "spun " + f[2] + " ns over " + idlePeriods + " periods");
    }

    @Test
    void closeEndsTheThreadAndDropsLaterSignals() throws InterruptedException {
        start("runner-e", 1, DeviceRunner.DEFAULT_MAX_SPIN_NANOS).resume();
        round(1);
        Thread t = thread("runner-e");
        runner.close();
        t.join(TimeUnit.SECONDS.toMillis(GIVE_UP_SECONDS));
        assertFalse(t.isAlive());
        assertTrue(runner.doorbell().isClosed());
        runner.doorbell().signal(1);
        assertTrue(served.isEmpty());
        runner = null;
    }

    @Test
    void serveHereRunsOnTheCallerWhenIdleAndOtherwiseLeavesItToTheDeviceThread() throws InterruptedException {
        start("runner-f", 2, DeviceRunner.DEFAULT_MAX_SPIN_NANOS).resume();
        round(2);
        awaitParked(thread("runner-f")); // idle, so nobody is serving it
        String me = Thread.currentThread().getName();
        assertTrue(runner.serveHere(1));
        assertEquals(List.of(me + ":1", me + ":round"), round(1), "served on the caller, that queue only");
        runner.pause();
        assertFalse(runner.serveHere(0), "a stopped device is not served by anyone");
        assertTrue(served.isEmpty());
        runner.resume();
        assertEquals(List.of("runner-f:0", "runner-f:1", "runner-f:round"), round(2));
        assertEquals(1, runner.inlineFigures()[0]);
        assertEquals(1, runner.inlineFigures()[1]);
    }

    @Test
    void aServeInsideAnotherBorrowedServeGoesToTheDeviceThread() throws InterruptedException {
        DeviceRunner inner = new DeviceRunner("runner-h", 1, new DeviceRunner.Work() {
            @Override
            public void serve(int queue) {
                served.add(Thread.currentThread().getName() + ":inner");
            }

            @Override
            public void afterRound() {
            }
        }, 0);
        inner.start();
        try {
            inner.resume();
            assertEquals("runner-h:inner", next());
            // Only a parked runner lends its work to another thread.
            awaitParked(thread("runner-h"));
            boolean[] nested = new boolean[1];
            DeviceRunner outer = new DeviceRunner("runner-g", 1, new DeviceRunner.Work() {
                @Override
                public void serve(int queue) {
                    nested[0] = inner.serveHere(0);
                }

                @Override
                public void afterRound() {
                }
            }, 0);
            outer.start();
            try {
                outer.resume(); // the device thread serves it: inner may borrow that thread once
                assertEquals("runner-g:inner", next());
                awaitParked(thread("runner-g"));
                awaitParked(thread("runner-h"));
                assertTrue(outer.serveHere(0), "the test thread borrows outer");
                assertEquals("runner-h:inner", next(), "and inner, asked from inside, is left to its own thread");
                assertFalse(nested[0]);
            } finally {
                outer.close();
            }
        } finally {
            inner.close();
        }
    }
}
