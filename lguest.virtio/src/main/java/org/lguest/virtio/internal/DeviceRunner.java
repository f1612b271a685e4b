package org.lguest.virtio.internal;

import java.util.Arrays;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.LongAdder;
import java.util.concurrent.locks.Condition;
import java.util.concurrent.locks.LockSupport;
import java.util.concurrent.locks.ReentrantLock;

import org.lguest.api.device.Eventfd;

/**
 * The thread that serves one device of one guest. The device has one
 * notification register for all its queues (as lguest's did), so one
 * {@link Eventfd}, the doorbell: the Launcher attaches it at that register's
 * address and the Host signals it when the guest writes there, without the
 * Launcher. A signal cannot say which queue, so it marks them all pending
 * (serving a queue with nothing new costs one index read); a notification
 * the Launcher emulated names its queue and marks just that one.
 * <p>
 * One hop: the doorbell's listener wakes the device thread itself (no
 * waiter thread in between). Out of work, the thread spins a while before
 * it parks, as KVM's halt polling does, because on these machines waking a
 * parked thread costs 1-40 us while a request often follows within a few:
 * the spin budget grows (doubling, up to {@link #maxSpinNanos}) when work
 * came soon after the thread parked, and shrinks (halving, to nothing) when
 * it came only after the longest spin would have given up. An idle device
 * therefore spins at most once, for at most the bound, and then sleeps.
 * <p>
 * The transport {@linkplain #pause() pauses} the runner for a reset or to
 * detach the device: that waits until the device is between two
 * {@code serve} calls, so a request is never cut in half.
 * <p>
 * Threads and locks: {@code lock} guards the control state (running, busy,
 * closed, pending); {@code wakeup} and {@code sleeping} are the lock-free
 * hand-shake between whoever has work for the thread and the thread about
 * to park; the spin budget and the thread-local figures are the device
 * thread's; the counters are written by the device thread, read by anyone.
 */
final class DeviceRunner {
    /** What the runner runs. */
    interface Work {
        /** Serves one queue; must not throw. */
        void serve(int queue);

        /** After a round of queues: interrupt the guest as needed; must not throw. */
        void afterRound();
    }

    /** The longest spin by default: about one wake-up of a halted vCPU on a quiet VM. */
    static final long DEFAULT_MAX_SPIN_NANOS = 50_000;
    /** Where a growing budget starts. */
    static final long MIN_SPIN_NANOS = 2_000;
    /** The bound; {@code lguest.virtio.spin.ns} (0: never spin). */
    static final long MAX_SPIN_NANOS = Math.max(0, Long.getLong("lguest.virtio.spin.ns", DEFAULT_MAX_SPIN_NANOS));

    /** Spin by yielding (the default): on 2 cores a runnable thread, such as the guest's vCPU, gets the CPU at once. */
    static final boolean YIELD = Boolean.parseBoolean(System.getProperty("lguest.virtio.spin.yield", "true"));

    private final Eventfd doorbell = new Eventfd(this::wake);
    private final Thread thread;
    private final Work work;
    private final long maxSpinNanos;
    private final ReentrantLock lock = new ReentrantLock();
    private final Condition changed = lock.newCondition();
    // Under lock.
    private final boolean[] pending;
    private boolean anyPending;
    private boolean running;
    private boolean busy;
    private boolean closed;
    // The hand-shake: set by a waker before it looks at sleeping; set by the thread before it looks at wakeup.
    private volatile boolean wakeup;
    private volatile boolean sleeping;
    // Device thread only.
    private long spinBudget;

    // Written by the device thread; read by anyone (benchmarks, diagnostics).
    private final LongAdder spinHits = new LongAdder();
    private final LongAdder spinMisses = new LongAdder();
    private final LongAdder spinNanos = new LongAdder();
    private final LongAdder parks = new LongAdder();
    private final LongAdder inlineServes = new LongAdder();
    private final LongAdder inlineRefused = new LongAdder();

    /** The runner whose serve this thread is running for it (serveHere), or null. */
    private static final ThreadLocal<DeviceRunner> INLINE = new ThreadLocal<>();

    DeviceRunner(String name, int queues, Work work) {
        this(name, queues, work, MAX_SPIN_NANOS);
    }

    DeviceRunner(String name, int queues, Work work, long maxSpinNanos) {
        this.work = work;
        this.pending = new boolean[queues];
        this.maxSpinNanos = Math.max(0, maxSpinNanos);
        this.thread = Thread.ofPlatform().name(name).daemon().unstarted(this::loop);
    }

    void start() {
        thread.start();
    }

    /** The eventfd that marks every queue pending. */
    Eventfd doorbell() {
        return doorbell;
    }

    /** Has the device thread look again; on any thread, never blocks. */
    private void wake() {
        wakeup = true;
        if (sleeping) {
            LockSupport.unpark(thread);
        }
    }

