package org.lguest.device.internal;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.lang.foreign.ValueLayout;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.atomic.AtomicLong;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.lguest.api.abi.Errno;
import org.lguest.api.abi.Lhcall;
import org.lguest.api.cpu.VcpuException;

/** read(): its checks, the dead guest's answers, and the ways run_guest() comes back. */
@Timeout(10)
class ReadTest {
    private final Rig rig = new Rig();

    @AfterEach
    void close() {
        rig.close();
    }

    @Test
    void beforeInitializeIsEinval() {
        assertEquals(-Errno.EINVAL, rig.read().n());
    }

    @Test
    void aCpuIndexAtOrPastNrCpusIsEinval() {
        assertEquals(24, rig.init());
        for (long cpu : new long[] {1, -1, Long.MAX_VALUE, 1L << 32}) {
            assertEquals(-Errno.EINVAL, rig.file.read(rig.buffer(8), cpu), "cpu " + cpu);
        }
    }

    @Test
    void anotherThreadIsEperm() throws Exception {
        assertEquals(24, rig.init());
        rig.guest().kill("dead, but still not yours");
        assertEquals(-Errno.EPERM, (long) CompletableFuture.supplyAsync(() -> rig.read().n()).get());
    }

    @Test
    void aDeadGuestAnswersItsReasonWithTheNul() {
        assertEquals(24, rig.init());
        rig.guest().kill("bad thing");
        Rig.Read r = rig.read();
        assertEquals(10, r.n());
        assertEquals("bad thing", r.string());
        assertEquals(0, r.at(9));
        // Again and again: the reason stays.
        assertEquals(10, rig.read().n());
    }

    @Test
    void theReasonIsCutToTheBuffer() {
        assertEquals(24, rig.init());
        rig.guest().kill("bad thing");
        var b = rig.buffer(4);
        assertEquals(4, rig.file.read(b, 0));
        assertEquals("bad ", new String(b.toArray(ValueLayout.JAVA_BYTE)));
        assertEquals(0, rig.file.read(rig.buffer(0), 0));
        var exact = rig.buffer(10);
        assertEquals(10, rig.file.read(exact, 0));
    }

    @Test
    void aReasonThatCannotBeWrittenIsEfault() {
        assertEquals(24, rig.init());
        rig.guest().kill("bad thing");
        assertEquals(-Errno.EFAULT, rig.file.read(rig.buffer(16).asReadOnly(), 0));
        assertEquals(-Errno.EFAULT, rig.file.read(null, 0));
    }

    @Test
    void aDeadGuestWithAnErrnoAnswersIt() {
        assertEquals(24, rig.init());
        rig.guest().restart("the test asks for a restart");
        assertEquals(-Errno.ERESTART, rig.read().n());
        assertEquals(-Errno.ERESTART, rig.read().n());
    }

    @Test
    void aNotificationIsReturnedOnceAndClearedByTheNextRead() {
        rig.boot();
        assertEquals(0xB007, rig.cpu().pendingNotify, "still pending until the next read");
        rig.backend.then(Rig.hcall(Lhcall.NOTIFY, 0xC0DE));
        Rig.Read r = rig.read();
        assertEquals(8, r.n());
        assertEquals(0xC0DE, r.word());
    }

    @Test
    void aNotificationTheBufferCannotTakeIsEfault() {
        rig.boot();
        rig.backend.then(Rig.hcall(Lhcall.NOTIFY, 0xC0DE));
        assertEquals(-Errno.EFAULT, rig.file.read(rig.buffer(4), 0));
        // The next read clears it and runs on.
        rig.backend.then(Rig.hcall(Lhcall.NOTIFY, 0xD00D));
        assertEquals(0xD00D, rig.read().word());
    }

    @Test
    void deathInTheRunIsEnoentThenTheReason() {
        rig.boot();
        rig.backend.then(Rig.hcall(99));
        assertEquals(-Errno.ENOENT, rig.read().n());
        assertEquals("Bad hypercall 99", rig.read().string());
    }

    @Test
    void restartInTheRunIsErestartThenErestart() {
        rig.boot();
        rig.putString(0x3000, "reboot please");
        rig.backend.then(Rig.hcall(Lhcall.SHUTDOWN, 0x3000, Lhcall.SHUTDOWN_RESTART));
        assertEquals(-Errno.ERESTART, rig.read().n());
        assertEquals(-Errno.ERESTART, rig.read().n());
    }

    @Test
    void anInterruptedReaderGetsEintrAndKeepsItsFlag() {
        rig.boot();
        rig.backend.then(Rig.hcall(Lhcall.NOTIFY, 0xC0DE));
        Thread.currentThread().interrupt();
        try {
            assertEquals(-Errno.EINTR, rig.read().n());
            assertTrue(Thread.currentThread().isInterrupted());
        } finally {
            Thread.interrupted();
        }
        assertEquals(1, rig.backend.stepsLeft(), "the guest did not run");
        assertEquals(0xC0DE, rig.read().word());
    }

