package org.lguest.device.internal;

/*
 * A halted CPU costs nothing: its thread sleeps on the CPU's wake
 * condition, where a Java interrupt reaches it at once, so the clock
 * thread's watch (which looks every few milliseconds whether a running
 * guest's reader was interrupted) has nothing to do for it. The watch is
 * cancelled for the sleep and set again before the guest runs; with a
 * thousand idle guests that is a hundred thousand wasted wake-ups a second
 * saved on the shared clock thread.
 */
final class HaltedCpu {
    private HaltedCpu() {
    }

    /**
     * Sleeps until woken, unwatched meanwhile; {@code watchAgain} runs on
     * the way out, however the sleep ended. Called by the CPU's owner with
     * the CPU's lock held.
     */
    static void await(Cpu cpu, Runnable watchAgain) throws InterruptedException {
        Core.unwatch(cpu);
        try {
            cpu.wake.await();
        } finally {
            watchAgain.run();
        }
    }
}
