package org.lguest.device.internal;

import java.time.Duration;
import java.util.function.BooleanSupplier;

/**
 * Waiting for another thread to get somewhere: the condition is asked again and again,
 * at short and growing intervals, until it holds or the time is up. A test that waits
 * this way passes as soon as the platform is there, and fails with what it waited for.
 */
final class Await {

    /** Long enough for a loaded two-core machine; the tests' own timeouts end a hang sooner. */
    static final Duration LONG = Duration.ofSeconds(10);

    private Await() {}

    static void until(BooleanSupplier condition, Duration timeout, String description) throws InterruptedException {
        long deadline = System.nanoTime() + timeout.toNanos();
        long pauseMillis = 1;
        while (!condition.getAsBoolean()) {
            if (System.nanoTime() - deadline > 0) {
                throw new AssertionError("waited " + timeout.toMillis() + " ms for " + description);
            }
            Thread.sleep(pauseMillis);
            pauseMillis = Math.min(pauseMillis * 2, 20);
        }
    }

    static void until(BooleanSupplier condition, String description) throws InterruptedException {
        until(condition, LONG, description);
    }
}
