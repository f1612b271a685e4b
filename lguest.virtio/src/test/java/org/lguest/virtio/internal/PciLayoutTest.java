package org.lguest.virtio.internal;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.lguest.api.virtio.DeviceContext;
import org.lguest.api.virtio.DeviceSession;
import org.lguest.api.virtio.DeviceFault;
import org.lguest.api.virtio.Virtio;
import org.lguest.api.virtio.VirtioDevice;
import org.lguest.api.virtio.VirtioGuest;
import org.lguest.virtio.testkit.DriverDevice;
import org.lguest.virtio.testkit.DriverQueue;
import org.lguest.virtio.testkit.EchoDevice;
import org.lguest.virtio.testkit.GuardedRam;
import org.lguest.virtio.testkit.GuestDriver;
import org.lguest.virtio.testkit.RecordingInterrupts;

/**
 * The bus as a Linux 4.x guest must find it: the host bridge, the header
 * and capabilities of each function, BAR0 sizes, places and probing, the
 * configuration mechanism's corner cases, the notification register.
 */
class PciLayoutTest {
    private static final long RAM = 4 << 20;
    /** Where lguest put the first BAR: one MiB past the end of RAM. */
    private static final long MMIO = RAM + (1 << 20);
    private static final Duration WAIT = Duration.ofSeconds(10);

    private GuardedRam memory;
    private VirtioPciBus bus;
    private GuestDriver driver;

    /** A device of a real type and configuration size that serves nothing. */
    private record Shape(String name, int type, int configSize) implements VirtioDevice {
        @Override
        public long features() {
            return 0;
        }

        @Override
        public int[] queueSizes() {
            return new int[] {256};
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
    }

    @BeforeEach
    void setUp() {
        memory = new GuardedRam(RAM);
        // rng before the disk: lguest would have left the disk's BAR only 64-byte aligned
        bus = new VirtioPciBus(VirtioGuest.of(1, "test", null), memory.guestRam(), new RecordingInterrupts(), MMIO, 1,
            List.of(new Shape("console", Virtio.ID_CONSOLE, 12), new Shape("rng", Virtio.ID_ENTROPY, 0),
                new Shape("disk", Virtio.ID_BLOCK, 36), new Shape("net", Virtio.ID_NET, 12)),
            null);
        driver = new GuestDriver(bus, memory.guestRam());
    }

    @AfterEach
    void tearDown() {
        bus.close();
        assertEquals(0, memory.changedGuardBytes());
        memory.close();
    }

    private long read(int device, int offset, int size) {
        return driver.config(device, offset, size);
    }

    @Test
    void theHostBridgeHasOnlyAClass() {
        for (int offset = 0; offset < 0x98; offset += 4) {
            assertEquals(offset == 0x08 ? 0x0600_0000L : 0, read(0, offset, 4), "bridge dword " + offset);
        }
        assertEquals(0xFFFF_FFFFL, read(0, 0x98, 4));
        driver.configWrite(0, 0x04, 2, 7);
        assertEquals(0, read(0, 0x04, 4), "nothing in it is writable");
    }

