package org.lguest.virtio.internal;

import java.time.Duration;
import java.util.function.BooleanSupplier;

/**
 * Waiting for a device thread to get somewhere: the condition is asked again at short,
 * growing intervals until it holds or the time is up, and a failure says what was
 * awaited.
 */
final class Await {

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
}
