package org.lguest.virtio.block.internal;

import java.util.function.Consumer;
import java.util.function.LongSupplier;
import java.util.function.Supplier;

/**
 * At most one line per interval: a guest that keeps hitting a failing disk
 * must not flood the host's log. The lines held back are counted, and the
 * next line that goes out says how many there were.
 * <p>
 * Threads: any; {@link #log} is synchronized (it runs only on failures).
 */
final class RateLimitedLog {
    private final LongSupplier nanoClock;
    private final long intervalNanos;
    private final Consumer<String> sink;
    // Under this object's lock.
    private boolean loggedBefore;
    private long lastNanos;
    private long held;

    RateLimitedLog(LongSupplier nanoClock, long intervalNanos, Consumer<String> sink) {
        this.nanoClock = nanoClock;
        this.intervalNanos = intervalNanos;
        this.sink = sink;
    }

    /** Writes the line unless one went out less than an interval ago. */
    synchronized void log(Supplier<String> line) {
        long now = nanoClock.getAsLong();
        if (loggedBefore && now - lastNanos < intervalNanos) {
            held++;
            return;
        }
        String text = line.get();
        if (held > 0) {
            text += " (" + held + " more like it not logged)";
        }
        sink.accept(text);
        loggedBefore = true;
        lastNanos = now;
        held = 0;
    }
}
