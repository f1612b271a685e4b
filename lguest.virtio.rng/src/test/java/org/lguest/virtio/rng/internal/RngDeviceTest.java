package org.lguest.virtio.rng.internal;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.security.SecureRandom;
import java.time.Duration;
import java.util.Arrays;
import java.util.List;

import org.junit.jupiter.api.Test;
import org.lguest.api.virtio.Virtio;
import org.lguest.api.virtio.VirtioGuest;
import org.lguest.virtio.internal.VirtioPciBus;
import org.lguest.virtio.testing.DriverDevice;
import org.lguest.virtio.testing.DriverQueue;
import org.lguest.virtio.testing.GuardedRam;
import org.lguest.virtio.testing.GuestDriver;
import org.lguest.virtio.testing.RecordingInterrupts;

class RngDeviceTest {
    private static final Duration WAIT = Duration.ofSeconds(10);

    @Test
    void fillsTheGuestsBuffersThroughTheTransport() throws Exception {
        try (GuardedRam memory = new GuardedRam(2 << 20)) {
            RecordingInterrupts irqs = new RecordingInterrupts();
            RngDevice rng = new RngDevice("rng", new SecureRandom(), 16, 4096);
            VirtioPciBus bus = new VirtioPciBus(VirtioGuest.of(1, "g", null), memory.guestRam(), irqs, 2 << 20, 9,
                List.of(rng), null);
            try {
                GuestDriver driver = new GuestDriver(bus, memory.guestRam());
                GuestDriver.Function f = driver.scan().getFirst();
                assertEquals(0x1044, f.deviceId());
                assertEquals(-1, f.deviceConfig(), "no device configuration");
                DriverDevice dev = driver.find(Virtio.ID_ENTROPY);
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
                assertTrue(irqs.await(9, 1, WAIT));
                assertFalse(dev.broken());
            } finally {
                bus.close();
            }
            assertEquals(0, memory.changedGuardBytes());
        }
    }

    @Test
    void refusesBadConfiguration() {
        assertThrows(IllegalArgumentException.class, () -> new RngDevice("r", new SecureRandom(), 12, 1));
        assertThrows(IllegalArgumentException.class, () -> RngDevice.secureRandom("NoSuchAlgorithm"));
        assertEquals("rng", new RngDevice(" ", new SecureRandom(), 1, 1).name());
    }
}