    @Test
    void aHaltedReaderInterruptedGetsEintr() throws Exception {
        ExecutorService launcher = Executors.newSingleThreadExecutor();
        try {
            launcher.submit(rig::boot).get();
            AtomicLong owner = new AtomicLong();
            rig.backend.then(Rig.hcall(Lhcall.HALT));
            Future<Long> read = launcher.submit(() -> {
                owner.set(Thread.currentThread().threadId());
                long n = rig.read().n();
                Thread.interrupted();
                return n;
            });
            rig.awaitHalted();
            Thread.getAllStackTraces().keySet().stream().filter(t -> t.threadId() == owner.get()).findFirst()
                .orElseThrow().interrupt();
            assertEquals(-Errno.EINTR, (long) read.get());
            assertTrue(rig.cpu().halted, "still halted: an interrupt wakes it");
        } finally {
            launcher.shutdownNow();
        }
    }

    @Test
    void withoutABackendAnInitializedGuestAnswersEagain() {
        rig.host.unbindBackend(rig.backend);
        assertEquals(24, rig.init());
        rig.prepareLguestData();
        assertEquals(-Errno.EAGAIN, rig.read().n());
        assertEquals(-Errno.EAGAIN, rig.read().n());
        assertFalse(rig.guest().isDead());
        rig.host.bindBackend(rig.backend);
        rig.backend.then(Rig.hcall(Lhcall.LGUEST_INIT, Rig.DATA), Rig.hcall(Lhcall.NOTIFY, 0x99));
        assertEquals(0x99, rig.read().word());
    }

    @Test
    void aBackendThatCannotCreateTheCpuIsEioAndTheGuestLives() {
        assertEquals(24, rig.init());
        rig.backend.failCreate = new VcpuException("no engine today");
        assertEquals(-Errno.EIO, rig.read().n());
        assertFalse(rig.guest().isDead());
        rig.backend.failCreate = null;
        rig.prepareLguestData();
        rig.backend.then(Rig.hcall(Lhcall.LGUEST_INIT, Rig.DATA), Rig.hcall(Lhcall.NOTIFY, 0x99));
        assertEquals(0x99, rig.read().word());
    }

    @Test
    void anEngineThatFailsWhileRunningIsEioAndIsReplaced() {
        rig.boot();
        var first = rig.backend.last();
        rig.backend.then(s -> {
            throw new VcpuException("engine broke");
        });
        assertEquals(-Errno.EIO, rig.read().n());
        assertTrue(first.closed);
        assertNull(rig.cpu().vcpu);
        assertFalse(rig.guest().isDead());
        rig.backend.then(Rig.hcall(Lhcall.NOTIFY, 0x99));
        assertEquals(0x99, rig.read().word());
        assertEquals(2, rig.backend.created.size());
    }

    @Test
    void theEngineIsCreatedOnTheOwnerThreadWithTheGuestsStateAndSwitcher() {
        rig.boot();
        var vcpu = rig.backend.last();
        assertEquals(Thread.currentThread(), vcpu.creator);
        assertEquals(rig.state(), vcpu.state);
        assertEquals(rig.guest().machine, vcpu.machine);
        assertEquals(rig.backend.switcherEntry, rig.paging.last().switcherEntry);
        assertEquals(rig.paging.last().rootPage, rig.state().pageTableRoot());
        assertEquals(1, rig.backend.created.size());
    }

    @Test
    void aReaderInterruptedWhileTheGuestRunsGetsEintrPromptly() throws Exception {
        ExecutorService launcher = Executors.newSingleThreadExecutor();
        try {
            Thread owner = launcher.submit(Thread::currentThread).get();
            launcher.submit(rig::boot).get();
            var vcpu = rig.backend.last();
            Future<Long> read = launcher.submit(() -> {
                long n = rig.read().n();
                Thread.interrupted();
                return n;
            });
            Await.until(() -> vcpu.inRun, "the guest to run");
            long start = System.nanoTime();
            owner.interrupt();
            assertEquals(-Errno.EINTR, (long) read.get());
            assertTrue(System.nanoTime() - start < 2_000_000_000L, "within the watch interval, not at the next tick");
            assertTrue(vcpu.kicks >= 1);
            assertFalse(vcpu.closed, "the engine stays for the next read");
            rig.backend.then(Rig.hcall(Lhcall.NOTIFY, 0x31));
            assertEquals(0x31L, (long) launcher.submit(() -> rig.read().word()).get());
        } finally {
            launcher.shutdownNow();
        }
    }
}