    /** Marks a queue pending; it is served once the runner is running. */
    void kick(int queue) {
        lock.lock();
        try {
            if (queue >= 0 && queue < pending.length) {
                pending[queue] = true;
                anyPending = true;
            }
        } finally {
            lock.unlock();
        }
        wake();
    }

    /**
     * Serves {@code queue} on the calling thread if the device is idle (running, nobody serving it), or marks
     * it pending as {@link #kick} does. Not from inside another such serve (no chains of borrowed threads).
     */
    boolean serveHere(int queue) {
        if (queue < 0 || queue >= pending.length || Thread.currentThread() == thread || INLINE.get() != null) {
            kick(queue);
            return false;
        }
        boolean took;
        lock.lock();
        try {
            took = running && !busy && !closed;
            if (took) {
                busy = true;
            } else {
                pending[queue] = true;
                anyPending = true;
            }
        } finally {
            lock.unlock();
        }
        if (!took) {
            inlineRefused.increment();
            wake();
            return false;
        }
        INLINE.set(this);
        boolean more;
        try {
            if (isRunning()) {
                work.serve(queue);
            }
            work.afterRound();
        } finally {
            INLINE.remove();
            lock.lock();
            try {
                busy = false;
                more = anyPending;
                changed.signalAll();
            } finally {
                lock.unlock();
            }
        }
        inlineServes.increment();
        if (more) {
            wake(); // what arrived meanwhile is the device thread's
        }
        return true;
    }

    /** Starts serving, with every queue pending (whatever arrived while paused is found). */
    void resume() {
        lock.lock();
        try {
            if (closed) {
                return;
            }
            running = true;
            Arrays.fill(pending, true);
            anyPending = pending.length > 0;
        } finally {
            lock.unlock();
        }
        wake();
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

    /** Stops the thread and closes the eventfd. */
    void close() {
        pause();
        lock.lock();
        try {
            closed = true;
        } finally {
            lock.unlock();
        }
        doorbell.close();
        wake();
        if (Thread.currentThread() != thread) {
            try {
                thread.join(TimeUnit.SECONDS.toMillis(10));
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
    }

    /** Spins that found work, spins that gave up, nanoseconds spent spinning, parks. */
    long[] spinFigures() {
        return new long[] {spinHits.sum(), spinMisses.sum(), spinNanos.sum(), parks.sum()};
    }

    /** Serves run on a caller's thread, and attempts left to the device thread because it was busy or stopped. */
    long[] inlineFigures() {
        return new long[] {inlineServes.sum(), inlineRefused.sum()};
    }

    /** The current spin budget (device thread's; read racily, for tests and diagnostics). */
    long spinBudget() {
        return spinBudget;
    }

    private void loop() {
        /*V:050
         * The device's own thread. The Host signalling the doorbell (the eventfd at the notify register)
         * wakes it; it marks every queue pending, serves them, then tells the guest what completed.
         */
        boolean[] round = new boolean[pending.length];
        while (true) {
            // Cleared before looking, so a wake after the look is never lost.
            wakeup = false;
            boolean serve;
            lock.lock();
            try {
                if (closed) {
                    return;
                }
                if (doorbell.poll() != 0 && pending.length > 0) {
                    Arrays.fill(pending, true);
                    anyPending = true;
                }
                // Not while a caller serves it (serveHere): that caller wakes us afterwards if more came.
                serve = running && anyPending && !busy;
                if (serve) {
                    System.arraycopy(pending, 0, round, 0, pending.length);
                    Arrays.fill(pending, false);
                    anyPending = false;
                    busy = true;
                }
            } finally {
                lock.unlock();
            }
            if (!serve) {
                idle();
                continue;
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

    /** Waits for a wake: spins within the budget, then parks; adapts the budget to when the wake came. */
    private void idle() {
        long start = System.nanoTime();
        long budget = spinBudget;
        if (budget > 0) {
            long now = start;
            while (now - start < budget) {
                if (wakeup) {
                    spinHits.increment();
                    spinNanos.add(now - start);
                    return;
                }
                if (YIELD) {
                    Thread.yield();
                } else {
                    Thread.onSpinWait();
                }
                now = System.nanoTime();
            }
            spinMisses.increment();
            spinNanos.add(now - start);
        }
        sleeping = true;
        try {
            if (!wakeup) {
                parks.increment();
                LockSupport.park(this);
            }
        } finally {
            sleeping = false;
        }
        long waited = System.nanoTime() - start;
        if (waited <= maxSpinNanos) {
            // A longer spin would have caught it.
            spinBudget = Math.min(maxSpinNanos, Math.max(MIN_SPIN_NANOS, 2 * Math.max(budget, waited / 2)));
        } else if (budget > 0) {
            // Nothing came within the bound: spinning was wasted; less next time.
            spinBudget = budget / 2 < MIN_SPIN_NANOS ? 0 : budget / 2;
        }
    }
}
