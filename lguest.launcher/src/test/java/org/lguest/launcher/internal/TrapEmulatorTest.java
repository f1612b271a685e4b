package org.lguest.launcher.internal;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.Duration;
import java.util.List;
import java.util.Optional;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.lguest.api.abi.LguestPending;
import org.lguest.api.abi.PtRegs;
import org.lguest.api.virtio.Virtio;
import org.lguest.api.virtio.VirtioBus;
import org.lguest.api.virtio.VirtioGuest;
import org.lguest.virtio.internal.VirtioPciBus;
import org.lguest.virtio.testkit.EchoDevice;
import org.lguest.virtio.testkit.DriverQueue;
import org.lguest.virtio.testkit.GuardedRam;
import org.lguest.virtio.testkit.GuestDriver;
import org.lguest.virtio.testkit.RecordingInterrupts;

/** Pending traps from a Host CPU, emulated against a real bus (echo devices at 4 MiB). */
class TrapEmulatorTest {
    private static final long RAM = 4 << 20;
    private static final long BAR0 = RAM;
    private static final long EIP = 0x10_0000;
    /** BAR0 offsets of the common configuration's registers. */
    private static final int NUM_QUEUES = 0x12;
    private static final int DEVICE_STATUS = 0x14;

    private GuardedRam memory;
    private VirtioBus bus;
    private FakeCpu cpu;
    private TrapEmulator traps;

    @BeforeEach
    void setUp() {
        memory = new GuardedRam(RAM);
        bus = new VirtioPciBus(VirtioGuest.of(1, "test", null), memory.guestRam(), new RecordingInterrupts(), RAM, 1,
            List.of(new EchoDevice("echo", 16, 8)), null);
        cpu = new FakeCpu().set(PtRegs.IP, EIP);
        traps = new TrapEmulator(cpu, 0, bus);
    }

    @AfterEach
    void tearDown() {
        bus.close();
        memory.close();
    }

    private Optional<String> fault(long address, String insn) {
        return traps.handle(new LguestPending(LguestPending.PAGE_FAULT, MmioInstructionTest.insn(insn), address));
    }

    private void assertEmulated(Optional<String> failure, int length) {
        assertEquals(Optional.empty(), failure);
        assertEquals(List.of(), cpu.trapsHandedBack);
        assertEquals(EIP + length, cpu.get(PtRegs.IP), "EIP moves past the instruction");
        cpu.set(PtRegs.IP, EIP);
    }

    private void assertHandedBack(Optional<String> failure, long trap) {
        assertEquals(Optional.empty(), failure);
        assertEquals(List.of(trap), cpu.trapsHandedBack);
        assertEquals(EIP, cpu.get(PtRegs.IP), "EIP stays: the guest's handler sees the faulting instruction");
        cpu.trapsHandedBack.clear();
    }

    @Test
    void loadsFromABarUpdateTheRegister() {
        cpu.set(PtRegs.CX, 0xFFFF_FFFFL);
        assertEmulated(fault(BAR0 + NUM_QUEUES, "66 8b 4a 12"), 4); // mov 0x12(%edx),%cx
        assertEquals(0xFFFF_0002L, cpu.get(PtRegs.CX), "two queues, in CX only");

        cpu.set(PtRegs.SI, 0xDEAD_BEEFL);
        assertEmulated(fault(BAR0 + NUM_QUEUES, "0f b7 72 12"), 4); // movzwl 0x12(%edx),%esi
        assertEquals(2, cpu.get(PtRegs.SI));
    }

