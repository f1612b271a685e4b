package org.lguest.virtio.internal;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Set;

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
    private static final Map<String, Object> EVERY_GUEST = Map.of(VirtioDevice.GUESTS, "*");

    @Test
    void devicesGoToTheGuestsTheyAreConfiguredFor() {
        assertTrue(VirtioPlatform.appliesTo(Map.of(VirtioDevice.GUESTS, "*"), "demo", "7", false));
        assertTrue(VirtioPlatform.appliesTo(Map.of(VirtioDevice.GUESTS, "demo"), "demo", "7", false));
        assertTrue(VirtioPlatform.appliesTo(Map.of(VirtioDevice.GUESTS, "hello, 7"), "demo", "7", false));
        assertTrue(VirtioPlatform.appliesTo(Map.of(VirtioDevice.GUESTS, new String[] {"x", "demo"}), "demo", "7", false));
        assertTrue(VirtioPlatform.appliesTo(Map.of(VirtioDevice.GUESTS, List.of("7")), "demo", "7", false));
        assertFalse(VirtioPlatform.appliesTo(Map.of(VirtioDevice.GUESTS, "hello"), "demo", "7", true),
            "a guest list rules even for a default device");
        assertFalse(VirtioPlatform.appliesTo(Map.of(VirtioDevice.GUESTS, new String[0]), "demo", "7", true));
        assertFalse(VirtioPlatform.appliesTo(Map.of(), "demo", "7", false), "no guest list: no guest");
        assertTrue(VirtioPlatform.appliesTo(Map.of(), "demo", "7", true), "no guest list: every guest, for a default");
    }

    private static VirtioDevice typed(int type, String name) {
        return typed(type, name, 4);
    }

    /** A device with nothing but the methods the SPI has no default for. */
    private static VirtioDevice typed(int type, String name, int queueSize) {
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
            public int[] queueSizes() {
                return new int[] {queueSize};
            }

            @Override
            public DeviceSession attach(DeviceContext context) {
                return new DeviceSession() {
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

    private static Map<String, Object> service(long id, int ranking) {
        return Map.of(VirtioDevice.GUESTS, "*", "service.id", id, "service.ranking", ranking);
    }

    private static VirtioPlatform.Config defaults(String... names) {
        return new VirtioPlatform.Config() {
            @Override
            public String[] default_devices() {
                return names;
            }

            @Override
            public Class<? extends java.lang.annotation.Annotation> annotationType() {
                return VirtioPlatform.Config.class;
            }
        };
    }

    private static VirtioDevice serving(VirtioBus bus, String name) {
        return ((VirtioPciBus) bus).function(name).device();
    }

    @Test
    void theHighestRankingServesThenTheLowestServiceId() {
        VirtioPlatform platform = new VirtioPlatform();
        VirtioDevice old = typed(Virtio.ID_ENTROPY, "rng");
        VirtioDevice ranked = typed(Virtio.ID_ENTROPY, "rng");
        VirtioDevice later = typed(Virtio.ID_ENTROPY, "rng");
        platform.addDevice(later, service(30, 5));
        platform.addDevice(old, service(10, 0));
        platform.addDevice(ranked, service(20, 5));
        try (GuardedRam memory = new GuardedRam(1 << 20)) {
            VirtioBus bus = platform.create(VirtioGuest.of(1, "demo", null), memory.guestRam(), new RecordingInterrupts(),
                1 << 20, 3);
            assertEquals(1, bus.slots().size(), "one slot per name");
            assertSame(ranked, serving(bus, "rng"), "ranking 5 beats 0; of the two at 5, id 20 beats 30");

            platform.removeDevice(ranked);
            assertSame(later, serving(bus, "rng"), "the vacated slot takes the best ranked of those left");
            platform.removeDevice(later);
            assertSame(old, serving(bus, "rng"));

            VirtioDevice higher = typed(Virtio.ID_ENTROPY, "rng");
            platform.addDevice(higher, service(40, 100));
            assertSame(old, serving(bus, "rng"), "an arrival never displaces the device serving a slot");
            platform.removeDevice(old);
            assertSame(higher, serving(bus, "rng"));
            bus.close();
        }
    }

    @Test
    void aDeviceOfAnotherShapeIsRefusedAndCountedAndTheNextFitTakesTheSlot() {
        VirtioPlatform platform = new VirtioPlatform();
        VirtioDevice first = typed(Virtio.ID_ENTROPY, "rng", 4);
        platform.addDevice(first, service(1, 0));
        try (GuardedRam memory = new GuardedRam(1 << 20)) {
            VirtioBus bus = platform.create(VirtioGuest.of(1, "demo", null), memory.guestRam(), new RecordingInterrupts(),
                1 << 20, 3);
            VirtioDevice bigger = typed(Virtio.ID_ENTROPY, "rng", 8);
            VirtioDevice same = typed(Virtio.ID_ENTROPY, "rng", 4);
            platform.addDevice(bigger, service(2, 10));
            platform.addDevice(same, service(3, 0));
            assertEquals(0, platform.refusals(), "nothing is refused while the slot is served");

            platform.removeDevice(first);
            assertEquals(1, platform.refusals(), "the better ranked device has other queue sizes");
            assertSame(same, serving(bus, "rng"), "the next one that fits serves");
            String why = ((VirtioPciBus) bus).function("rng").misfit(bigger);
            assertTrue(why.contains("[8]") && why.contains("[4]"), why);

            platform.removeDevice(same);
            assertEquals(2, platform.refusals());
            assertFalse(bus.slots().get(0).attached(), "no device fits: the slot waits");
            bus.close();
        }
    }

    @Test
    void configurationNotInstallationDecidesWhatAGuestGets() {
        VirtioPlatform platform = new VirtioPlatform();
        platform.addDevice(typed(Virtio.ID_ENTROPY, "rng"), Map.of());
        platform.addDevice(typed(Virtio.ID_ENTROPY, "counter-rng"), Map.of());
        platform.addDevice(typed(Virtio.ID_CONSOLE, "console"), Map.of());
        assertEquals(Set.of("console", "rng"), platform.offeredTo("demo"), "an unlisted device is no default");

        platform.configure(defaults("console", "counter-rng"));
        assertEquals(Set.of("console", "counter-rng"), platform.offeredTo("demo"), "the defaults are configuration");

        platform.configure(defaults("console"));
        platform.addDevice(typed(Virtio.ID_ENTROPY, "counter-rng"), Map.of(VirtioDevice.GUESTS, "demo"));
        assertEquals(Set.of("console", "counter-rng"), platform.offeredTo("demo"));
        assertEquals(Set.of("console"), platform.offeredTo("other"));
    }

    @Test
    void theBusOrderIsByKnownTypeThenTypeNumberThenName() {
        List<VirtioDevice> devices = new java.util.ArrayList<>(List.of(typed(9, "a"), typed(5, "z"),
            typed(Virtio.ID_ENTROPY, "rng"), typed(Virtio.ID_NET, "net1"), typed(Virtio.ID_NET, "net0"),
            typed(Virtio.ID_BLOCK, "disk"), typed(Virtio.ID_CONSOLE, "console")));
        devices.sort(VirtioPlatform.BUS_ORDER);
        assertEquals(List.of("console", "disk", "net0", "net1", "rng", "z", "a"),
            devices.stream().map(VirtioDevice::name).toList());
    }

    @Test
    void busesHoldTheGuestsDevicesInOrderAndFollowRestarts() throws Exception {
        VirtioPlatform platform = new VirtioPlatform();
        EchoDevice echo = new EchoDevice("echo", 8);
        platform.addDevice(typed(Virtio.ID_ENTROPY, "rng"), Map.of());
        platform.addDevice(typed(Virtio.ID_NET, "net0"), Map.of(VirtioDevice.GUESTS, "other"));
        platform.addDevice(echo, EVERY_GUEST);
        platform.addDevice(typed(Virtio.ID_BLOCK, "disk1"), EVERY_GUEST);
        platform.addDevice(typed(Virtio.ID_BLOCK, "unlisted"), Map.of());
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
            platform.addDevice(again, EVERY_GUEST); // and starts again
            assertTrue(bus.slots().get(4).attached());
            assertArrayEquals(new byte[] {4, 2}, q.await(Duration.ofSeconds(10)).written());

            platform.deactivate();
            assertFalse(bus.slots().get(4).attached(), "the platform closes its buses when it goes");
        }
    }
}
