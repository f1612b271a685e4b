package org.lguest.device.internal;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.lguest.api.abi.Errno;
import org.lguest.api.abi.LguestData;
import org.lguest.api.abi.Lhcall;
import org.lguest.api.cpu.Reg;
import org.lguest.api.paging.GuestPageTables.Fault;

/** Every hypercall: hypercalls.c and lguest_arch_do_hcall(), over a scripted vCPU. */
@Timeout(10)
class HypercallTest {
    private Rig rig = new Rig();

    @AfterEach
    void close() {
        rig.close();
    }

    /** Runs the steps, then a NOTIFY the Launcher sees; fails if the guest died. */
    private void run(FakeBackend.Step... steps) {
        rig.backend.then(steps);
        rig.backend.then(Rig.hcall(Lhcall.NOTIFY, 0xF00D));
        Rig.Read r = rig.read();
        assertEquals(8, r.n(), () -> "died: " + rig.guest().dead());
        assertEquals(0xF00D, r.word());
    }

    /** Runs the steps, which must kill the guest with {@code reason}. */
    private void dies(String reason, FakeBackend.Step... steps) {
        rig.backend.then(steps);
        assertEquals(-Errno.ENOENT, rig.read().n());
        assertEquals(reason, rig.read(512).string());
    }

    private void initOnly() {
        assertEquals(24, rig.init());
        rig.prepareLguestData();
    }

    // LGUEST_INIT

    @ParameterizedTest
    @ValueSource(longs = {Lhcall.NOTIFY, Lhcall.FLUSH_ASYNC, Lhcall.HALT, 99, 0xFFFF_FFFFL})
    void anyFirstHypercallButInitKills(long call) {
        initOnly();
        dies("hypercall " + (int) call + " before INIT", Rig.hcall(call, 0x1000));
        assertFalse(rig.guest().initialized());
    }

    @Test
    void initSetsUpLguestData() {
        rig.close();
        rig = new Rig(true, true, new Host.Settings(2_500_000, 0x80, 64));
        initOnly();
        rig.put32(Rig.DATA + LguestData.NOIRQ_IRET, 0x4000);
        run(Rig.hcall(Lhcall.LGUEST_INIT, Rig.DATA));
        Guest lg = rig.guest();
        assertEquals(Rig.DATA, lg.lguestData.base());
        assertEquals(0x4000, lg.noirqIret);
        assertEquals(0xC000_0000L, lg.kernelAddress);
        assertEquals(2_500_000, rig.get32(Rig.DATA + LguestData.TSC_KHZ));
        assertEquals(4 * 1024 * 1024, rig.get32(Rig.DATA + LguestData.RESERVE_MEM));
        assertEquals((int) Rig.NOW.getEpochSecond(), rig.get32(Rig.DATA + LguestData.TIME));
        assertEquals(Rig.NOW.getNano(), rig.get32(Rig.DATA + LguestData.TIME + 4));
        assertTrue(rig.paging.last().calls.contains("clearAll"), "shadows start afresh");
        assertTrue(rig.paging.last().calls.contains("kernel c0000000"), "the page tables know the kernel address");
        assertTrue(rig.backend.last().flushes >= 1);
    }

    @Test
    void initChecksTheWholeLguestDataAgainstTheFrameLimit() {
        initOnly();
        long end = Rig.PAGES * 4096L;
        // Ending exactly at the limit is refused too, as lguest_address_ok() does.
        dies("bad guest page " + Fmt.hex(end - LguestData.SIZE), Rig.hcall(Lhcall.LGUEST_INIT, end - LguestData.SIZE));
    }

    @Test
    void initFarOutsideIsKilled() {
        initOnly();
        dies("bad guest page 0xfffff000", Rig.hcall(Lhcall.LGUEST_INIT, 0xFFFF_F000L));
    }

    @Test
    void initJustBelowTheLimitIsFine() {
        initOnly();
        long at = Rig.PAGES * 4096L - LguestData.SIZE - 1;
        rig.put32(at + LguestData.SYSCALL_VEC, 0x80);
        run(Rig.hcall(Lhcall.LGUEST_INIT, at));
        assertEquals(at, rig.guest().lguestData.base());
    }