    @Test
    void eachFunctionHasLguestsHeader() {
        int[][] expected = { // device id, class, subclass, BAR0 size
            {0x1043, 0x07, 0x00, 128}, {0x1044, 0xFF, 0x00, 64}, {0x1042, 0x01, 0x80, 128}, {0x1041, 0x02, 0x00, 128}};
        long bar = MMIO;
        for (int d = 1; d <= 4; d++) {
            int[] e = expected[d - 1];
            assertEquals((long) e[0] << 16 | 0x1AF4, read(d, 0, 4), "identity of " + d);
            assertEquals(0x0010_0000L, read(d, 0x04, 4), "command 0, status: capability list");
            assertEquals((long) e[1] << 24 | (long) e[2] << 16 | 1, read(d, 0x08, 4), "class and revision 1");
            assertEquals(0, read(d, 0x0C, 4));
            assertEquals(bar, read(d, 0x10, 4), "BAR0 of " + d);
            for (int other = 0x14; other < 0x28; other += 4) {
                assertEquals(0, read(d, other, 4));
            }
            assertEquals(0x0040_0000L, read(d, 0x2C, 4), "subsystem vendor 0, id 0x40");
            assertEquals(0, read(d, 0x30, 4));
            assertEquals(0x40, read(d, 0x34, 4));
            assertEquals(d, read(d, 0x3C, 4), "interrupt line " + d + ", pin 0");
            assertEquals(0xFFFF_FFFFL, read(d, 0x98, 4), "past the emulated space");
            assertEquals(0xFFFF_FFFFL, read(d, 0xFC, 4));
            driver.configWrite(d, 0x10, 4, 0xFFFF_FFFFL);
            assertEquals(-e[3] & 0xFFFF_FFFFL, read(d, 0x10, 4), "the probe reads the size of " + d);
            driver.configWrite(d, 0x10, 4, bar);
            assertEquals(bar, read(d, 0x10, 4), "restored after the probe");
            bar = (bar + e[3] + 127) & -128L;
        }
        assertEquals(MMIO + 256, read(3, 0x10, 4), "the disk's BAR aligned to its size after a 64-byte one");
        assertEquals(MMIO + 512, bus.mmioEnd());
    }

    @Test
    void theCapabilitiesChainAsLguestsDid() {
        // console: common, notify, ISR, PCI_CFG, then device configuration last
        assertArrayEquals(new long[] {
            0x0110_5009L, 0, 0, 56, // common: vndr 9, next 0x50, len 16, type 1; bar 0; offset 0; length 56
            0x0214_6409L, 0, 56, 2, 0, // notify: len 20; offset 56, length 2, multiplier 0
            0x0310_8409L, 0, 58, 1, // ISR at 58
            0x0410_0009L, 0, 60, 12, // device configuration at 60, 12 bytes, end of the chain
            0x0514_7409L, 0, 0, 0, 0}, // PCI_CFG: len 20, next 0x74, its data dword at 0x94
            capabilities(1));
        // rng has no configuration: PCI_CFG ends the chain and 0x74 is unreachable
        assertEquals(0x0514_0009L, read(2, 0x84, 4));
        assertEquals(0x0310_8409L, read(2, 0x64, 4));
        List<Integer> chain = new ArrayList<>();
        for (int at = (int) read(2, 0x34, 1); at != 0; at = (int) read(2, at + 1, 1)) {
            chain.add(at);
        }
        assertEquals(List.of(0x40, 0x50, 0x64, 0x84), chain);
        assertEquals(36, read(3, 0x74 + 12, 4), "the disk's configuration length");
    }

    private long[] capabilities(int device) {
        int[] at = {0x40, 0x50, 0x64, 0x74, 0x84};
        int[] dwords = {4, 5, 4, 4, 5};
        List<Long> all = new ArrayList<>();
        for (int i = 0; i < at.length; i++) {
            for (int w = 0; w < dwords[i]; w++) {
                all.add(read(device, at[i] + 4 * w, 4));
            }
        }
        return all.stream().mapToLong(Long::longValue).toArray();
    }

    @Test
    void theAddressPortMergesPartialWritesAndTheDataPortObeysIt() {
        bus.ioWrite(0xCF8, 4, 0);
        bus.ioWrite(0xCFB, 1, 0x80);
        bus.ioWrite(0xCF9, 1, 0x08);
        assertEquals(0x8000_0800L, bus.ioRead(0xCF8, 4), "byte writes merge");
        assertEquals(0x1043_1AF4L, bus.ioRead(0xCFC, 4));
        bus.ioWrite(0xCF8, 2, 0x0802);
        assertEquals(0x8000_0802L, bus.ioRead(0xCF8, 4), "a 16-bit write changes only its half");
        assertEquals(0x1043_1AF4L, bus.ioRead(0xCFC, 4), "offset bits 0-1 of the register are not used");
        assertEquals(0x1043, bus.ioRead(0xCFE, 2), "the data port's own offset picks the bytes");
        bus.ioWrite(0xCFB, 1, 0x00);
        assertEquals(0xFFFF_FFFFL, bus.ioRead(0xCFC, 4), "enable bit clear");
        assertFalse(bus.ioWrite(0xCFC, 4, 0), "and writes go nowhere");
        bus.ioWrite(0xCF8, 4, 0x8000_0900L);
        assertEquals(0xFFFF_FFFFL, bus.ioRead(0xCFC, 4), "function 1");
        bus.ioWrite(0xCF8, 4, 0x8001_0800L);
        assertEquals(0xFFFF_FFFFL, bus.ioRead(0xCFC, 4), "bus 1");
        bus.ioWrite(0xCF8, 4, 0x8000_2800L);
        assertEquals(0xFFFF_FFFFL, bus.ioRead(0xCFC, 4), "device 5: nobody");
    }

