package org.lguest.itest;

import java.time.Duration;
import java.util.function.BooleanSupplier;
import java.util.function.Supplier;

/**
 * Waiting for the platform (FileInstall, SCR, a guest) to get somewhere: the condition
 * is asked again at short, growing intervals until it holds or the time is up. The
 * failure names what was awaited, with whatever the caller says about the state then.
 */
final class Await {

    private Await() {}

    static void until(BooleanSupplier condition, Duration timeout, Supplier<String> description)
            throws InterruptedException {
        long deadline = System.nanoTime() + timeout.toNanos();
        long pauseMillis = 1;
        while (!condition.getAsBoolean()) {
            if (System.nanoTime() - deadline > 0) {
                throw new AssertionError("waited " + timeout.toSeconds() + " s for " + description.get());
            }
            Thread.sleep(pauseMillis);
            pauseMillis = Math.min(pauseMillis * 2, 50);
        }
    }

    static void until(BooleanSupplier condition, Duration timeout, String description) throws InterruptedException {
        until(condition, timeout, () -> description);
    }
}