    @Test
    void aStrangeSyscallVectorKills() {
        initOnly();
        rig.put32(Rig.DATA + LguestData.SYSCALL_VEC, 0x81);
        dies("bad syscall vector", Rig.hcall(Lhcall.LGUEST_INIT, Rig.DATA));
    }

    @Test
    void theConfiguredSyscallVectorIsAllowed() {
        rig.close();
        rig = new Rig(true, true, new Host.Settings(0, 0x81, 64));
        initOnly();
        rig.put32(Rig.DATA + LguestData.SYSCALL_VEC, 0x81);
        run(Rig.hcall(Lhcall.LGUEST_INIT, Rig.DATA));
    }

    @Test
    void aKernelAddressInTheSwitchersSlotKills() {
        initOnly();
        rig.put32(Rig.DATA + LguestData.KERNEL_ADDRESS, 0xFFC0_0000);
        dies("bad kernel address 0xffc00000", Rig.hcall(Lhcall.LGUEST_INIT, Rig.DATA));
    }

    @Test
    void aSecondInitKills() {
        rig.boot();
        dies("already have lguest_data", Rig.hcall(Lhcall.LGUEST_INIT, Rig.DATA));
    }

    // The rest, after INIT.

    @ParameterizedTest
    @ValueSource(longs = {3, 11, 12, 20, 99, 0x8000_0000L})
    void anUnknownHypercallKills(long call) {
        rig.boot();
        dies("Bad hypercall " + (int) call, Rig.hcall(call));
    }

    @Test
    void shutdownPoweroffKillsWithTheGuestsReason() {
        rig.boot();
        rig.putString(0x3000, "System halted.");
        dies("CRASH: System halted.", Rig.hcall(Lhcall.SHUTDOWN, 0x3000, Lhcall.SHUTDOWN_POWEROFF));
    }

    @Test
    void shutdownReadsAtMost127Characters() {
        rig.boot();
        rig.putString(0x3000, "x".repeat(300));
        dies("CRASH: " + "x".repeat(127), Rig.hcall(Lhcall.SHUTDOWN, 0x3000, Lhcall.SHUTDOWN_POWEROFF));
    }

    @Test
    void shutdownWithABadMessageAddressKillsForThat() {
        rig.boot();
        long at = Rig.PAGES * 4096L - 100;
        dies("bad read address " + Fmt.hex(at) + " len 128", Rig.hcall(Lhcall.SHUTDOWN, at, 1));
    }

    @Test
    void shutdownRestartIsErestart() {
        rig.boot();
        rig.putString(0x3000, "again");
        rig.backend.then(Rig.hcall(Lhcall.SHUTDOWN, 0x3000, Lhcall.SHUTDOWN_RESTART));
        assertEquals(-Errno.ERESTART, rig.read().n());
        assertEquals(-Errno.ERESTART, rig.read().n());
    }

    @Test
    void pageTableCallsGoToThePageTablesAndFlushTheTlb() {
        rig.boot();
        var t = rig.paging.last();
        var vcpu = rig.backend.last();
        t.calls.clear();
        int flushes = vcpu.flushes;
        run(Rig.hcall(Lhcall.NEW_PGTABLE, 0x7000),
            Rig.hcall(Lhcall.FLUSH_TLB, 0),
            Rig.hcall(Lhcall.FLUSH_TLB, 1),
            Rig.hcall(Lhcall.SET_PTE, 0x7000, 0xC000_1000L, 0x5063),
            Rig.hcall(Lhcall.SET_PGD, 0x7000, 768),
            Rig.hcall(Lhcall.SET_PMD, 0x7000, 0xC040_0000L));
        assertEquals(List.of("newPgtable 0 7000", "flushUser 0", "clearAll", "setPte 7000 c0001000 5063",
            "setPgd 7000 768", "setPmd 7000 c0400000"), t.calls);
        assertEquals(flushes + 6, vcpu.flushes);
        assertEquals(0x7000, rig.cpu().guestPgdir);
    }

