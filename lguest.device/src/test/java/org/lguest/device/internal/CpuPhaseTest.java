package org.lguest.device.internal;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.atomic.AtomicReference;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.lguest.api.abi.Errno;
import org.lguest.api.abi.Lhcall;
import org.lguest.device.internal.Cpu.Phase;

/** Cpu.Phase: which moves the owner may make, and the phase other threads see it in. */
@Timeout(10)
class CpuPhaseTest {
    private final Rig rig = new Rig();
    private final ExecutorService launcher = Executors.newSingleThreadExecutor();

    @AfterEach
    void close() {
        launcher.shutdownNow();
        rig.close();
    }

    @Test
    void everyMoveGoesThroughInHost() {
        for (Phase from : Phase.values()) {
            for (Phase to : Phase.values()) {
                boolean expected = from == Phase.IN_HOST ? to != Phase.IN_HOST : to == Phase.IN_HOST;
                assertEquals(expected, from.mayBecome(to), from + " -> " + to);
            }
        }
    }

    @Test
    void aMoveTheLoopNeverMakesFails() {
        Cpu cpu = new Cpu(0, new Guest(null, null));
        assertEquals(Phase.OUTSIDE, cpu.phase());
        assertThrows(IllegalStateException.class, () -> cpu.enter(Phase.RUNNING));
        cpu.enter(Phase.IN_HOST);
        cpu.enter(Phase.RUNNING);
        assertThrows(IllegalStateException.class, () -> cpu.enter(Phase.OUTSIDE));
        assertEquals(Phase.RUNNING, cpu.phase(), "a refused move changes nothing");
    }

    @Test
    void theGuestRunsInRunningAndTheOwnerIsOutsideOnceReadAnswers() throws Exception {
        launcher.submit(rig::boot).get();
        List<Phase> seenInGuest = new CopyOnWriteArrayList<>();
        rig.backend.then(Rig.doing(state -> seenInGuest.add(rig.cpu().phase())), Rig.hcall(Lhcall.NOTIFY, 0xC0DE));
        assertEquals(8, (long) launcher.submit(() -> rig.read().n()).get());
        assertEquals(List.of(Phase.RUNNING), seenInGuest);
        assertEquals(Phase.OUTSIDE, rig.cpu().phase());
    }

    @Test
    void aPausedOwnerWaitsInPausedWhileTheActionRunsThenGoesOn() throws Exception {
        launcher.submit(rig::boot).get();
        CountDownLatch inGuest = new CountDownLatch(1);
        rig.backend.then(Rig.doing(state -> inGuest.countDown()));
        Future<Long> read = launcher.submit(() -> rig.read().n());
        inGuest.await();
        AtomicReference<Phase> during = new AtomicReference<>();
        Core.paused(rig.cpu(), () -> during.set(rig.cpu().phase()));
        assertEquals(Phase.PAUSED, during.get(), "the action runs with the owner asleep, not in the guest");
        rig.backend.then(Rig.hcall(Lhcall.NOTIFY, 0xD00D));
        assertEquals(8, (long) read.get(), "once the pause ends the owner runs the guest again");
    }

    @Test
    void aHaltedOwnerSleepsInHaltedAndCloseBringsItOutside() throws Exception {
        launcher.submit(rig::boot).get();
        rig.backend.then(Rig.hcall(Lhcall.HALT));
        Future<Long> read = launcher.submit(() -> rig.read().n());
        rig.awaitHalted();
        Cpu cpu = rig.cpu();
        cpu.lock.lock();
        try {
            assertEquals(Phase.HALTED, cpu.phase());
        } finally {
            cpu.lock.unlock();
        }
        rig.file.close();
        assertEquals(-Errno.EBADF, (long) read.get());
        assertEquals(Phase.OUTSIDE, cpu.phase());
    }
}
