package org.lguest.virtio.internal;

import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.Condition;
import java.util.concurrent.locks.ReentrantLock;

import org.lguest.api.device.Eventfd;

/**
 * The thread that serves one device of one guest. Each queue has its own
 * {@link Eventfd}, attached by the Launcher at the queue's notification
 * address, so a guest's notification reaches this thread without passing
 * through the Launcher. A small virtual thread per queue waits on its
 * eventfd (an eventfd has no select) and marks the queue pending; the
 * device thread serves pending queues one at a time.
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

    private final Eventfd[] eventfds;
    private final Thread thread;
    private final Thread[] waiters;
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
        this.eventfds = new Eventfd[queues];
        this.pending = new boolean[queues];
        this.waiters = new Thread[queues];
        for (int q = 0; q < queues; q++) {
            eventfds[q] = new Eventfd();
        }
        this.thread = Thread.ofPlatform().name(name).daemon().unstarted(this::loop);
        for (int q = 0; q < queues; q++) {
            int queue = q;
            waiters[q] = Thread.ofVirtual().name(name + "-q" + q).unstarted(() -> await(queue));
        }
    }

    void start() {
        thread.start();
        for (Thread waiter : waiters) {
            waiter.start();
        }
    }

    Eventfd eventfd(int queue) {
        return eventfds[queue];
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
        for (Eventfd eventfd : eventfds) {
            eventfd.close();
        }
        if (Thread.currentThread() != thread) {
            join(thread);
        }
        for (Thread waiter : waiters) {
            join(waiter);
        }
    }

    private static void join(Thread t) {
        try {
            t.join(TimeUnit.SECONDS.toMillis(10));
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    private void await(int queue) {
        Eventfd eventfd = eventfds[queue];
        try {
            while (eventfd.read() != 0) {
                kick(queue);
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