    @Test
    void loadIdtEntryKeepsLguestsCheckedCopy() {
        rig.boot();
        run(Rig.idt(14, 0xC010_2030L, 0xE), Rig.idt(0x80, 0xC010_4050L, 0xF));
        Cpu cpu = rig.cpu();
        assertEquals((0x61 << 16) | 0x2030, cpu.idtLo[14]);
        assertEquals(0xC010_8E00, cpu.idtHi[14]);
        assertEquals(0xC010_8F00, cpu.idtHi[0x80]);
        // The present DPL-3 trap gate keeps its privilege, loses bit 12 (not a system descriptor any more).
        run(Rig.hcall(Lhcall.LOAD_IDT_ENTRY, 3, 0x0060_1000L, 0xC010_FF00L));
        assertEquals((0x61 << 16) | 0x1000, cpu.idtLo[3]);
        assertEquals(0xC010_EF00, cpu.idtHi[3]);
        // Not present: zeroed.
        run(Rig.hcall(Lhcall.LOAD_IDT_ENTRY, 14, 0x0060_2030L, 0xC010_0E00L));
        assertEquals(0, cpu.idtLo[14]);
        assertEquals(0, cpu.idtHi[14]);
    }

    @ParameterizedTest
    @ValueSource(ints = {2, 8, 15, 0x1F})
    void theIdtEntriesTheGuestNeverHandlesAreIgnored(int vector) {
        rig.boot();
        run(Rig.idt(vector, 0x3000, 0xE), Rig.hcall(Lhcall.LOAD_IDT_ENTRY, vector, 0, 0x8500));
        assertEquals(0, rig.cpu().idtHi[vector]);
        assertFalse(rig.guest().isDead());
    }

    @Test
    void anIdtEntryPastTheTableKills() {
        rig.boot();
        dies("Setting idt entry 256", Rig.idt(256, 0x3000, 0xE));
    }

    @Test
    void anIdtEntryOfAnotherTypeKills() {
        rig.boot();
        dies("bad IDT type 5", Rig.hcall(Lhcall.LOAD_IDT_ENTRY, 3, 0, 0x8500));
    }

    @Test
    void setStackKeepsTheKernelStackAndPinsItsPages() {
        rig.boot();
        var t = rig.paging.last();
        t.calls.clear();
        run(Rig.hcall(Lhcall.SET_STACK, 0x69, 0xC000_A000L, 2));
        assertEquals(0x69, rig.cpu().ss1);
        assertEquals(0xC000_A000, rig.cpu().esp1);
        assertEquals(2, rig.guest().stackPages);
        assertEquals(List.of("demand 0 c0009fff 2", "demand 0 c0008fff 2"), t.calls);
        assertEquals(List.of(0xC000_9FFFL, 0xC000_8FFFL), rig.backend.last().filled, "the engine hears of each fill");
        // Every later clear-all pins them again.
        t.calls.clear();
        run(Rig.hcall(Lhcall.FLUSH_TLB, 1));
        assertEquals(List.of("clearAll", "demand 0 c0009fff 2", "demand 0 c0008fff 2"), t.calls);
    }

    @Test
    void aStackSegmentOfAnotherPrivilegeKills() {
        rig.boot();
        dies("bad stack segment 104", Rig.hcall(Lhcall.SET_STACK, 0x68, 0x9000, 1));
    }

    @Test
    void moreThanTwoStackPagesKills() {
        rig.boot();
        dies("bad stack pages 3", Rig.hcall(Lhcall.SET_STACK, 0x69, 0x9000, 3));
    }

    @Test
    void aStackThatCannotBeMappedKills() {
        rig.boot();
        rig.paging.last().answer(Fault.GUEST);
        dies("bad stack page 0x8fff", Rig.hcall(Lhcall.SET_STACK, 0x69, 0x9000, 1));
    }

    @Test
    void tsSetsTheFlag() {
        rig.boot();
        run(Rig.hcall(Lhcall.TS, 1));
        assertEquals(1, rig.cpu().ts);
        run(Rig.hcall(Lhcall.TS, 0));
        assertEquals(0, rig.cpu().ts);
    }