    @Test
    void onlyLguestsRegistersAreWritable() {
        bus.ioWrite(0xCF8, 4, 0x8000_080CL);
        assertTrue(bus.ioWrite(0xCFC, 4, 0xFFFF_FFFFL));
        assertEquals(0xFFFF, read(1, 0x0C, 4), "cache line and latency timer only");
        bus.ioWrite(0xCF8, 4, 0x8000_0814L);
        assertTrue(bus.ioWrite(0xCFC, 4, 0x1234_5678L));
        assertEquals(0x1234_5678L, read(1, 0x14, 4), "BAR1 is a plain register");
        bus.ioWrite(0xCF8, 4, 0x8000_0804L);
        assertTrue(bus.ioWrite(0xCFC, 2, 6), "a 16-bit command write is taken");
        assertFalse(bus.ioWrite(0xCFC, 4, 6), "a 32-bit one over the status is not");
        for (int offset : new int[] {0x00, 0x08, 0x2C, 0x34, 0x3C, 0x40, 0x50, 0x64, 0x74}) {
            bus.ioWrite(0xCF8, 4, 0x8000_0800L | offset);
            assertFalse(bus.ioWrite(0xCFC, 4, 0), "read-only dword " + offset);
        }
        bus.ioWrite(0xCF8, 4, 0x8000_0884L);
        assertFalse(bus.ioWrite(0xCFC, 4, 0), "the window's header");
        bus.ioWrite(0xCF8, 4, 0x8000_0888L);
        assertTrue(bus.ioWrite(0xCFC, 1, 0), "the window's bar byte");
        assertTrue(bus.ioWrite(0xCFC, 4, 0xFFFF_FF00L), "the whole dword");
        assertEquals(0, read(1, 0x88, 4), "its padding stays 0");
        String why = bus.slots().get(0).broken();
        assertTrue(why != null && why.startsWith("CONFIG_WRITE: ") && why.contains("offset 0x4"),
            "the first refused write broke the device: " + why);
        assertEquals(Map.of(DeviceFault.CONFIG_WRITE, 1L), bus.faults(bus.slots().get(0).slot()),
            "the writes after it hit a device already broken");
        assertNull(bus.slots().get(1).broken(), "the others are untouched");
        assertEquals(Virtio.STATUS_DEVICE_NEEDS_RESET, bus.mmioRead(MMIO + 0x14, 1) & Virtio.STATUS_DEVICE_NEEDS_RESET);
    }

    @Test
    void bar0KeepsWhatTheGuestWritesButDecodesWhereItWasPut() {
        driver.configWrite(1, 0x10, 4, 0x1234_5678L);
        assertEquals(0x1234_5600L, read(1, 0x10, 4), "bits below the size cleared");
        assertTrue(bus.ownsMmio(MMIO));
        assertEquals(1, bus.mmioRead(MMIO + 0x12, 2), "num_queues at the assigned BAR");
    }

