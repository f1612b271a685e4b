package org.lguest.device.internal;

import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;

/*H:200
 * A CPU's one-shot clock. LHCALL_SET_CLOCKEVENT gives a delay in
 * nanoseconds (0 stops the clock); the Host's scheduler thread waits it
 * out and then raises interrupt 0. Raising it wakes a halted CPU and kicks
 * a running one, like an LHREQ_IRQ from the Launcher, but without ever
 * waiting for the CPU's lock: that thread is every guest's clock.
 */
final class ClockDevice {
    private final ScheduledExecutorService scheduler;
    private final Interrupts interrupts;
    private final Cpu cpu;
    private ScheduledFuture<?> armed;
    /** Bumped by every set and cancel, so a callback already under way for an older timer does nothing. */
    private long generation;

    ClockDevice(ScheduledExecutorService scheduler, Interrupts interrupts, Cpu cpu) {
        this.scheduler = scheduler;
        this.interrupts = interrupts;
        this.cpu = cpu;
    }

    /** guest_set_clockevent(): restart the timer {@code deltaNanos} from now, or stop it. */
    synchronized void set(long deltaNanos) {
        cancel();
        if (deltaNanos == 0 || cpu.lg.closed) {
            return;
        }
        long mine = generation;
        try {
            armed = scheduler.schedule(() -> expired(mine), deltaNanos, TimeUnit.NANOSECONDS);
        } catch (RejectedExecutionException e) {
            // The Host is shutting down: no more clock ticks for anyone.
            armed = null;
        }
    }

    /** hrtimer_cancel(). */
    synchronized void cancel() {
        generation++;
        if (armed != null) {
            armed.cancel(false);
            armed = null;
        }
    }

    synchronized boolean isArmed() {
        return armed != null && !armed.isDone();
    }

    /* Our clockdev_fn(): unless re-armed or cancelled since, raise IRQ 0, the timer's line. */
    private void expired(long mine) {
        synchronized (this) {
            if (mine != generation) {
                return;
            }
            armed = null;
        }
        interrupts.raiseFromClock(cpu, 0);
    }
}