    @Test
    void setClockeventArmsAndDisarmsTheTimer() {
        rig.boot();
        run(Rig.hcall(Lhcall.SET_CLOCKEVENT, 2_000_000_000L));
        assertTrue(rig.cpu().hrt.isArmed());
        assertEquals(1, rig.armedClocks());
        run(Rig.hcall(Lhcall.SET_CLOCKEVENT, 1_000_000_000L));
        assertEquals(1, rig.armedClocks(), "re-arming replaces the timer");
        run(Rig.hcall(Lhcall.SET_CLOCKEVENT, 0));
        assertFalse(rig.cpu().hrt.isArmed());
        assertEquals(0, rig.armedClocks());
    }

    @Test
    void loadGdtEntryGoesToTheBackend() {
        rig.boot();
        run(Rig.hcall(Lhcall.LOAD_GDT_ENTRY, 14, 0x0000_FFFFL, 0x00CF_9300L));
        var loads = rig.backend.last().gdtLoads;
        assertEquals(1, loads.size());
        assertArrayEquals(new long[] {14, 0x00CF_9300_0000_FFFFL}, loads.get(0));
    }

    @Test
    void aGdtEntryTheBackendRefusesKills() {
        rig.boot();
        rig.backend.gdtVerdict = "too many gdt entries 40";
        dies("too many gdt entries 40", Rig.hcall(Lhcall.LOAD_GDT_ENTRY, 40, 0, 0));
    }

    @Test
    void aGdtIndexPastAnIntKillsWithoutTheBackend() {
        rig.boot();
        dies("too many gdt entries -1", Rig.hcall(Lhcall.LOAD_GDT_ENTRY, 0xFFFF_FFFFL, 0, 0));
        assertTrue(rig.backend.last().gdtLoads.isEmpty());
    }

    @Test
    void loadTlsReadsThreeDescriptorsFromGuestMemory() {
        rig.boot();
        for (int i = 0; i < 6; i++) {
            rig.put32(0x3000 + 4L * i, 0x1111_1111 * (i + 1));
        }
        run(Rig.hcall(Lhcall.LOAD_TLS, 0x3000));
        var loads = rig.backend.last().tlsLoads;
        assertEquals(1, loads.size());
        assertArrayEquals(new long[] {0x2222_2222_1111_1111L, 0x4444_4444_3333_3333L, 0x6666_6666_5555_5555L},
            loads.get(0));
    }

    @Test
    void tlsOutsideGuestMemoryKills() {
        rig.boot();
        long at = Rig.PAGES * 4096L - 16;
        dies("bad read address " + Fmt.hex(at) + " len 24", Rig.hcall(Lhcall.LOAD_TLS, at));
        assertTrue(rig.backend.last().tlsLoads.isEmpty());
    }

    @Test
    void tlsTheBackendRefusesKills() {
        rig.boot();
        rig.backend.tlsVerdict = "bad TLS";
        dies("bad TLS", Rig.hcall(Lhcall.LOAD_TLS, 0x3000));
    }

    @Test
    void flushAsyncAndSendInterruptsJustComeOut() {
        rig.boot();
        run(Rig.hcall(Lhcall.FLUSH_ASYNC), Rig.hcall(Lhcall.SEND_INTERRUPTS));
        assertFalse(rig.guest().isDead());
    }

    @Test
    void notifyOfZeroIsNothing() {
        rig.boot();
        run(Rig.hcall(Lhcall.NOTIFY, 0));
    }