    @Test
    void thePciCfgWindowIsCheckedAndReachesBar0() {
        driver.configWrite(1, 0x84 + 12, 4, 2);
        driver.configWrite(1, 0x84 + 8, 4, 0x12); // num_queues
        assertEquals(1, read(1, 0x94, 2));
        driver.configWrite(1, 0x84 + 8, 4, 126); // the last aligned 2 bytes of a 128-byte BAR
        assertEquals(0, read(1, 0x94, 2), "nothing there, but a valid window");
        assertTrue(windowData(0));
        driver.configWrite(1, 0x84 + 8, 4, 128);
        assertFalse(windowData(0), "past the BAR");
        assertTrue(bus.slots().get(0).broken().startsWith("CONFIG_WINDOW: the PCI_CFG window (bar 0, offset 0x80, length 2)"),
            bus.slots().get(0).broken());
        driver.configWrite(1, 0x84 + 8, 4, 0x13);
        assertFalse(windowData(0), "misaligned");
        driver.configWrite(1, 0x84 + 8, 4, 0x14); // device_status, one byte
        driver.configWrite(1, 0x84 + 12, 4, 3);
        assertFalse(windowData(1), "length 3");
        driver.configWrite(1, 0x84 + 12, 4, 1);
        driver.configWrite(1, 0x84 + 4, 1, 1);
        assertFalse(windowData(1), "BAR1");
        driver.configWrite(1, 0x84 + 4, 1, 0);
        assertTrue(windowData(Virtio.STATUS_ACKNOWLEDGE));
        assertEquals(Virtio.STATUS_ACKNOWLEDGE | Virtio.STATUS_DEVICE_NEEDS_RESET, bus.mmioRead(MMIO + 0x14, 1),
            "written, and the device still needs the reset the bad window asked for");
    }

    private boolean windowData(long value) {
        bus.ioWrite(0xCF8, 4, 0x8000_0894L);
        return bus.ioWrite(0xCFC, 4, value);
    }

    @Test
    void theNotificationRegisterTakesTheQueueIndex() throws Exception {
        try (var echo = new Bus(new EchoDevice("echo", 16, 8))) {
            DriverDevice dev = echo.driver.find(EchoDevice.TYPE);
            DriverQueue[] queues = dev.start(dev.deviceFeatures(), 0);
            assertEquals(queues[0].notifyAddress(), queues[1].notifyAddress(), "one register for both queues");
            assertEquals(MMIO + 56, queues[1].notifyAddress());
            queues[1].add(List.of(new byte[] {9}), List.of(1));
            queues[1].publish();
            assertTrue(echo.bus.mmioWrite(MMIO + 56, 2, 1)); // what the Launcher does for the guest's store
            assertArrayEquals(new byte[] {9}, queues[1].await(WAIT).written());
            queues[0].add(List.of(new byte[] {8}), List.of(1));
            queues[0].publish();
            echo.bus.notifyAddresses().get(MMIO + 56).signal(1); // what the Host does, not knowing the queue
            assertArrayEquals(new byte[] {8}, queues[0].await(WAIT).written());
            assertNull(echo.bus.slots().get(0).broken());

            echo.bus.mmioWrite(MMIO + 56, 2, 2);
            assertNotNull(echo.bus.slots().get(0).broken(), "queue 2 does not exist: the driver is broken");
            dev.start(dev.deviceFeatures(), 0);
            echo.bus.mmioWrite(MMIO + 56, 4, 0);
            assertTrue(echo.bus.slots().get(0).broken().contains("2 bytes"), "the register is 16 bits");
            assertEquals(Map.of(DeviceFault.NOTIFY_QUEUE, 1L, DeviceFault.NOTIFY_WIDTH, 1L),
                echo.bus.faults(echo.bus.slots().get(0).slot()));
        }
    }

    /** A second bus with one echo device, for the queue tests. */
    private static final class Bus implements AutoCloseable {
        final GuardedRam ram = new GuardedRam(RAM);
        final VirtioPciBus bus;
        final GuestDriver driver;

        Bus(VirtioDevice device) {
            bus = new VirtioPciBus(VirtioGuest.of(2, "echo", null), ram.guestRam(), new RecordingInterrupts(), MMIO, 1,
                List.of(device), null);
            driver = new GuestDriver(bus, ram.guestRam());
        }

        @Override
        public void close() {
            bus.close();
            assertEquals(0, ram.changedGuardBytes());
            ram.close();
        }
    }
}
