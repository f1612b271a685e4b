package org.lguest.virtio.testkit;

import java.time.Duration;
import java.util.concurrent.atomic.AtomicIntegerArray;

import org.lguest.api.virtio.InterruptSink;

/** An interrupt sink that counts, as the Host's LHREQ_IRQ would mark them pending. */
public final class RecordingInterrupts implements InterruptSink {
    private final AtomicIntegerArray counts = new AtomicIntegerArray(256);

    @Override
    public void raise(int irq) {
        counts.incrementAndGet(irq);
        synchronized (this) {
            notifyAll();
        }
    }

    public int count(int irq) {
        return counts.get(irq);
    }

    /** Waits until {@code irq} has been raised at least {@code n} times; false on timeout. */
    public synchronized boolean await(int irq, int n, Duration timeout) throws InterruptedException {
        long end = System.nanoTime() + timeout.toNanos();
        while (counts.get(irq) < n) {
            long left = end - System.nanoTime();
            if (left <= 0) {
                return false;
            }
            wait(Math.max(1, left / 1_000_000));
        }
        return true;
    }
}
