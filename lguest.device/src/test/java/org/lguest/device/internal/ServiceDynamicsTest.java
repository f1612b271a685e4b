package org.lguest.device.internal;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotSame;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.lguest.api.abi.Errno;
import org.lguest.api.abi.Lguest;
import org.lguest.api.abi.Lhcall;
import org.lguest.api.abi.Lhreq;
import org.lguest.api.cpu.Reg;

/** Backends and page-table managers come and go; the guest's state stays with the Host core. */
@Timeout(10)
class ServiceDynamicsTest {
    private final Rig rig = new Rig();
    private ExecutorService launcher;

    @BeforeEach
    void start() throws Exception {
        launcher = Executors.newSingleThreadExecutor();
        launcher.submit(rig::boot).get();
    }

    @AfterEach
    void close() {
        launcher.shutdownNow();
        rig.close();
    }

    private Future<Rig.Read> read() {
        return launcher.submit(() -> rig.read());
    }

    @Test
    void aBetterBackendTakesOverARunningGuestWhereItWas() throws Exception {
        var first = rig.backend.last();
        rig.backend.then(Rig.doing(s -> s.regs().set(Reg.EDI, 0x1234)));
        Future<Rig.Read> read = read();
        Await.until(() -> rig.backend.stepsLeft() == 0 && first.inRun, "the first backend to run the guest");
        FakeBackend better = new FakeBackend("better");
        better.then(Rig.hcall(Lhcall.NOTIFY, 0x42));
        // Greedy replacement: the new one is bound, then the old one unbound.
        rig.host.bindBackend(better);
        rig.host.unbindBackend(rig.backend);
        assertEquals(0x42, read.get().word());
        assertTrue(first.closed);
        assertEquals(1, better.created.size());
        assertSame(rig.state(), better.last().state, "the new engine resumes from the same state");
        assertEquals(0x1234, rig.reg(Reg.EDI));
        assertSame(better, rig.cpu().vcpuFrom);
        assertEquals(better.switcherEntry, rig.paging.last().switcherEntry);
    }

    @Test
    void withTheBackendGoneAHaltedGuestSleepsThenAnswersEagain() throws Exception {
        rig.backend.then(Rig.idt(Lguest.FIRST_EXTERNAL_VECTOR + 1, 0x3000, 0xE),
            Rig.doing(s -> s.regs().set(Reg.ESP, 0x9000)), Rig.hcall(Lhcall.HALT));
        Future<Rig.Read> read = read();
        rig.awaitHalted();
        var vcpu = rig.backend.last();
        rig.host.unbindBackend(rig.backend);
        assertTrue(vcpu.closed, "closed while the CPU was out of the guest");
        assertNull(rig.cpu().vcpu);
        assertFalse(read.isDone(), "still halted");
        assertEquals(0, rig.write(Lhreq.IRQ, 1));
        assertEquals(-Errno.EAGAIN, read.get().n());
        assertEquals(0x3000, rig.reg(Reg.EIP), "the interrupt was delivered all the same");
        rig.host.bindBackend(rig.backend);
        rig.backend.then(Rig.hcall(Lhcall.NOTIFY, 0x43));
        assertEquals(0x43, read().get().word());
        assertNotSame(vcpu, rig.backend.last());
    }

    @Test
    void unbindingAnotherBackendLeavesTheEngineAlone() throws Exception {
        var vcpu = rig.backend.last();
        Future<Rig.Read> read = read();
        Await.until(() -> vcpu.inRun, "the guest to run");
        FakeBackend other = new FakeBackend("other");
        rig.host.bindBackend(other);
        rig.host.unbindBackend(other);
        assertFalse(vcpu.closed);
        assertEquals(0, vcpu.kicks, "not even kicked");
        rig.backend.then(Rig.hcall(Lhcall.NOTIFY, 0x44));
        assertEquals(0x44, read.get().word());
        assertNull(rig.host.backend(), "the current one went");
        rig.host.bindBackend(rig.backend);
    }

    @Test
    void thePageTablesAreMadeAgainWhenTheirManagerReturns() throws Exception {
        rig.backend.then(Rig.hcall(Lhcall.SET_STACK, 0x69, 0x9000, 1), Rig.hcall(Lhcall.NEW_PGTABLE, 0x7000),
            Rig.hcall(Lhcall.NOTIFY, 1));
        assertEquals(1, read().get().word());
        var old = rig.paging.last();
        var vcpu = rig.backend.last();
        int flushes = vcpu.flushes;
        rig.host.unbindPageTableManager(rig.paging);
        assertTrue(old.closed);
        assertNull(rig.guest().pageTables);
        assertEquals(-Errno.EAGAIN, read().get().n());
        FakePageTables next = new FakePageTables();
        rig.host.bindPageTableManager(next);
        rig.backend.then(Rig.hcall(Lhcall.NOTIFY, 2));
        assertEquals(2, read().get().word());
        var made = next.last();
        assertEquals(java.util.List.of("kernel c0000000", "switcher " + Integer.toHexString(rig.backend.switcherEntry),
            "newPgtable 0 7000", "demand 0 8fff 2"), made.calls, "kernel address, switcher, the CPU's directory, its stack");
        assertEquals(made.rootPage, rig.state().pageTableRoot());
        assertTrue(vcpu.flushes > flushes);
        assertFalse(vcpu.closed, "the engine stays");
    }

    @Test
    void aManagerThatCannotMakeTablesLaterIsEnomem() throws Exception {
        rig.host.unbindPageTableManager(rig.paging);
        FakePageTables broken = new FakePageTables();
        broken.failCreate = new IllegalStateException("full");
        rig.host.bindPageTableManager(broken);
        assertEquals(-Errno.ENOMEM, read().get().n());
        assertFalse(rig.guest().isDead());
    }
}
