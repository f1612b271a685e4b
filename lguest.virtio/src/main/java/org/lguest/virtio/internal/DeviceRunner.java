package org.lguest.virtio.internal;

import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.Condition;
import java.util.concurrent.locks.ReentrantLock;

import org.lguest.api.device.Eventfd;

/**
 * The thread that serves one device of one guest. The device has one
 * notification register for all its queues (as lguest's did), so one
 * {@link Eventfd}, the doorbell: the Launcher attaches it at that register's
 * address and the Host signals it when the guest writes there, without the
 * Launcher. A signal cannot say which queue, so it marks them all pending
 * (serving a queue with nothing new costs one index read); a notification
 * the Launcher emulated names its queue and marks just that one. A small
 * virtual thread waits on the doorbell; the device thread serves pending
 * queues one at a time.
 * <p>
 * The transport {@linkplain #pause() pauses} the runner for a reset or to
 * detach the device: that waits until the device is between two
 * {@code serve} calls, so a request is never cut in half.
 */
final class DeviceRunner {
    /** What the runner runs. */
    interface Work {
        /** Serves one queue; must not throw. */
        void serve(int queue);

        /** After a round of queues: interrupt the guest as needed; must not throw. */
        void afterRound();
    }

    private final Eventfd doorbell = new Eventfd();
    private final Thread thread;
    private final Thread waiter;
    private final Work work;
    private final ReentrantLock lock = new ReentrantLock();
    private final Condition changed = lock.newCondition();
    private final boolean[] pending;
    private boolean anyPending;
    private boolean running;
    private boolean busy;
    private boolean closed;

    DeviceRunner(String name, int queues, Work work) {
        this.work = work;
        this.pending = new boolean[queues];
        this.thread = Thread.ofPlatform().name(name).daemon().unstarted(this::loop);
        this.waiter = Thread.ofVirtual().name(name + "-doorbell").unstarted(this::await);
    }

    void start() {
        thread.start();
        waiter.start();
    }

    /** The eventfd that marks every queue pending. */
    Eventfd doorbell() {
        return doorbell;
    }

    private void kickAll() {
        lock.lock();
        try {
            java.util.Arrays.fill(pending, true);
            anyPending = pending.length > 0;
            changed.signalAll();
        } finally {
            lock.unlock();
        }
    }

    /** Marks a queue pending; it is served once the runner is running. */
    void kick(int queue) {
        lock.lock();
        try {
            if (queue >= 0 && queue < pending.length) {
                pending[queue] = true;
                anyPending = true;
                changed.signalAll();
            }
        } finally {
            lock.unlock();
        }
    }

    /** Starts serving, with every queue pending (whatever arrived while paused is found). */
    void resume() {
        lock.lock();
        try {
            if (closed) {
                return;
            }
            running = true;
            java.util.Arrays.fill(pending, true);
            anyPending = pending.length > 0;
            changed.signalAll();
        } finally {
            lock.unlock();
        }
    }

    /** Stops serving and waits until no queue is being served. */
    void pause() {
        lock.lock();
        try {
            running = false;
            if (Thread.currentThread() == thread) {
                return;
            }
            while (busy) {
                changed.awaitUninterruptibly();
            }
        } finally {
            lock.unlock();
        }
    }

    boolean isRunning() {
        lock.lock();
        try {
            return running;
        } finally {
            lock.unlock();
        }
    }

    /** Stops the threads and closes the eventfds. */
    void close() {
        pause();
        lock.lock();
        try {
            closed = true;
            changed.signalAll();
        } finally {
            lock.unlock();
        }
        doorbell.close();
        if (Thread.currentThread() != thread) {
            join(thread);
        }
        join(waiter);
    }

    private static void join(Thread t) {
        try {
            t.join(TimeUnit.SECONDS.toMillis(10));
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    private void await() {
        try {
            while (doorbell.read() != 0) {
                kickAll();
            }
        } catch (InterruptedException e) {
            // closing
        }
    }

    private void loop() {
        boolean[] round = new boolean[pending.length];
        while (true) {
            lock.lock();
            try {
                while (!closed && !(running && anyPending)) {
                    changed.awaitUninterruptibly();
                }
                if (closed) {
                    return;
                }
                System.arraycopy(pending, 0, round, 0, pending.length);
                java.util.Arrays.fill(pending, false);
                anyPending = false;
                busy = true;
            } finally {
                lock.unlock();
            }
            try {
                for (int q = 0; q < round.length; q++) {
                    if (round[q] && isRunning()) {
                        work.serve(q);
                    }
                }
                work.afterRound();
            } finally {
                lock.lock();
                try {
                    busy = false;
                    changed.signalAll();
                } finally {
                    lock.unlock();
                }
            }
        }
    }
}
