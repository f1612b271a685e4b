package org.lguest.device.internal;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import java.util.concurrent.TimeUnit;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.lguest.api.abi.Errno;
import org.lguest.api.abi.LguestData;
import org.lguest.api.abi.Lhcall;
import org.lguest.api.abi.Lhreq;
import org.lguest.api.device.Eventfd;

/** The asynchronous hypercall ring in lguest_data: do_async_hcalls(). */
@Timeout(10)
class AsyncRingTest {
    private final Rig rig = new Rig();
    private FakePageTables.Tables tables;

    @BeforeEach
    void boot() {
        rig.boot();
        tables = rig.paging.last();
        tables.calls.clear();
    }

    @AfterEach
    void close() {
        rig.close();
    }

    /** Fills ring slot {@code n}: the arguments, then the status byte that says "ready". */
    private void slot(int n, long call, long... args) {
        long at = Rig.DATA + LguestData.HCALLS + n * (long) LguestData.HCALL_ARGS_SIZE;
        rig.put32(at, (int) call);
        for (int i = 0; i < args.length; i++) {
            rig.put32(at + 4 + 4L * i, (int) args[i]);
        }
        rig.put8(Rig.DATA + LguestData.HCALL_STATUS + n, 0);
    }

    private int status(int n) {
        return rig.get8(Rig.DATA + LguestData.HCALL_STATUS + n);
    }

    @Test
    void readySlotsRunInOrderBeforeTheSynchronousCall() {
        slot(0, Lhcall.SET_PTE, 0x7000, 0x1000, 0x1063);
        slot(1, Lhcall.SET_PTE, 0x7000, 0x2000, 0x2063);
        slot(2, Lhcall.SET_PGD, 0x7000, 3);
        rig.backend.then(Rig.hcall(Lhcall.NEW_PGTABLE, 0x8000), Rig.hcall(Lhcall.NOTIFY, 1));
        assertEquals(1, rig.read().word());
        assertEquals(List.of("setPte 7000 1000 1063", "setPte 7000 2000 2063", "setPgd 7000 3",
            "newPgtable 0 8000"), tables.calls);
        for (int n = 0; n < 3; n++) {
            assertEquals(0xFF, status(n), "slot " + n + " marked done");
        }
        assertEquals(3, rig.cpu().nextHcall);
    }

    @Test
    void anEmptySlotEndsTheWalk() {
        slot(0, Lhcall.SET_PGD, 0x7000, 1);
        slot(2, Lhcall.SET_PGD, 0x7000, 2);
        rig.backend.then(Rig.hcall(Lhcall.FLUSH_ASYNC), Rig.hcall(Lhcall.NOTIFY, 1));
        assertEquals(1, rig.read().word());
        assertEquals(List.of("setPgd 7000 1"), tables.calls);
        assertEquals(0, status(2), "slot 2 waits: slot 1 was empty");
        assertEquals(1, rig.cpu().nextHcall);
    }

    @Test
    void flushAsyncRunsTheRing() {
        slot(0, Lhcall.TS, 1);
        rig.backend.then(Rig.hcall(Lhcall.FLUSH_ASYNC), Rig.hcall(Lhcall.NOTIFY, 1));
        assertEquals(1, rig.read().word());
        assertEquals(1, rig.cpu().ts);
    }

    @Test
    void theCursorWrapsAroundTheRing() {
        rig.cpu().nextHcall = Lhcall.RING_SIZE - 1;
        slot(Lhcall.RING_SIZE - 1, Lhcall.SET_PGD, 0x7000, 63);
        slot(0, Lhcall.SET_PGD, 0x7000, 0);
        rig.backend.then(Rig.hcall(Lhcall.FLUSH_ASYNC), Rig.hcall(Lhcall.NOTIFY, 1));
        assertEquals(1, rig.read().word());
        assertEquals(List.of("setPgd 7000 63", "setPgd 7000 0"), tables.calls);
        assertEquals(1, rig.cpu().nextHcall);
    }

    @Test
    void aFullRingRunsOnceRound() {
        for (int n = 0; n < Lhcall.RING_SIZE; n++) {
            slot(n, Lhcall.SET_PGD, 0x7000, n);
        }
        rig.backend.then(Rig.hcall(Lhcall.FLUSH_ASYNC), Rig.hcall(Lhcall.NOTIFY, 1));
        assertEquals(1, rig.read().word());
        assertEquals(Lhcall.RING_SIZE, tables.count("setPgd"));
        assertEquals(0, rig.cpu().nextHcall);
    }

    @Test
    void aNotificationForTheLauncherStopsTheRingAndHoldsTheSynchronousCall() {
        slot(0, Lhcall.SET_PGD, 0x7000, 1);
        slot(1, Lhcall.NOTIFY, 0x55);
        slot(2, Lhcall.SET_PGD, 0x7000, 2);
        rig.backend.then(Rig.hcall(Lhcall.NEW_PGTABLE, 0x8000), Rig.hcall(Lhcall.NOTIFY, 1));
        assertEquals(0x55, rig.read().word());
        assertEquals(List.of("setPgd 7000 1"), tables.calls);
        assertEquals(0xFF, status(1), "the notifying slot itself is done");
        assertEquals(0, status(2));
        // The Launcher serviced it; the next read goes on where the ring stopped, then the call.
        assertEquals(1, rig.read().word());
        assertEquals(List.of("setPgd 7000 1", "setPgd 7000 2", "newPgtable 0 8000"), tables.calls);
    }

    @Test
    void aNotificationAnEventfdTakesDoesNotStopTheGuest() throws Exception {
        Eventfd e = new Eventfd();
        assertEquals(0, rig.write(Lhreq.EVENTFD, 0x55, rig.task.descriptors().install(e)));
        slot(0, Lhcall.NOTIFY, 0x55);
        slot(1, Lhcall.SET_PGD, 0x7000, 2);
        rig.backend.then(Rig.hcall(Lhcall.NEW_PGTABLE, 0x8000), Rig.hcall(Lhcall.NOTIFY, 1));
        assertEquals(1, rig.read().word());
        assertEquals(1, e.read(1, TimeUnit.SECONDS));
        assertEquals(List.of("setPgd 7000 2", "newPgtable 0 8000"), tables.calls);
    }

    @Test
    void aFatalSlotStopsTheRingAndTheGuest() {
        slot(0, 99);
        slot(1, Lhcall.SET_PGD, 0x7000, 2);
        rig.backend.then(Rig.hcall(Lhcall.FLUSH_ASYNC));
        assertEquals(-Errno.ENOENT, rig.read().n());
        assertEquals("Bad hypercall 99", rig.read().string());
        assertTrue(tables.calls.isEmpty());
    }

    @Test
    void initInTheRingKills() {
        slot(0, Lhcall.LGUEST_INIT, Rig.DATA);
        rig.backend.then(Rig.hcall(Lhcall.FLUSH_ASYNC));
        assertEquals(-Errno.ENOENT, rig.read().n());
        assertEquals("already have lguest_data", rig.read().string());
    }
}
