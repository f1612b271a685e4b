package org.lguest.virtio.internal;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.Duration;
import java.util.List;
import java.util.Map;

import org.junit.jupiter.api.Test;
import org.lguest.api.virtio.DeviceContext;
import org.lguest.api.virtio.DeviceSession;
import org.lguest.api.virtio.Virtio;
import org.lguest.api.virtio.VirtioBus;
import org.lguest.api.virtio.VirtioDevice;
import org.lguest.api.virtio.VirtioGuest;
import org.lguest.virtio.testkit.DriverDevice;
import org.lguest.virtio.testkit.DriverQueue;
import org.lguest.virtio.testkit.EchoDevice;
import org.lguest.virtio.testkit.GuardedRam;
import org.lguest.virtio.testkit.GuestDriver;
import org.lguest.virtio.testkit.RecordingInterrupts;

class VirtioPlatformTest {

    @Test
    void devicesGoToTheGuestsTheyAreConfiguredFor() {
        VirtioGuest demo = VirtioGuest.of(7, "demo", null);
        assertTrue(VirtioPlatform.appliesTo(Map.of(), demo));
        assertTrue(VirtioPlatform.appliesTo(Map.of(VirtioDevice.GUESTS, "*"), demo));
        assertTrue(VirtioPlatform.appliesTo(Map.of(VirtioDevice.GUESTS, "demo"), demo));
        assertTrue(VirtioPlatform.appliesTo(Map.of(VirtioDevice.GUESTS, "hello, 7"), demo));
        assertTrue(VirtioPlatform.appliesTo(Map.of(VirtioDevice.GUESTS, new String[] {"x", "demo"}), demo));
        assertTrue(VirtioPlatform.appliesTo(Map.of(VirtioDevice.GUESTS, List.of("7")), demo));
        assertFalse(VirtioPlatform.appliesTo(Map.of(VirtioDevice.GUESTS, "hello"), demo));
        assertFalse(VirtioPlatform.appliesTo(Map.of(VirtioDevice.GUESTS, new String[0]), demo));
    }

    private static VirtioDevice typed(int type, String name) {
        return new VirtioDevice() {
            @Override
            public int type() {
                return type;
            }

            @Override
            public String name() {
                return name;
            }

            @Override
            public long features() {
                return 0;
            }

            @Override
            public int[] queueSizes() {
                return new int[] {4};
            }

            @Override
            public int configSize() {
                return 0;
            }

            @Override
            public DeviceSession attach(DeviceContext context) {
                return new DeviceSession() {
                    @Override
                    public int readConfig(int offset, int size) {
                        return 0;
                    }

                    @Override
                    public void activate(long features) {
                    }

                    @Override
                    public void serve(int queue) {
                    }

                    @Override
                    public void reset() {
                    }

                    @Override
                    public void close() {
                    }
                };
            }
        };
    }

    @Test
    void busesHoldTheGuestsDevicesInOrderAndFollowRestarts() throws Exception {
        VirtioPlatform platform = new VirtioPlatform();
        EchoDevice echo = new EchoDevice("echo", 8);
        platform.addDevice(typed(Virtio.ID_ENTROPY, "rng"), Map.of());
        platform.addDevice(typed(Virtio.ID_NET, "net0"), Map.of(VirtioDevice.GUESTS, "other"));
        platform.addDevice(echo, Map.of());
        platform.addDevice(typed(Virtio.ID_BLOCK, "disk1"), Map.of());
        platform.addDevice(typed(Virtio.ID_CONSOLE, "console"), Map.of());
        platform.addDevice(typed(Virtio.ID_BLOCK, "disk0"), Map.of(VirtioDevice.GUESTS, "demo"));
        try (GuardedRam memory = new GuardedRam(1 << 20)) {
            RecordingInterrupts irqs = new RecordingInterrupts();
            VirtioBus bus = platform.create(VirtioGuest.of(1, "demo", null), memory.guestRam(), irqs, 1 << 20, 3);
            assertEquals(List.of("console", "disk0", "disk1", "rng", "echo"), bus.slots().stream().map(VirtioBus.Slot::name).toList());
            assertEquals(List.of(3, 4, 5, 6, 7), bus.slots().stream().map(VirtioBus.Slot::irq).toList());

            GuestDriver driver = new GuestDriver(bus, memory.guestRam());
            DriverDevice dev = driver.find(EchoDevice.TYPE);
            DriverQueue q = dev.start(dev.deviceFeatures(), 0)[0];

            platform.removeDevice(echo); // the echo bundle stops
            assertFalse(bus.slots().get(4).attached());
            q.add(List.of(new byte[] {4, 2}), List.of(2));
            q.publish();
            q.kick();
            EchoDevice again = new EchoDevice("echo", 8);
            platform.addDevice(again, Map.of()); // and starts again
            assertTrue(bus.slots().get(4).attached());
            assertArrayEquals(new byte[] {4, 2}, q.await(Duration.ofSeconds(10)).written());

            platform.deactivate();
            assertFalse(bus.slots().get(4).attached(), "the platform closes its buses when it goes");
        }
    }
}
