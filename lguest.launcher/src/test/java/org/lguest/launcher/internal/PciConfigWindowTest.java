package org.lguest.launcher.internal;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.lguest.api.cpu.GuestMachine;
import org.lguest.api.virtio.Virtio;
import org.lguest.api.virtio.VirtioBus;
import org.lguest.api.virtio.VirtioGuest;
import org.lguest.virtio.internal.VirtioPciBus;
import org.lguest.virtio.testing.EchoDevice;
import org.lguest.virtio.testing.GuardedRam;
import org.lguest.virtio.testing.GuestDriver;
import org.lguest.virtio.testing.RecordingInterrupts;

/** The ECAM window against a real bus, checked against what the same bus answers through its ports. */
class PciConfigWindowTest {
    private static final long RAM = 4 << 20;
    private static final long BASE = PciConfigWindow.BASE;

    private GuardedRam memory;
    private VirtioBus bus;
    private PciConfigWindow window;

    @BeforeEach
    void setUp() {
        memory = new GuardedRam(RAM);
        bus = new VirtioPciBus(VirtioGuest.of(1, "test", null), memory.guestRam(), new RecordingInterrupts(), RAM, 1,
            List.of(new EchoDevice("echo", 16), new EchoDevice("second", 4)), null);
        window = new PciConfigWindow(bus);
    }

    @AfterEach
    void tearDown() {
        bus.close();
        memory.close();
    }

    private static long at(int device, int function, int register) {
        return BASE | (long) device << 15 | (long) function << 12 | register;
    }

    @Test
    void theWindowLiesBetweenTheLargestGuestAndTheHostArea() {
        assertTrue(PciConfigWindow.BASE >= 2048L << 20, "above the most RAM a guest may have");
        assertTrue(PciConfigWindow.BASE + PciConfigWindow.SIZE <= GuestMachine.HOST_AREA_BASE);
        assertTrue(PciConfigWindow.owns(BASE) && PciConfigWindow.owns(BASE + PciConfigWindow.SIZE - 1));
        assertFalse(PciConfigWindow.owns(BASE - 1) || PciConfigWindow.owns(BASE + PciConfigWindow.SIZE));
    }

    @Test
    void readsAnswerAsTheBusAnswersThroughItsPorts() {
        GuestDriver ports = new GuestDriver(bus, memory.guestRam());
        for (int device = 0; device < 4; device++) {
            for (int register = 0; register < 0x100; register += 4) {
                assertEquals(ports.config(device, register, 4), window.read(at(device, 0, register), 4),
                    "device " + device + " register " + register);
            }
        }
        assertEquals(0x0008_1B36L, window.read(at(0, 0, 0), 4), "the host bridge");
        assertEquals(Virtio.PCI_VENDOR_ID, window.read(at(1, 0, 0), 2));
        assertEquals(Virtio.PCI_DEVICE_ID_BASE + EchoDevice.TYPE, window.read(at(2, 0, 2), 2), "a 16-bit read at 2");
        assertEquals(0x1A, window.read(at(1, 0, 1), 1), "a byte read at 1");
        assertEquals(2, window.read(at(2, 0, 0x3C), 1), "the second device's interrupt line");
    }

    @Test
    void whatNothingAnswersReadsAsAllOnes() {
        assertEquals(0xFFFF_FFFFL, window.read(at(3, 0, 0), 4), "no device 3");
        assertEquals(0xFFFF_FFFFL, window.read(at(31, 0, 0), 4), "no device 31");
        assertEquals(0xFFFFL, window.read(at(1, 1, 0), 2), "no function 1");
        assertEquals(0xFFFF_FFFFL, window.read(at(1, 0, 0x100), 4), "no extended configuration space");
        assertEquals(0xFFFF_FFFFL, window.read(at(1, 0, 2), 4), "a read across two dwords");
        assertEquals(0xFFL, window.read(BASE - 1, 1), "outside the window");
    }

    @Test
    void writesSizeAndKeepTheBar() {
        long bar = window.read(at(1, 0, 0x10), 4);
        assertEquals(RAM, bar & ~0xFL, "BAR0 of device 1 is the first page past RAM");
        assertTrue(window.write(at(1, 0, 0x10), 4, 0xFFFF_FFFFL));
        assertEquals(0xFFFF_F000L, window.read(at(1, 0, 0x10), 4) & ~0xFL, "sized as a 4 KiB BAR");
        window.write(at(1, 0, 0x10), 4, bar);
        assertEquals(bar, window.read(at(1, 0, 0x10), 4));
        window.write(at(1, 0, 0x04), 2, 0x0006);
        assertEquals(0x0006, window.read(at(1, 0, 0x04), 2) & 0x0006, "memory space and bus master on");
        assertFalse(window.write(at(1, 0, 0x100), 4, 0), "extended space: dropped");
        assertFalse(window.write(BASE + PciConfigWindow.SIZE, 4, 0));
    }

    @Test
    void theGuestsAddressPortKeepsItsValue() {
        bus.ioWrite(VirtioBus.CONFIG_ADDRESS, 4, 0x8000_1004L);
        window.read(at(1, 0, 0), 4);
        window.write(at(1, 0, 0x0C), 1, 0x10);
        assertEquals(0x8000_1004L, bus.ioRead(VirtioBus.CONFIG_ADDRESS, 4));
    }
}