    @Test
    void storesReachTheDevice() {
        assertEmulated(fault(BAR0 + DEVICE_STATUS, "c6 42 14 01"), 4); // movb $1,0x14(%edx)
        assertEquals(Virtio.STATUS_ACKNOWLEDGE, bus.mmioRead(BAR0 + DEVICE_STATUS, 1));

        cpu.set(PtRegs.AX, 0x0000_0300L);
        assertEmulated(fault(BAR0 + DEVICE_STATUS, "88 62 14"), 3); // mov %ah,0x14(%edx)
        assertEquals(3, bus.mmioRead(BAR0 + DEVICE_STATUS, 1));

        cpu.set(PtRegs.BX, 0xFFFF_FF00L).set(PtRegs.CX, 0x1234_5678L);
        assertEmulated(fault(BAR0 + DEVICE_STATUS, "8a 7a 14"), 3); // mov 0x14(%edx),%bh
        assertEquals(0xFFFF_0300L, cpu.get(PtRegs.BX), "BH loaded, BL and the top half kept");
    }

    @Test
    void aStoreToANotificationRegisterGetsTheQueueServed() {
        GuestDriver driver = new GuestDriver(bus, memory.guestRam());
        DriverQueue queue = driver.find(EchoDevice.TYPE).start(0, 0)[0];
        queue.add(List.of(new byte[] {7}), List.of(1));
        queue.publish();
        cpu.set(PtRegs.AX, 0);
        assertEmulated(fault(queue.notifyAddress(), "66 89 02"), 3); // mov %ax,(%edx)
        assertArrayEquals(new byte[] {7}, queue.await(Duration.ofSeconds(10)).written(), "the echo device served it");
    }

    @Test
    void theEnginesPortHookReachesConfigurationSpace() {
        assertTrue(traps.owns(0xCF8) && traps.owns(0xCFF));
        assertFalse(traps.owns(0x80) || traps.owns(0xCF7));
        traps.out(0xCF8, 4, 0x8000_0800);
        assertEquals((Virtio.PCI_DEVICE_ID_BASE + EchoDevice.TYPE) << 16 | Virtio.PCI_VENDOR_ID, traps.in(0xCFC, 4));
        traps.out(0xCF8, 1, 0x3C);
        assertEquals(1, traps.in(0xCFC, 1), "the first device's interrupt line");
        traps.out(0xCF8, 1, 0x10);
        traps.out(0xCFC, 4, 0xFFFF_FFFF);
        assertEquals(0xFFFF_FF80, traps.in(0xCFC, 4), "a 128-byte BAR0");
        traps.out(0xCF8, 4, 0x8000_3800);
        assertEquals(0xFFFF_FFFF, traps.in(0xCFC, 4), "no device 7: all ones");
    }

    @Test
    void whatIsNotUnderstoodOrNotOursGoesBackToTheGuest() {
        assertHandedBack(fault(BAR0, "a5"), 14); // movsl
        assertHandedBack(fault(BAR0, "c7 84 3a 78 56 34 12"), 14); // 11 bytes: more than the Host gives
        assertHandedBack(fault(bus.mmioEnd(), "8b 02"), 14); // past the devices
        assertHandedBack(fault(0xE000_0000L, "8b 02"), 14); // where an ECAM window would be: nothing
        assertHandedBack(traps.handle(new LguestPending(6, MmioInstructionTest.insn("0f 0b"), 0)), 6);
    }

    @Test
    void portIoAtTheBusPortsIsEmulated() {
        cpu.set(PtRegs.CS, 0x61);
        cpu.set(PtRegs.AX, 0x8000_0800L).set(PtRegs.DX, 0xCF8);
        assertEmulated(traps.handle(new LguestPending(LguestPending.GENERAL_PROTECTION, MmioInstructionTest.insn("ef"), 0)), 1);
        assertEquals(0x8000_0800L, bus.ioRead(VirtioBus.CONFIG_ADDRESS, 4), "out %eax,(%dx)");

        cpu.set(PtRegs.AX, 0x1234_5678L).set(PtRegs.DX, 0xCFC);
        assertEmulated(traps.handle(new LguestPending(LguestPending.GENERAL_PROTECTION, MmioInstructionTest.insn("66 ed"), 0)), 2);
        assertEquals(0x1234_0000L | Virtio.PCI_VENDOR_ID, cpu.get(PtRegs.AX), "in (%dx),%ax keeps the top half");

        assertHandedBack(traps.handle(new LguestPending(LguestPending.GENERAL_PROTECTION, MmioInstructionTest.insn("e6 80"), 0)), 13);
    }

