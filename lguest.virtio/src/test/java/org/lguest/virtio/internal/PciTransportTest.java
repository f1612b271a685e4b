package org.lguest.virtio.internal;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.Duration;
import java.util.HashSet;
import java.util.List;
import java.util.Map;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.lguest.api.device.Eventfd;
import org.lguest.api.virtio.DeviceFault;
import org.lguest.api.virtio.Virtio;
import org.lguest.api.virtio.VirtioBus;
import org.lguest.api.virtio.VirtioGuest;
import org.lguest.virtio.testkit.DriverDevice;
import org.lguest.virtio.testkit.DriverQueue;
import org.lguest.virtio.testkit.EchoDevice;
import org.lguest.virtio.testkit.GuardedRam;
import org.lguest.virtio.testkit.GuestDriver;
import org.lguest.virtio.testkit.RecordingInterrupts;

class PciTransportTest {
    private static final long RAM = 4 << 20;
    private static final long MMIO = RAM;
    private static final Duration WAIT = Duration.ofSeconds(10);

    private GuardedRam memory;
    private RecordingInterrupts irqs;
    private EchoDevice echo;
    private EchoDevice second;
    private VirtioPciBus bus;
    private GuestDriver driver;

    @BeforeEach
    void setUp() {
        memory = new GuardedRam(RAM);
        irqs = new RecordingInterrupts();
        echo = new EchoDevice("echo", 16, 8);
        second = new EchoDevice("second", 4);
        bus = new VirtioPciBus(VirtioGuest.of(1, "test", null), memory.guestRam(), irqs, MMIO, 5, List.of(echo, second), null);
        driver = new GuestDriver(bus, memory.guestRam());
    }

    @AfterEach
    void tearDown() {
        bus.close();
        assertEquals(0, memory.changedGuardBytes());
        memory.close();
    }

    @Test
    void aGuestFindsTheDevicesThroughThePorts() {
        assertTrue(bus.ownsPort(0xCF8) && bus.ownsPort(0xCFF) && !bus.ownsPort(0xCF7) && !bus.ownsPort(0xD00));
        assertEquals(0xFFFF_FFFFL, bus.ioRead(0xCFC, 4), "nothing addressed yet");
        driver.configWrite(0, 0, 4, 0);
        assertEquals(0, driver.config(0, 0, 4), "the host bridge has no identity");
        assertEquals(0x06, driver.config(0, 0x0B, 1));
        assertEquals(0xFFFF, driver.config(3, 0, 2), "no device 3");
        bus.ioWrite(0xCF8, 4, 0x8001_0000L);
        assertEquals(0xFFFF_FFFFL, bus.ioRead(0xCFC, 4), "no bus 1");
        bus.ioWrite(0xCF8, 4, 0x8000_0900L);
        assertEquals(0xFFFF_FFFFL, bus.ioRead(0xCFC, 4), "no function 1");
        bus.ioWrite(0xCF8, 4, 0x8000_0800L);
        assertEquals(0x8000_0800L, bus.ioRead(0xCF8, 4));
        assertEquals(0x08, bus.ioRead(0xCF9, 1), "byte reads of the address register");

        List<GuestDriver.Function> found = driver.scan();
        assertEquals(2, found.size());
        GuestDriver.Function f = found.get(0);
        assertEquals(1, f.device());
        assertEquals(0x1AF4, f.vendor());
        assertEquals(0x1040 + EchoDevice.TYPE, f.deviceId());
        assertEquals(5, f.irq());
        assertEquals(MMIO, f.bar0());
        assertEquals(128, f.barSize(), "60 bytes of registers and 8 of configuration");
        assertEquals(0, f.common());
        assertEquals(56, f.notifyOffset());
        assertEquals(0, f.notifyMultiplier());
        assertEquals(58, f.isr());
        assertEquals(60, f.deviceConfig());
        assertEquals(8, f.deviceConfigLength());
        assertTrue(f.pciCfgCap() > 0);
        GuestDriver.Function g = found.get(1);
        assertEquals(2, g.device());
        assertEquals(6, g.irq());
        assertEquals(MMIO + 128, g.bar0(), "packed right after the first");
        assertEquals(1, driver.config(1, 0x08, 1), "revision 1: non-transitional");
        assertEquals(0, driver.config(1, 0x2C, 2), "subsystem vendor");
        assertEquals(0x40, driver.config(1, 0x2E, 2), "subsystem id");
        assertEquals(0x10, driver.config(1, 0x06, 2) & 0x10, "capability list");
        assertEquals(MMIO, driver.config(1, 0x10, 4), "BAR0 restored after sizing");
        bus.ioWrite(0xCF8, 4, 0x8000_0800L);
        assertFalse(bus.ioWrite(0xCFC, 4, 0), "identity is read-only: a bad write");
        assertEquals(0x1AF4, driver.config(1, 0, 2));
        driver.configWrite(1, 0x04, 2, 0x0006);
        assertEquals(0, driver.config(1, 0x04, 2), "command writes are taken and ignored");
    }

