package org.lguest.device.internal;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.lguest.api.abi.Lhcall;
import org.lguest.api.cpu.Reg;

/** The guest clock: SET_CLOCKEVENT, timer expiry, HALT. */
@Timeout(10)
class ClockTest {
    private final Rig rig = new Rig();

    @BeforeEach
    void boot() {
        rig.boot();
        rig.backend.then(Rig.idt(32, 0x3000, 0xE), Rig.doing(s -> s.regs().set(Reg.ESP, 0x9000)));
    }

    @AfterEach
    void close() {
        rig.close();
    }

    @Test
    void theTimerWakesAHaltedGuestWithInterruptZero() {
        rig.backend.then(Rig.hcall(Lhcall.SET_CLOCKEVENT, 20_000_000), Rig.hcall(Lhcall.HALT),
            Rig.hcall(Lhcall.NOTIFY, 7));
        long start = System.nanoTime();
        assertEquals(7, rig.read().word());
        assertTrue(System.nanoTime() - start >= 20_000_000, "slept until the timer");
        assertEquals(0x3000 + 2, rig.reg(Reg.EIP), "interrupt 0 delivered, then the NOTIFY");
        assertFalse(rig.cpu().halted);
        assertFalse(rig.cpu().hrt.isArmed());
    }

    @Test
    void theTimerKicksARunningGuest() throws Exception {
        rig.backend.then(Rig.hcall(Lhcall.SET_CLOCKEVENT, 20_000_000));
        var vcpu = rig.backend.last();
        CompletableFuture<Void> afterKick = CompletableFuture.runAsync(() -> {
            while (vcpu.kicksWhileRunning == 0) {
                Thread.onSpinWait();
            }
            rig.backend.then(Rig.hcall(Lhcall.NOTIFY, 8));
        });
        assertEquals(8, rig.read().word());
        afterKick.get();
        assertEquals(0x3000 + 2, rig.reg(Reg.EIP));
    }

    @Test
    void aCancelledTimerNeverFires() throws Exception {
        rig.backend.then(Rig.hcall(Lhcall.SET_CLOCKEVENT, 30_000_000), Rig.hcall(Lhcall.SET_CLOCKEVENT, 0),
            Rig.hcall(Lhcall.NOTIFY, 9));
        assertEquals(9, rig.read().word());
        // The clock thread runs its tasks in time order: once a later one has run, the cancelled one would have.
        rig.host.timers.schedule(() -> { }, 60, TimeUnit.MILLISECONDS).get();
        assertFalse(rig.cpu().irqPending(0));
        assertEquals(0, rig.armedClocks());
    }

    @Test
    void aHaltedGuestDoesNotRun() throws Exception {
        rig.backend.then(Rig.hcall(Lhcall.HALT), Rig.hcall(Lhcall.NOTIFY, 10));
        var vcpu = rig.backend.last();
        CompletableFuture<Void> wake = CompletableFuture.runAsync(() -> {
            try {
                rig.awaitHalted();
                int runs = vcpu.runs;
                Thread.sleep(50);
                assertEquals(runs, vcpu.runs, "no busy loop while halted");
                rig.host.interrupts.setInterrupt(rig.cpu(), 3);
            } catch (InterruptedException e) {
                throw new IllegalStateException(e);
            }
        });
        assertEquals(10, rig.read().word());
        wake.get();
        assertTrue(rig.cpu().irqPending(3), "no handler for it: still pending, but the guest woke");
    }

    /*
     * Issue 13, finding 2: a guest whose CPU thread kept its lock held the
     * Host's one clock thread in setInterrupt(), and every other guest's
     * timer stopped. The clock now never waits on a CPU: another timer on
     * the same thread (a neighbour's) still fires, and the held CPU gets
     * its interrupt once its lock is free.
     */
    @Test
    void aCpuThatHoldsItsLockCannotStopTheClockForOthers() throws Exception {
        rig.backend.then(Rig.hcall(Lhcall.NOTIFY, 10));
        assertEquals(10, rig.read().word(), "the handler and stack are in place");
        java.util.concurrent.CountDownLatch held = new java.util.concurrent.CountDownLatch(1);
        java.util.concurrent.CountDownLatch release = new java.util.concurrent.CountDownLatch(1);
        Thread hog = new Thread(() -> {
            rig.cpu().lock.lock();
            try {
                held.countDown();
                release.await();
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            } finally {
                rig.cpu().lock.unlock();
            }
        });
        hog.start();
        held.await();
        rig.cpu().hrt.set(1_000_000);
        CompletableFuture<Void> neighbour = new CompletableFuture<>();
        rig.host.timers.schedule(() -> neighbour.complete(null), 20, java.util.concurrent.TimeUnit.MILLISECONDS);
        neighbour.get();
        assertTrue(rig.cpu().irqPending(0), "the held CPU's interrupt is marked all the same");
        release.countDown();
        hog.join();
        rig.backend.then(Rig.hcall(Lhcall.NOTIFY, 11));
        var r = rig.read();
        assertEquals(8, r.n(), () -> "read " + r.n() + " dead=" + rig.guest().dead());
        assertEquals(11, r.word());
        assertEquals(0x3000 + 2, rig.reg(Reg.EIP), "interrupt 0 delivered once the CPU was free");
    }
}
