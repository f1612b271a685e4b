package org.lguest.device.internal;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;
import org.lguest.api.abi.Errno;
import org.lguest.api.abi.Lhcall;
import org.lguest.api.abi.Lhreq;
import org.lguest.api.cpu.Reg;
import org.lguest.api.cpu.VcpuState;

/** LHREQ_INITIALIZE and lg_cpu_start(). */
@Timeout(10)
class InitializeTest {
    private Rig rig = new Rig();

    @AfterEach
    void close() {
        rig.close();
    }

    @Test
    void answersTheThreeWordsItUsed() {
        assertEquals(24, rig.init());
        Guest lg = rig.guest();
        assertNotNull(lg);
        assertEquals(1, lg.nrCpus);
        assertEquals(rig.base(), lg.memory.ram().address());
        assertEquals(Rig.PAGES * 4096L, lg.memory.ram().byteSize());
        assertEquals(Rig.PAGES, lg.memory.pfnLimit());
        assertEquals(0, lg.eventfds.size());
        assertFalse(lg.isDead());
        assertFalse(lg.initialized(), "lguest_data comes with the guest's LGUEST_INIT, not the Launcher's");
    }

    @Test
    void aSecondInitializeIsEbusy() {
        assertEquals(24, rig.init());
        Guest first = rig.guest();
        assertEquals(-Errno.EBUSY, rig.init());
        assertSame(first, rig.guest());
    }

    @Test
    void ebusyComesBeforeTheArgumentsAreRead() {
        assertEquals(24, rig.init());
        assertEquals(-Errno.EBUSY, rig.write(Lhreq.INITIALIZE));
    }

    @Test
    void missingArgumentsAreEfaultAndAllocateNothing() {
        assertEquals(-Errno.EFAULT, rig.write(Lhreq.INITIALIZE));
        assertEquals(-Errno.EFAULT, rig.write(Lhreq.INITIALIZE, rig.base()));
        assertEquals(-Errno.EFAULT, rig.write(Lhreq.INITIALIZE, rig.base(), Rig.PAGES));
        MemorySegment partial = rig.words(Lhreq.INITIALIZE, rig.base(), Rig.PAGES, Rig.START).asSlice(0, 31);
        assertEquals(-Errno.EFAULT, rig.file.write(partial, 0));
        assertTrue(rig.allocator.steps.isEmpty());
        assertNull(rig.guest());
        assertEquals(24, rig.init());
    }

    @Test
    void memoryOutsideTheTaskIsEfault() {
        // A base no segment of the task holds.
        assertEquals(-Errno.EFAULT, rig.write(Lhreq.INITIALIZE, 0x1000, 1, 0));
        // A frame limit past the end of the segment.
        assertEquals(-Errno.EFAULT, rig.write(Lhreq.INITIALIZE, rig.base(), Rig.PAGES + 2, 0));
        // A base inside, but the range runs out of it.
        assertEquals(-Errno.EFAULT, rig.write(Lhreq.INITIALIZE, rig.base() + 4096 * 2, Rig.PAGES, 0));
        // Frame limits whose size overflows.
        assertEquals(-Errno.EFAULT, rig.write(Lhreq.INITIALIZE, rig.base(), -1, 0));
        assertEquals(-Errno.EFAULT, rig.write(Lhreq.INITIALIZE, rig.base(), 1L << 52, 0));
        assertEquals(-Errno.EFAULT, rig.write(Lhreq.INITIALIZE, rig.base(), Long.MAX_VALUE / 4096 + 1, 0));
        // Memory the Launcher owns but never handed to this task.
        try (Arena other = Arena.ofConfined()) {
            MemorySegment elsewhere = other.allocate(8 * 4096, 4096);
            assertEquals(-Errno.EFAULT, rig.write(Lhreq.INITIALIZE, elsewhere.address(), 8, 0));
        }
        // A task the Launcher closed: it has let go of its memory.
        rig.task.close();
        assertEquals(-Errno.EFAULT, rig.init());
        assertTrue(rig.allocator.steps.isEmpty());
        assertNull(rig.guest());
    }

