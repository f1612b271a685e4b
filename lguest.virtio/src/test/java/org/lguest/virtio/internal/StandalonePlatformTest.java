package org.lguest.virtio.internal;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.Duration;
import java.util.List;

import org.junit.jupiter.api.Test;
import org.lguest.api.virtio.VirtioGuest;
import org.lguest.virtio.testkit.DriverDevice;
import org.lguest.virtio.testkit.DriverQueue;
import org.lguest.virtio.testkit.EchoDevice;
import org.lguest.virtio.testkit.TestBus;

/** The device kit's bus is this platform's, found through META-INF/services, and its slots outlive their devices. */
class StandalonePlatformTest {
    private static final Duration WAIT = Duration.ofSeconds(10);

    @Test
    void theKitFindsThisPlatformOnTheClassPath() {
        assertInstanceOf(StandalonePlatform.class, TestBus.platform());
        try (TestBus bus = new TestBus(new EchoDevice("echo"))) {
            assertInstanceOf(VirtioPciBus.class, bus.bus());
        }
    }

    @Test
    void aRestartCarriesOnFromTheSlotsStateAndPendingRequests() {
        EchoDevice first = new EchoDevice("echo");
        try (TestBus bus = new TestBus(first)) {
            DriverDevice dev = bus.find(EchoDevice.TYPE);
            DriverQueue q = dev.start(-1L, 0)[0];
            q.add(List.of(new byte[] {1, 2, 3}), List.of(8));
            q.publish();
            q.kick();
            assertEquals(3, q.await(WAIT).length());
            assertEquals(1, dev.config(4, 4), "one chain served");

            bus.detach(first);
            assertEquals(1, first.closed.get());
            assertFalse(bus.slot("echo").attached());
            q.add(List.of(new byte[] {4, 5}), List.of(8));
            q.publish();
            q.kick();
            assertNull(q.poll(), "a vacant slot serves nothing");

            EchoDevice second = new EchoDevice("echo");
            assertTrue(bus.attach(second));
            DriverQueue.Used used = q.await(WAIT);
            assertEquals(2, used.length(), "the new device took the chain the guest left");
            assertEquals(2, dev.config(4, 4), "the count lives in the slot's state, not in the device");
            assertFalse(dev.broken());

            EchoDevice third = new EchoDevice("echo");
            assertTrue(bus.restart(second, third));
            assertEquals(1, second.closed.get());
            assertEquals(1, third.attached.get());
        }
    }

    @Test
    void aDeviceOfAnotherShapeOrNameIsRefused() {
        EchoDevice first = new EchoDevice("echo", 64);
        try (TestBus bus = new TestBus(first)) {
            assertFalse(bus.attach(new EchoDevice("echo", 64)), "the slot is taken");
            bus.detach(first);
            assertFalse(bus.attach(new EchoDevice("echo", 128)), "other queue sizes");
            assertFalse(bus.attach(new EchoDevice("other", 64)), "no slot of that name");
            assertFalse(bus.slot("echo").attached());
            assertTrue(bus.attach(new EchoDevice("echo", 64)));
        }
    }

    @Test
    void twoDevicesOfOneNameAreRefusedAndTheRamFreed() {
        assertThrows(IllegalArgumentException.class, () -> new TestBus(VirtioGuest.of(1, "g", null), 1 << 20, 1,
            List.of(new EchoDevice("echo"), new EchoDevice("echo"))));
    }
}
