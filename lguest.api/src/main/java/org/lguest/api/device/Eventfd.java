package org.lguest.api.device;

import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.Condition;
import java.util.concurrent.locks.ReentrantLock;

/**
 * An event counter with Linux eventfd semantics: {@link #signal} adds to
 * the counter; {@link #read} waits until it is non-zero, then takes all of
 * it. A device thread sleeps in {@code read} until the guest notifies it.
 * <p>
 * A reader that waits for other things too (a device thread that also
 * takes requests from the Launcher) gives a listener instead: it runs on
 * the signalling thread after every signal, so that reader can wake itself
 * with no thread in between, and takes the counter with {@link #poll}.
 */
public final class Eventfd implements AutoCloseable {
    /** Linux caps the counter one below the all-ones value. */
    public static final long MAX = 0xFFFF_FFFF_FFFF_FFFEL;

    private final ReentrantLock lock = new ReentrantLock();
    private final Condition changed = lock.newCondition();
    /** Set once at construction; runs on the signalling thread, so it must be quick and must not block. */
    private final Runnable onSignal;
    // Under lock.
    private long count;
    private boolean closed;

    /** An eventfd read by {@link #read}. */
    public Eventfd() {
        this(null);
    }

    /**
     * An eventfd whose reader is woken by {@code onSignal} (null: none),
     * run after each {@link #signal} that reached the counter, outside the
     * lock.
     *
     * @since 1.2
     */
    public Eventfd(Runnable onSignal) {
        this.onSignal = onSignal;
    }

    /**
     * Adds {@code n} to the counter and wakes a reader. Where the sum would
     * pass {@link #MAX} the counter saturates rather than blocking: a guest
     * must never be able to stall the Host by notifying too often.
     */
    public void signal(long n) {
        if (n == 0) {
            return;
        }
        lock.lock();
        try {
            if (closed) {
                return;
            }
            count = Long.compareUnsigned(MAX - count, n) < 0 ? MAX : count + n;
            changed.signalAll();
        } finally {
            lock.unlock();
        }
        if (onSignal != null) {
            onSignal.run();
        }
    }

    /**
     * Takes the counter without waiting: 0 if nothing was signalled since
     * the last take (or the eventfd is closed and drained).
     *
     * @since 1.2
     */
    public long poll() {
        lock.lock();
        try {
            return take();
        } finally {
            lock.unlock();
        }
    }

    /** Waits for a non-zero counter and takes it; 0 means the eventfd was closed. */
    public long read() throws InterruptedException {
        lock.lockInterruptibly();
        try {
            while (count == 0 && !closed) {
                changed.await();
            }
            return take();
        } finally {
            lock.unlock();
        }
    }

    /** As {@link #read()}, but gives up after the timeout and answers 0. */
    public long read(long timeout, TimeUnit unit) throws InterruptedException {
        long nanos = unit.toNanos(timeout);
        lock.lockInterruptibly();
        try {
            while (count == 0 && !closed && nanos > 0) {
                nanos = changed.awaitNanos(nanos);
            }
            return take();
        } finally {
            lock.unlock();
        }
    }

    private long take() {
        long value = count;
        count = 0;
        return value;
    }

    public boolean isClosed() {
        lock.lock();
        try {
            return closed;
        } finally {
            lock.unlock();
        }
    }

    /** Wakes every reader; later signals are dropped. */
    @Override
    public void close() {
        lock.lock();
        try {
            closed = true;
            changed.signalAll();
        } finally {
            lock.unlock();
        }
    }
}