    @Test
    void theWholeSegmentMayBeGuestMemory() {
        assertEquals(24, rig.write(Lhreq.INITIALIZE, rig.base(), Rig.PAGES + 1, 0));
    }

    @Test
    void aGuestWithoutMemoryOrUnalignedIsEinval() {
        assertEquals(-Errno.EINVAL, rig.write(Lhreq.INITIALIZE, rig.base(), 0, 0));
        assertEquals(-Errno.EINVAL, rig.write(Lhreq.INITIALIZE, rig.base() + 8, Rig.PAGES - 1, 0));
        assertTrue(rig.allocator.steps.isEmpty());
        assertEquals(24, rig.init());
    }

    @Test
    void cpuZeroStartsWithLguestsBootRegisters() {
        assertEquals(24, rig.write(Lhreq.INITIALIZE, rig.base(), Rig.PAGES, 0x1_C010_0000L));
        Cpu cpu = rig.cpu();
        assertEquals(0, cpu.id);
        assertSame(Thread.currentThread(), cpu.tsk);
        VcpuState s = cpu.state;
        assertEquals(0, s.id());
        assertEquals((13 * 8) | 1, s.regs().get(Reg.DS));
        assertEquals((13 * 8) | 1, s.regs().get(Reg.ES));
        assertEquals((13 * 8) | 1, s.regs().get(Reg.SS));
        assertEquals((12 * 8) | 1, s.regs().get(Reg.CS));
        assertEquals(0x202, s.regs().get(Reg.EFLAGS));
        assertEquals(0xC010_0000, s.regs().get(Reg.EIP), "start is a 32-bit eip");
        for (Reg r : List.of(Reg.EAX, Reg.EBX, Reg.ECX, Reg.EDX, Reg.ESI, Reg.EDI, Reg.EBP, Reg.ESP, Reg.FS,
            Reg.GS, Reg.TRAPNUM, Reg.ERRCODE)) {
            assertEquals(0, s.regs().get(r), r.name());
        }
        long[] gdt = new long[32];
        gdt[12] = 0x00cf_bb00_0000_ffffL;
        gdt[13] = 0x00cf_b300_0000_ffffL;
        assertArrayEquals(gdt, s.gdt());
        assertNotNull(cpu.hrt);
        assertFalse(cpu.hrt.isArmed());
        assertEquals(0, cpu.pendingNotify);
        assertNull(cpu.regRead);
    }

    @Test
    void thePageTablesComeFromTheManager() {
        assertEquals(24, rig.init());
        assertEquals(1, rig.paging.created.size());
        FakePageTables.Tables t = rig.paging.last();
        assertSame(t, rig.guest().pageTables);
        assertEquals(rig.base(), t.machine.ram().address());
        assertEquals(Rig.PAGES, t.machine.pfnLimit());
        assertSame(rig.guest().hostArea, t.machine.hostArea());
        assertEquals(1024 * 4096L, t.machine.hostArea().memory().byteSize());
        // The manager's kill callback kills this guest.
        t.kill.accept("paging says no");
        assertEquals(new DeathReason.Killed("paging says no"), rig.guest().dead());
        assertEquals(List.of(Allocator.Step.GUEST, Allocator.Step.EVENTFD_MAP, Allocator.Step.REGISTER_PAGE,
            Allocator.Step.HOST_AREA, Allocator.Step.PAGE_TABLES), rig.allocator.steps);
    }

    @Test
    void theHostAreaSizeIsConfigurable() {
        rig.close();
        rig = new Rig(true, true, new Host.Settings(0, 0x80, 32));
        assertEquals(24, rig.init());
        assertEquals(32 * 4096L, rig.guest().hostArea.memory().byteSize());
    }

    @Test
    void withoutAPageTableManagerInitializeIsEagainAndSetsNothingUp() {
        rig.close();
        rig = new Rig(true, false);
        assertEquals(-Errno.EAGAIN, rig.init());
        assertNull(rig.guest());
        assertFalse(rig.allocator.steps.contains(Allocator.Step.HOST_AREA));
        assertEquals(-Errno.EINVAL, rig.read().n());
        rig.host.bindPageTableManager(rig.paging);
        assertEquals(24, rig.init());
    }

