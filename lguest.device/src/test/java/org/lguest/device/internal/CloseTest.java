package org.lguest.device.internal;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.lguest.api.abi.Errno;
import org.lguest.api.abi.Lhcall;
import org.lguest.api.abi.Lhreq;
import org.lguest.api.abi.PtRegs;
import org.lguest.api.device.Eventfd;

/** close(): everything initialize() and the guest set up goes, and the file answers EBADF. */
@Timeout(10)
class CloseTest {
    private final Rig rig = new Rig();

    @AfterEach
    void close() {
        rig.close();
    }

    @Test
    void closingAnUninitializedFileIsFineAndIdempotent() {
        rig.file.close();
        rig.file.close();
        assertEquals(-Errno.EBADF, rig.init());
        assertEquals(-Errno.EBADF, rig.read().n());
        assertFalse(rig.host.openFiles().contains(rig.file));
    }

    @Test
    void everythingGoesAndReadsAndWritesAnswerEbadf() throws Exception {
        rig.boot();
        Guest lg = rig.guest();
        Cpu cpu = rig.cpu();
        var vcpu = rig.backend.last();
        var tables = rig.paging.last();
        var area = lg.hostArea;
        Eventfd eventfd = new Eventfd();
        int fd = rig.task.descriptors().install(eventfd);
        assertEquals(0, rig.write(Lhreq.EVENTFD, 0x5000, fd));
        rig.backend.then(Rig.hcall(Lhcall.SET_CLOCKEVENT, 60_000_000_000L & 0xFFFF_FFFFL),
            Rig.hcall(Lhcall.NOTIFY, 1));
        assertEquals(1, rig.read().word());
        assertTrue(cpu.hrt.isArmed());
        assertEquals(1, rig.armedClocks());
        assertEquals(16, rig.write(Lhreq.GETREG, PtRegs.AX));
        lg.kill("about to be closed");

        rig.file.close();

        assertTrue(rig.host.timers.getQueue().isEmpty(), "no timer outlives close");
        assertFalse(cpu.hrt.isArmed());
        assertTrue(vcpu.closed, "the engine is released");
        assertTrue(tables.closed, "the shadow page tables are freed");
        assertFalse(area.memory().scope().isAlive(), "the native host area is freed");
        assertNull(cpu.state, "the register page is freed");
        assertNull(cpu.vcpu);
        assertNull(cpu.regRead);
        assertEquals(0, lg.eventfds.size(), "every eventfd is released");
        assertFalse(eventfd.isClosed(), "the Launcher's eventfd itself stays open");
        assertNull(lg.dead(), "the reason is freed");
        assertNull(lg.pageTables);
        assertNull(rig.file.guest());
        assertFalse(rig.host.openFiles().contains(rig.file));

        assertEquals(-Errno.EBADF, rig.read().n());
        assertEquals(-Errno.EBADF, rig.write(Lhreq.IRQ, 1));
        assertEquals(-Errno.EBADF, rig.init());
        assertEquals(-Errno.EBADF, rig.write(99));
        rig.file.close();
        eventfd.close();
    }

    @Test
    void closeBringsAHaltedReaderOutWithEbadf() throws Exception {
        ExecutorService launcher = Executors.newSingleThreadExecutor();
        try {
            launcher.submit(rig::boot).get();
            rig.backend.then(Rig.hcall(Lhcall.HALT));
            Future<Long> read = launcher.submit(() -> rig.read().n());
            Cpu cpu = rig.cpu();
            rig.awaitHalted();
            var vcpu = rig.backend.last();
            rig.file.close();
            assertEquals(-Errno.EBADF, (long) read.get());
            assertTrue(vcpu.closed);
            assertEquals(Cpu.Phase.OUTSIDE, cpu.phase());
        } finally {
            launcher.shutdownNow();
        }
    }

    @Test
    void closeKicksARunningGuestOutAndItsEngineClosesOnItsOwnThread() throws Exception {
        ExecutorService launcher = Executors.newSingleThreadExecutor();
        try {
            Thread owner = launcher.submit(Thread::currentThread).get();
            launcher.submit(rig::boot).get();
            var vcpu = rig.backend.last();
            Future<Long> read = launcher.submit(() -> rig.read().n());
            Await.until(() -> vcpu.inRun, "the guest to run");
            rig.file.close();
            assertEquals(-Errno.EBADF, (long) read.get());
            assertTrue(vcpu.kicks >= 1);
            assertTrue(vcpu.closed);
            assertSame(owner, vcpu.closer);
        } finally {
            launcher.shutdownNow();
        }
    }

    @Test
    void aTimerThatFiresAfterCloseDoesNothing() throws Exception {
        rig.boot();
        Cpu cpu = rig.cpu();
        rig.file.close();
        rig.host.interrupts.setInterrupt(cpu, 0);
        cpu.hrt.set(1000);
        assertTrue(rig.host.timers.getQueue().isEmpty());
    }

    @Test
    void closingTheHostClosesEveryFileAndEndsTheClockThread() throws Exception {
        rig.boot();
        var other = (LguestFileImpl) rig.host.open(rig.task);
        rig.host.close();
        assertTrue(rig.file.isClosed());
        assertTrue(other.isClosed());
        assertTrue(rig.host.timers.awaitTermination(1, java.util.concurrent.TimeUnit.SECONDS));
        assertTrue(rig.host.openFiles().isEmpty());
    }

    @Test
    void closeDuringInitializeLeavesNothingBehind() throws Exception {
        // INITIALIZE is under way (it holds the big lock) when close comes.
        rig.host.lguestLock.lock();
        java.util.concurrent.CompletableFuture<Long> init;
        java.util.concurrent.CompletableFuture<Void> close;
        ExecutorService pool = Executors.newFixedThreadPool(2);
        try {
            init = java.util.concurrent.CompletableFuture.supplyAsync(rig::init, pool);
            Await.until(() -> rig.host.lguestLock.getQueueLength() == 1, "INITIALIZE to queue for the big lock");
            close = java.util.concurrent.CompletableFuture.runAsync(rig.file::close, pool);
            Await.until(() -> rig.host.lguestLock.getQueueLength() == 2, "close to queue for the big lock");
        } finally {
            rig.host.lguestLock.unlock();
        }
        long answer = init.get();
        close.get();
        pool.shutdown();
        if (answer == 24) {
            // INITIALIZE won the lock: close tore it all down.
            assertTrue(rig.paging.last().closed);
            assertFalse(rig.allocator.areas.get(0).memory().scope().isAlive());
        } else {
            assertEquals(-Errno.EBADF, answer);
            assertTrue(rig.paging.created.isEmpty());
        }
        assertNull(rig.file.guest());
    }
}