    @Test
    void devicesRunEndToEnd() throws Exception {
        DriverDevice dev = driver.find(EchoDevice.TYPE);
        assertEquals(2, dev.numQueues());
        long features = dev.deviceFeatures();
        assertEquals(Virtio.bit(3) | VirtioFunction.TRANSPORT_FEATURES, features);
        assertEquals(EchoDevice.MAGIC & 0xFFFF_FFFFL, dev.config(0, 4), "configuration readable from DRIVER on");
        DriverQueue[] queues = dev.start(features, 0);
        assertEquals(16, queues[0].size());
        assertEquals(8, queues[1].size());
        assertEquals(Virtio.STATUS_ACKNOWLEDGE | Virtio.STATUS_DRIVER | Virtio.STATUS_FEATURES_OK | Virtio.STATUS_DRIVER_OK,
            dev.status());

        DriverQueue q = queues[0];
        q.add(List.of("hello, ".getBytes(), "world".getBytes()), List.of(4, 20));
        q.publish();
        q.kick();
        DriverQueue.Used used = q.await(WAIT);
        assertEquals(12, used.length());
        assertArrayEquals("hello, world".getBytes(), used.written());
        assertTrue(irqs.await(5, 1, WAIT), "interrupt 5 raised");
        assertEquals(Virtio.ISR_QUEUE, dev.isr());
        assertEquals(0, dev.isr(), "reading the ISR clears it");

        // the Launcher's path: an MMIO write to the notification address
        queues[1].addIndirect(List.of(new byte[] {1, 2, 3}), List.of(3));
        queues[1].publish();
        queues[1].kickMmio();
        assertArrayEquals(new byte[] {1, 2, 3}, queues[1].await(WAIT).written());
        assertEquals(2, dev.config(4, 4), "the device's own state");
    }

    @Test
    void everyDeviceHasOneNotificationRegisterAndEventfd() {
        assertEquals(2, bus.notifyAddresses().size());
        assertEquals(new HashSet<>(List.of(MMIO + 56, MMIO + 128 + 56)), bus.notifyAddresses().keySet());
        assertEquals(2, new HashSet<>(bus.notifyAddresses().values()).size());
        for (long address : bus.notifyAddresses().keySet()) {
            assertTrue(bus.ownsMmio(address));
        }
    }

    @Test
    void featureNegotiationRefusesWhatWasNotOffered() {
        DriverDevice dev = driver.find(EchoDevice.TYPE);
        dev.reset();
        dev.status(Virtio.STATUS_ACKNOWLEDGE | Virtio.STATUS_DRIVER);
        dev.common(0x08, 4, 0);
        dev.common(0x0C, 4, 1 << 7); // never offered
        dev.common(0x08, 4, 1);
        dev.common(0x0C, 4, 1); // VERSION_1
        dev.status(Virtio.STATUS_ACKNOWLEDGE | Virtio.STATUS_DRIVER | Virtio.STATUS_FEATURES_OK);
        assertEquals(0, dev.status() & Virtio.STATUS_FEATURES_OK, "over-accepting drivers are refused");
        // without VERSION_1 a modern device refuses
        dev.reset();
        dev.status(Virtio.STATUS_ACKNOWLEDGE | Virtio.STATUS_DRIVER);
        dev.common(0x08, 4, 0);
        dev.common(0x0C, 4, 0);
        dev.common(0x08, 4, 1);
        dev.common(0x0C, 4, 0);
        dev.status(Virtio.STATUS_ACKNOWLEDGE | Virtio.STATUS_DRIVER | Virtio.STATUS_FEATURES_OK);
        assertEquals(0, dev.status() & Virtio.STATUS_FEATURES_OK);
        assertTrue(dev.negotiate(Virtio.bit(3)));
    }