    @Test
    void aCliInTheGuestKernelIsSkipped() {
        cpu.set(PtRegs.CS, 0x61);
        assertEmulated(traps.handle(new LguestPending(LguestPending.GENERAL_PROTECTION, MmioInstructionTest.insn("fa 90"), 0)), 1);
        TrapEmulator none = new TrapEmulator(cpu, 0, null);
        assertEmulated(none.handle(new LguestPending(LguestPending.GENERAL_PROTECTION, MmioInstructionTest.insn("fa"), 0)), 1);
    }

    @Test
    void aCliOrPortIoInGuestUserCodeGoesBack() {
        cpu.set(PtRegs.CS, 0x73);
        assertHandedBack(traps.handle(new LguestPending(LguestPending.GENERAL_PROTECTION, MmioInstructionTest.insn("fa"), 0)), 13);
        cpu.set(PtRegs.DX, 0xCFC);
        assertHandedBack(traps.handle(new LguestPending(LguestPending.GENERAL_PROTECTION, MmioInstructionTest.insn("ed"), 0)), 13);
    }

    @Test
    void anotherPrivilegedInstructionGoesBackToTheGuestsHandler() {
        cpu.set(PtRegs.CS, 0x61);
        assertHandedBack(traps.handle(new LguestPending(LguestPending.GENERAL_PROTECTION, MmioInstructionTest.insn("f4"), 0)), 13); // hlt
        assertHandedBack(traps.handle(new LguestPending(LguestPending.GENERAL_PROTECTION, MmioInstructionTest.insn("0f 22 d8"), 0)), 13);
    }

    @Test
    void aProtectionFaultTheGuestCannotTakeEndsItNamingTheInstruction() {
        cpu.set(PtRegs.CS, 0x61);
        cpu.refuseTraps = true;
        String failure = traps.handle(new LguestPending(LguestPending.GENERAL_PROTECTION, MmioInstructionTest.insn("f4"), 0))
            .orElseThrow();
        assertEquals("cannot hand trap 13 (instruction f4 90 90 90 90 90 90) back to the guest: LHREQ_TRAP answered EINVAL",
            failure);
    }

    @Test
    void theSamePortCodeServesAnEngineThatRunsInAndOut() {
        assertTrue(traps.owns(VirtioBus.CONFIG_ADDRESS) && traps.owns(VirtioBus.CONFIG_DATA + 3));
        assertFalse(traps.owns(0x80), "the engine makes a port nobody owns read all ones");
        traps.out(VirtioBus.CONFIG_ADDRESS, 4, 0x8000_0800);
        assertEquals(0x8000_0800L, bus.ioRead(VirtioBus.CONFIG_ADDRESS, 4));
        assertEquals(Virtio.PCI_VENDOR_ID, traps.in(VirtioBus.CONFIG_DATA, 2));
        assertEquals(List.of(), cpu.trapsHandedBack, "nothing goes through the guest's registers");
        assertFalse(new TrapEmulator(cpu, 0, null).owns(VirtioBus.CONFIG_DATA), "no bus, no ports");
    }

    @Test
    void withoutABusEveryTrapGoesBack() {
        TrapEmulator none = new TrapEmulator(cpu, 0, null);
        assertHandedBack(none.handle(new LguestPending(LguestPending.PAGE_FAULT, MmioInstructionTest.insn("8b 02"), BAR0)), 14);
    }

    @Test
    void aHostThatRefusesTheRegistersEndsTheGuestWithAReason() {
        cpu.refuseRegisters = true;
        String failure = fault(BAR0 + NUM_QUEUES, "8b 42 12").orElseThrow();
        assertTrue(failure.contains("LHREQ_SETREG ax answered EBADF"), failure);
    }
}
