package org.lguest.virtio.rng.internal;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.security.SecureRandom;
import java.time.Duration;
import java.util.Arrays;
import java.util.List;

import org.junit.jupiter.api.Test;
import org.lguest.api.virtio.Virtio;
import org.lguest.api.virtio.VirtioGuest;
import org.lguest.virtio.testkit.DriverDevice;
import org.lguest.virtio.testkit.DriverQueue;
import org.lguest.virtio.testkit.GuestDriver;
import org.lguest.virtio.testkit.TestBus;

class RngDeviceTest {
    private static final Duration WAIT = Duration.ofSeconds(10);

    @Test
    void fillsTheGuestsBuffersThroughTheTransport() throws Exception {
        RngDevice rng = new RngDevice("rng", new SecureRandom(), 16, 4096);
        try (TestBus bus = new TestBus(VirtioGuest.of(1, "g", null), 2 << 20, 9, List.of(rng))) {
            GuestDriver.Function f = bus.driver().scan().getFirst();
            assertEquals(0x1044, f.deviceId());
            assertEquals(-1, f.deviceConfig(), "no device configuration");
            DriverDevice dev = bus.find(Virtio.ID_ENTROPY);
            assertEquals(1, dev.numQueues());
            DriverQueue q = dev.start(-1L, 0)[0];
            q.add(List.of(), List.of(32));
            q.add(List.of(), List.of(100, 28));
            q.addIndirect(List.of(), List.of(8000));
            q.add(List.of(new byte[4]), List.of());
            q.publish();
            q.kick();
            DriverQueue.Used a = q.await(WAIT);
            DriverQueue.Used b = q.await(WAIT);
            DriverQueue.Used c = q.await(WAIT);
            DriverQueue.Used d = q.await(WAIT);
            assertEquals(32, a.length());
            assertEquals(128, b.length());
            assertEquals(4096, c.length(), "cut to bytes per request");
            assertEquals(0, d.length(), "nothing writable, nothing written");
            assertFalse(Arrays.equals(new byte[32], a.written()));
            assertNotEquals(Arrays.toString(a.written()), Arrays.toString(Arrays.copyOf(b.written(), 32)));
            assertTrue(bus.interrupts().await(9, 1, WAIT));
            assertFalse(dev.broken());
        }
    }

    @Test
    void aRestartedDeviceServesTheRequestsWaitingOnItsSlot() throws Exception {
        RngDevice first = new RngDevice("rng", new SecureRandom(), 16, 4096);
        try (TestBus bus = new TestBus(first)) {
            DriverDevice dev = bus.find(Virtio.ID_ENTROPY);
            DriverQueue q = dev.start(-1L, 0)[0];
            bus.detach(first);
            assertFalse(bus.slot("rng").attached());
            q.add(List.of(), List.of(64));
            q.publish();
            q.kick();
            assertNull(q.poll(), "nothing serves a vacant slot");
            assertTrue(bus.restart(first, new RngDevice("rng", new SecureRandom(), 16, 4096)));
            assertEquals(64, q.await(WAIT).length(), "the new device takes the request the guest left");
            assertFalse(bus.attach(new RngDevice("rng", new SecureRandom(), 16, 4096)), "the slot is taken");
            assertFalse(dev.broken());
        }
    }

    @Test
    void refusesBadConfiguration() {
        assertThrows(IllegalArgumentException.class, () -> new RngDevice("r", new SecureRandom(), 12, 1));
        assertThrows(IllegalArgumentException.class, () -> RngDevice.secureRandom("NoSuchAlgorithm"));
        assertEquals("rng", new RngDevice(" ", new SecureRandom(), 1, 1).name());
    }
}