    @Test
    void theArgumentsComeFromEbxEcxEdxEsiAndNoRegisterIsWritten() {
        rig.boot();
        int[] after = new int[7];
        rig.backend.then(s -> {
            var r = s.regs();
            r.set(Reg.EAX, Lhcall.SET_STACK);
            r.set(Reg.EBX, 0x69);
            r.set(Reg.ECX, 0x9000);
            r.set(Reg.EDX, 1);
            r.set(Reg.ESI, 0x77);
            r.set(Reg.EDI, 0x5EED);
            r.set(Reg.EBP, 0xB0B0);
            return org.lguest.api.cpu.VcpuExit.trap(0x1F, 0, 0, 0x2002);
        }, s -> {
            var r = s.regs();
            Reg[] regs = {Reg.EAX, Reg.EBX, Reg.ECX, Reg.EDX, Reg.ESI, Reg.EDI, Reg.EBP};
            for (int i = 0; i < regs.length; i++) {
                after[i] = r.get(regs[i]);
            }
            return org.lguest.api.cpu.VcpuExit.kicked(0);
        });
        run();
        assertEquals(0x69, rig.cpu().ss1);
        assertEquals(0x9000, rig.cpu().esp1);
        assertEquals(1, rig.guest().stackPages);
        assertArrayEquals(new int[] {Lhcall.SET_STACK, 0x69, 0x9000, 1, 0x77, 0x5EED, 0xB0B0}, after,
            "EAX still holds the call; no register changed");
    }

    @Test
    void anArgumentInTheOldRegistersIsNotSeen() {
        rig.boot();
        rig.backend.then(s -> {
            var r = s.regs();
            r.set(Reg.EAX, Lhcall.SET_CLOCKEVENT);
            r.set(Reg.EBX, 0);
            r.set(Reg.EDX, 1_000_000);
            return org.lguest.api.cpu.VcpuExit.trap(0x1F, 0, 0, 0x2002);
        });
        run();
        assertFalse(rig.cpu().hrt.isArmed(), "SET_CLOCKEVENT(0) from EBX: the clock stays off");
    }

    /*
     * Issue 13, finding 1: a Launcher that ran its guest once and then freed
     * its memory crashed the JVM at the next read(). Task-owned RAM is held
     * by the file, so letting go early changes nothing until close().
     */
    @Test
    void aLauncherThatLetsGoOfItsMemoryEarlyCannotUnmapGuestRam() {
        rig.boot();
        rig.task.close();
        assertTrue(rig.memory.scope().isAlive(), "the file holds the RAM until it is closed");
        rig.backend.then(Rig.hcall(Lhcall.NOTIFY, 0x5678));
        assertEquals(8, rig.read().n(), "the guest runs on, on RAM still mapped");
        rig.memory.set(java.lang.foreign.ValueLayout.JAVA_INT, 0x100, 7);
        rig.file.close();
        assertFalse(rig.memory.scope().isAlive(), "closing the file unmapped what the Launcher let go of");
    }

    /* The same finding's other forms: memory the Host could not hold is refused up front. */
    @Test
    void memoryTheHostCannotHoldIsRefusedWithEfault() throws Exception {
        var task = new org.lguest.api.device.LauncherTask();
        // The Launcher's own arena, freed after the fact: the Host never took it.
        java.lang.foreign.Arena own = java.lang.foreign.Arena.ofShared();
        var mine = own.allocate(16 * 4096L, 4096);
        task.map(mine);
        // A read-only view and another thread's confined segment.
        var readOnly = task.allocate(16 * 4096L).asReadOnly();
        java.lang.foreign.MemorySegment[] confined = new java.lang.foreign.MemorySegment[1];
        java.lang.foreign.Arena[] theirs = new java.lang.foreign.Arena[1];
        Thread t = new Thread(() -> {
            theirs[0] = java.lang.foreign.Arena.ofConfined();
            confined[0] = theirs[0].allocate(16 * 4096L, 4096);
        });
        t.start();
        t.join();
        task.map(confined[0]);
        try (var file = rig.host.open(task)) {
            assertEquals(-Errno.EFAULT, file.write(rig.words(0, mine.address(), 16, 0x2000), 0));
            own.close();
            assertEquals(-Errno.EFAULT, file.write(rig.words(0, mine.address(), 16, 0x2000), 0));
            assertEquals(-Errno.EFAULT, file.write(rig.words(0, confined[0].address(), 16, 0x2000), 0));
            // A read-only view names task memory: the Host holds the mapping itself, writable.
            assertEquals(24, file.write(rig.words(0, readOnly.address(), 16, 0x2000), 0));
        }
        task.close();
        assertFalse(readOnly.scope().isAlive());
    }
}