    @ParameterizedTest
    @EnumSource(value = Allocator.Step.class, names = {"GUEST", "EVENTFD_MAP", "REGISTER_PAGE", "HOST_AREA",
        "PAGE_TABLES"})
    void enomemAtAnyStepUnwindsEverything(Allocator.Step step) {
        rig.allocator.failAt = step;
        assertEquals(-Errno.ENOMEM, rig.init());
        List<Allocator.Step> all = List.of(Allocator.Step.values());
        assertEquals(all.subList(0, all.indexOf(step) + 1), rig.allocator.steps, "stopped at the failing step");
        assertNull(rig.guest(), "the file is not initialized");
        assertEquals(-Errno.EINVAL, rig.read().n());
        assertEquals(-Errno.EINVAL, rig.write(Lhreq.IRQ, 1));
        for (var area : rig.allocator.areas) {
            assertFalse(area.memory().scope().isAlive(), "native host area freed");
        }
        assertTrue(rig.paging.created.isEmpty());
        assertTrue(rig.host.timers.getQueue().isEmpty());
        // And nothing stops a later INITIALIZE.
        rig.allocator.failAt = null;
        rig.allocator.steps.clear();
        assertEquals(24, rig.init());
        assertEquals(5, rig.allocator.steps.size());
    }

    @Test
    void aManagerThatCannotMakeTablesIsEnomemAndTheHostAreaIsFreed() {
        rig.paging.failCreate = new IllegalStateException("host area exhausted");
        assertEquals(-Errno.ENOMEM, rig.init());
        assertEquals(1, rig.allocator.areas.size());
        assertFalse(rig.allocator.areas.get(0).memory().scope().isAlive());
        assertNull(rig.guest());
    }

    @Test
    void cpuStartRefusesAnIdPastTheArray() {
        Guest lg = new Guest(rig.host, new GuestMemory(rig.memory, Rig.PAGES));
        assertEquals(-Errno.EINVAL, rig.file.cpuStart(lg, Abi.MAX_CPUS, 0));
        assertEquals(-Errno.EINVAL, rig.file.cpuStart(lg, -1, 0));
        assertEquals(0, lg.nrCpus);
        assertEquals(0, rig.file.cpuStart(lg, 0, 0x1234));
        assertEquals(1, lg.nrCpus);
        assertEquals(0x1234, lg.cpus[0].state.regs().get(Reg.EIP));
    }

    @Test
    void theInitializingThreadOwnsTheCpu() throws Exception {
        ExecutorService launcher = Executors.newSingleThreadExecutor();
        try {
            Thread owner = launcher.submit(Thread::currentThread).get();
            assertEquals(24L, launcher.submit(rig::init).get());
            assertSame(owner, rig.cpu().tsk);
            assertEquals(-Errno.EPERM, rig.read().n());
            assertEquals(-Errno.EPERM, CompletableFuture.supplyAsync(() -> rig.read().n()).get());
            rig.backend.then(Rig.hcall(Lhcall.NOTIFY, 0x42));
            // The owner's read runs the guest (which dies: NOTIFY before INIT).
            assertEquals(-Errno.ENOENT, (long) launcher.submit(() -> rig.read().n()).get());
        } finally {
            launcher.shutdownNow();
        }
    }

    @Test
    void initializeIsSerializedUnderTheBigLock() throws Exception {
        rig.host.lguestLock.lock();
        CompletableFuture<Long> init;
        try {
            init = CompletableFuture.supplyAsync(rig::init);
            Await.until(rig.host.lguestLock::hasQueuedThreads, "INITIALIZE to queue for the lguest lock");
            assertFalse(init.isDone(), "INITIALIZE waits for the lguest lock");
        } finally {
            rig.host.lguestLock.unlock();
        }
        assertEquals(24L, init.get());
    }
}
