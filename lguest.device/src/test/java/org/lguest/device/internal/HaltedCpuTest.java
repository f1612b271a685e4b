package org.lguest.device.internal;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.atomic.AtomicBoolean;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.lguest.api.abi.Errno;
import org.lguest.api.abi.Lhcall;
import org.lguest.api.abi.Lhreq;

/** A halted CPU has no watch on the clock thread; it gets it back before its guest runs again. */
@Timeout(10)
class HaltedCpuTest {
    private final Rig rig = new Rig();
    private final ExecutorService other = Executors.newSingleThreadExecutor();

    @AfterEach
    void close() {
        other.shutdownNow();
        rig.close();
    }

    @Test
    void aHaltedCpuIsUnwatchedAndAnInterruptWatchesItAgain() throws Exception {
        rig.boot();
        assertNotNull(rig.cpu().watch, "a reader with a running guest is watched");
        AtomicBoolean watchedOnWaking = new AtomicBoolean();
        rig.backend.then(Rig.hcall(Lhcall.HALT), Rig.doing(s -> watchedOnWaking.set(rig.cpu().watch != null)),
            Rig.hcall(Lhcall.NOTIFY, 4));
        Future<Boolean> unwatchedWhileHalted = CompletableFuture.supplyAsync(() -> {
            try {
                rig.awaitHalted(); // the CPU's thread sleeps on its wake condition now
            } catch (InterruptedException e) {
                throw new IllegalStateException(e);
            }
            boolean unwatched = rig.cpu().watch == null;
            rig.write(Lhreq.IRQ, 0);
            return unwatched;
        }, other);
        assertEquals(4, rig.read().word());
        assertTrue(unwatchedWhileHalted.get(), "the watch stayed on a halted CPU");
        assertTrue(watchedOnWaking.get(), "the guest ran again without a watch");
        assertNotNull(rig.cpu().watch);
    }

    @Test
    void aHaltedReaderInterruptedIsWatchedAgainOnItsWayOut() throws Exception {
        ExecutorService launcher = Executors.newSingleThreadExecutor();
        try {
            launcher.submit(rig::boot).get();
            rig.backend.then(Rig.hcall(Lhcall.HALT));
            Thread[] owner = new Thread[1];
            Future<Long> read = launcher.submit(() -> {
                owner[0] = Thread.currentThread();
                long n = rig.read().n();
                Thread.interrupted();
                return n;
            });
            rig.awaitHalted();
            assertNull(rig.cpu().watch);
            owner[0].interrupt();
            assertEquals(-Errno.EINTR, (long) read.get());
            assertNotNull(rig.cpu().watch, "the next read() of a running guest must be watched");
        } finally {
            launcher.shutdownNow();
        }
    }
}