    @Test
    void queueRegistersFollowTheRules() {
        DriverDevice dev = driver.find(EchoDevice.TYPE);
        assertTrue(dev.negotiate(0));
        dev.common(0x16, 2, 7);
        assertEquals(0, dev.common(0x18, 2), "queue 7 does not exist");
        dev.common(0x16, 2, 0);
        assertEquals(16, dev.common(0x18, 2));
        dev.common(0x18, 2, 12);
        assertEquals(16, dev.common(0x18, 2), "not a power of 2");
        dev.common(0x18, 2, 32);
        assertEquals(16, dev.common(0x18, 2), "larger than the maximum");
        dev.common(0x18, 2, 4);
        assertEquals(4, dev.common(0x18, 2));
        assertEquals(0xFFFF, dev.common(0x1A, 2), "no MSI-X");
        dev.common(0x20, 4, 0x8000);
        dev.common(0x24, 4, 0x1);
        assertEquals(0x1_0000_8000L, dev.common(0x20, 4) | dev.common(0x24, 4) << 32);
        dev.common(0x1C, 2, 1);
        dev.common(0x20, 4, 0x9000);
        assertEquals(0x8000, dev.common(0x20, 4), "an enabled queue's registers are fixed");
        dev.common(0x16, 2, 1);
        assertEquals(0, dev.common(0x1E, 2), "queue_notify_off: one register for all");
        // a 64-bit descriptor address is outside RAM: DRIVER_OK breaks the device
        dev.driverOk();
        assertTrue(dev.broken());
        assertTrue(bus.slots().get(0).broken().startsWith("RING_OUTSIDE_RAM: queue 0: "), bus.slots().get(0).broken());
        assertTrue((dev.isr() & Virtio.ISR_CONFIG) != 0);
        dev.reset();
        assertEquals(0, dev.status());
        assertFalse(dev.broken());
    }

    @Test
    void aBadChainBreaksTheDeviceUntilReset() throws Exception {
        DriverDevice dev = driver.find(EchoDevice.TYPE);
        DriverQueue[] queues = dev.start(dev.deviceFeatures(), 0);
        DriverQueue q = queues[0];
        long desc = q.descAddress();
        q.writeDescriptor(desc, 0, 0x2000, 8, Virtio.DESC_F_NEXT, 0);
        q.offer(0);
        q.publish();
        q.kick();
        Await.until(dev::broken, WAIT, "the device to break on the bad chain");
        assertTrue(irqs.await(5, 1, WAIT), "a configuration interrupt");
        assertEquals(Virtio.ISR_CONFIG, dev.isr() & Virtio.ISR_CONFIG);
        VirtioBus.Slot slot = bus.slots().get(0);
        assertTrue(slot.broken().startsWith("CHAIN_LOOP: queue 0: chain from 0 loops"), slot.broken());
        assertEquals(Map.of(DeviceFault.CHAIN_LOOP, 1L), bus.faults(slot.slot()), "counted under the rule that fired");
        assertEquals(1, bus.counters().get(0).errors(), "the kinds add up to the errors");
        assertEquals(Map.of(), bus.faults(slot.slot() + 1), "no device in the next slot");
        assertEquals(0, q.usedIndex());

        queues = dev.start(dev.deviceFeatures(), 0);
        assertFalse(dev.broken());
        assertNull(bus.slots().get(0).broken());
        queues[0].add(List.of(new byte[] {7}), List.of(1));
        queues[0].publish();
        queues[0].kick();
        assertArrayEquals(new byte[] {7}, queues[0].await(WAIT).written());
    }

    @Test
    void theConfigurationWindowReachesBar0() {
        GuestDriver.Function f = driver.scan().get(0);
        int cap = f.pciCfgCap();
        driver.configWrite(1, cap + 4, 1, 0); // BAR0
        driver.configWrite(1, cap + 8, 4, 60); // the device configuration
        driver.configWrite(1, cap + 12, 4, 4);
        assertEquals(EchoDevice.MAGIC & 0xFFFF_FFFFL, driver.config(1, cap + 16, 4));
        driver.configWrite(1, cap + 8, 4, 0x14); // device_status
        driver.configWrite(1, cap + 12, 4, 1);
        driver.configWrite(1, cap + 16, 4, Virtio.STATUS_ACKNOWLEDGE);
        assertEquals(Virtio.STATUS_ACKNOWLEDGE, bus.mmioRead(MMIO + 0x14, 1));
        driver.configWrite(1, cap + 8, 4, 0x15); // misaligned for 2 bytes: refused
        driver.configWrite(1, cap + 12, 4, 2);
        driver.configWrite(1, cap + 16, 4, 0);
        assertEquals(Virtio.STATUS_ACKNOWLEDGE | Virtio.STATUS_DEVICE_NEEDS_RESET, bus.mmioRead(MMIO + 0x14, 1),
            "the refused write did nothing but break the device");
    }

    @Test
    void accessesOutsideDevicesAreRefusedNotThrown() {
        assertFalse(bus.ownsMmio(MMIO - 1));
        assertFalse(bus.ownsMmio(MMIO + 256));
        assertEquals(0xFFFF_FFFFL, bus.mmioRead(MMIO + 256, 4));
        assertFalse(bus.mmioWrite(MMIO + 256, 4, 0));
        assertFalse(bus.mmioWrite(MMIO + 126, 4, 0), "crosses the BAR's end");
        assertFalse(bus.mmioWrite(MMIO, 3, 0));
        assertEquals(0xFFFF_FFFFL, bus.ioRead(0x80, 4));
        assertFalse(bus.ioWrite(0x80, 1, 0));
        assertFalse(bus.ioWrite(0xCF8, 3, 0));
        for (int off = 0; off < 128; off++) {
            for (int size : new int[] {1, 2, 4, 8}) {
                bus.mmioRead(MMIO + off, size);
                bus.mmioWrite(MMIO + 128 + off, size, -1L);
            }
        }
    }

    @Test
    void aRestartedDeviceCarriesOnWhereItStopped() throws Exception {
        DriverDevice dev = driver.find(EchoDevice.TYPE);
        DriverQueue q = dev.start(dev.deviceFeatures(), 0)[0];
        q.add(List.of(new byte[] {1}), List.of(1));
        q.publish();
        q.kick();
        q.await(WAIT);
        assertEquals(1, dev.config(4, 4));

        bus.detach(echo); // the device bundle stops under the (paused) guest
        assertEquals(1, echo.closed.get());
        assertFalse(bus.slots().get(0).attached());
        q.add(List.of(new byte[] {2}), List.of(1));
        q.publish();
        q.kick(); // the notification waits in the eventfd
        Thread.sleep(50);
        assertEquals(1, q.usedIndex(), "nobody serves the queue while the device is away");
        assertEquals(0, dev.config(0, 4), "no configuration without a device");

        EchoDevice restarted = new EchoDevice("echo", 16, 8);
        assertFalse(bus.attach(new EchoDevice("echo", 16)), "a device of another shape does not fit");
        assertTrue(bus.attach(restarted));
        assertArrayEquals(new byte[] {2}, q.await(WAIT).written(), "served by the new instance");
        assertEquals(1, restarted.served.get());
        assertEquals(2, dev.config(4, 4), "the guest's device state survived");
        assertEquals(Virtio.STATUS_DRIVER_OK, dev.status() & Virtio.STATUS_DRIVER_OK);
    }

    @Test
    void configChangesBumpTheGeneration() {
        VirtioFunction f = bus.function("echo");
        DriverDevice dev = driver.find(EchoDevice.TYPE);
        int before = dev.configGeneration();
        int raised = irqs.count(5);
        // a device reports a change through its context
        java.lang.reflect.Field field;
        try {
            field = VirtioFunction.class.getDeclaredField("context");
            field.setAccessible(true);
            ((org.lguest.api.virtio.DeviceContext) field.get(f)).configChanged();
        } catch (ReflectiveOperationException e) {
            throw new AssertionError(e);
        }
        assertNotEquals(before, dev.configGeneration());
        assertEquals(raised + 1, irqs.count(5));
        assertEquals(Virtio.ISR_CONFIG, dev.isr());
    }

    @Test
    void theBusChecksItsRegion() {
        assertThrows(IllegalArgumentException.class,
            () -> new VirtioPciBus(VirtioGuest.of(2, "x", null), memory.guestRam(), irqs, RAM - 4096, 1, List.of(), null));
        assertThrows(IllegalArgumentException.class,
            () -> new VirtioPciBus(VirtioGuest.of(2, "x", null), memory.guestRam(), irqs, RAM + 12, 1, List.of(), null));
        assertThrows(IllegalArgumentException.class,
            () -> new VirtioPciBus(VirtioGuest.of(2, "x", null), memory.guestRam(), irqs, RAM, 0, List.of(), null));
        assertThrows(IllegalArgumentException.class, () -> new VirtioPciBus(VirtioGuest.of(2, "x", null),
            memory.guestRam(), irqs, 0xFFC0_0000L, 1, List.of(new EchoDevice("a")), null), "into the host area");
        assertThrows(IllegalArgumentException.class, () -> new VirtioPciBus(VirtioGuest.of(2, "x", null),
            memory.guestRam(), irqs, RAM, 1, List.of(new EchoDevice("a"), new EchoDevice("a")), null));
        Eventfd eventfd = bus.notifyAddresses().get(MMIO + 56);
        bus.close();
        assertTrue(eventfd.isClosed());
        bus.close();
    }
}
