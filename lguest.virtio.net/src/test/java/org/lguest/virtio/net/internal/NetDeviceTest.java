package org.lguest.virtio.net.internal;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.net.InetSocketAddress;
import java.nio.channels.DatagramChannel;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.lguest.api.virtio.Virtio;
import org.lguest.api.virtio.VirtioDevice;
import org.lguest.api.virtio.VirtioGuest;
import org.lguest.virtio.testkit.DriverDevice;
import org.lguest.virtio.testkit.DriverQueue;
import org.lguest.virtio.testkit.RecordingInterrupts;
import org.lguest.virtio.testkit.TestBus;

class NetDeviceTest {
    private static final Duration WAIT = Duration.ofSeconds(10);
    private static final byte[] BROADCAST = {-1, -1, -1, -1, -1, -1};
    private final List<AutoCloseable> open = new ArrayList<>();

    /** One guest with one card: its driver side. */
    private final class Guest {
        final DriverDevice dev;
        final DriverQueue rx;
        final DriverQueue tx;
        final byte[] mac = new byte[6];
        final RecordingInterrupts irqs;

        Guest(int id, VirtioDevice card) {
            TestBus bus = new TestBus(VirtioGuest.of(id, "guest" + id, null), 4 << 20, 1, List.of(card));
            open.add(bus::close);
            irqs = bus.interrupts();
            dev = bus.find(Virtio.ID_NET);
            assertEquals(0x1041, dev.function().deviceId());
            long features = dev.deviceFeatures();
            assertTrue((features & Virtio.bit(NetDevice.F_MAC)) != 0);
            DriverQueue[] queues = dev.start(features, 0);
            rx = queues[NetDevice.RECEIVE];
            tx = queues[NetDevice.TRANSMIT];
            for (int i = 0; i < 6; i++) {
                mac[i] = (byte) dev.config(i, 1);
            }
            assertEquals(NetDevice.S_LINK_UP, dev.config(6, 2), "link up");
            for (int i = 0; i < 8; i++) {
                rx.add(List.of(), List.of(NetDevice.HEADER + 1514));
            }
            rx.publish();
            rx.kick();
        }

        void send(byte[] frame) {
            tx.add(List.of(new byte[NetDevice.HEADER], frame), List.of());
            tx.publish();
            tx.kick();
            assertEquals(0, tx.await(WAIT).length());
        }

        byte[] receive() {
            DriverQueue.Used used = rx.await(WAIT);
            assertEquals(1, used.written()[10], "num_buffers");
            rx.add(List.of(), List.of(NetDevice.HEADER + 1514));
            rx.publish();
            rx.kick();
            return Arrays.copyOfRange(used.written(), NetDevice.HEADER, used.length());
        }

        void assertNothingReceived() throws InterruptedException {
            Thread.sleep(50);
            assertNull(rx.poll());
        }
    }

    static byte[] frame(byte[] to, byte[] from, String payload) {
        byte[] p = payload.getBytes();
        byte[] f = new byte[14 + Math.max(p.length, 46)];
        System.arraycopy(to, 0, f, 0, 6);
        System.arraycopy(from, 0, f, 6, 6);
        f[12] = (byte) 0x88;
        f[13] = (byte) 0xB5; // local experimental EtherType
        System.arraycopy(p, 0, f, 14, p.length);
        return f;
    }

    @AfterEach
    void tearDown() throws Exception {
        for (AutoCloseable c : open.reversed()) {
            c.close();
        }
    }

    @Test
    void guestsOfOneRuntimeMeetOnTheSwitch() throws Exception {
        Switches switches = new Switches();
        NetDevice card = new NetDevice(new NetDevice.Settings("eth0", null, NetDevice.Backend.SWITCH, "lan", 0, 0, 64, 16),
            switches);
        Guest a = new Guest(1, card);
        Guest b = new Guest(2, card);
        Guest c = new Guest(3, new NetDevice(new NetDevice.Settings("eth0", NetDevice.parseMac("52:54:00:00:00:03"),
            NetDevice.Backend.SWITCH, "other", 0, 0, 64, 16), switches));
        assertFalse(Arrays.equals(a.mac, b.mac), "each guest gets its own MAC");
        assertEquals(2, a.mac[0], "locally administered");
        assertArrayEquals(new byte[] {0x52, 0x54, 0, 0, 0, 3}, c.mac);

        byte[] hello = frame(BROADCAST, a.mac, "hello, anyone?");
        a.send(hello);
        assertArrayEquals(hello, b.receive(), "broadcast reaches the other port");
        a.assertNothingReceived();
        c.assertNothingReceived();

        byte[] reply = frame(a.mac, b.mac, "hello, a");
        b.send(reply);
        assertArrayEquals(reply, a.receive(), "unicast to a learned MAC");

        byte[] unknown = frame(new byte[] {2, 0, 0, 0, 0, 9}, a.mac, "anybody at 9?");
        a.send(unknown);
        assertArrayEquals(unknown, b.receive(), "unknown unicast is flooded");

        // a frame larger than the guest's buffer is dropped, the buffer comes back empty
        byte[] jumbo = frame(b.mac, a.mac, "x".repeat(3000));
        a.send(jumbo);
        assertEquals(0, b.rx.await(WAIT).length());
        assertTrue(b.irqs.count(1) > 0);
        assertFalse(a.dev.broken() || b.dev.broken());
    }

    @Test
    void framesCrossToAnotherRuntimeOverUdpLoopback() throws Exception {
        int portA = freePort();
        int portB = freePort();
        Guest a = new Guest(1, new NetDevice(new NetDevice.Settings("uplink", null, NetDevice.Backend.UDP, "", portA, portB,
            64, 16), new Switches()));
        Guest b = new Guest(1, new NetDevice(new NetDevice.Settings("uplink", null, NetDevice.Backend.UDP, "", portB, portA,
            64, 16), new Switches()));
        for (int i = 0; i < 5; i++) {
            byte[] there = frame(BROADCAST, a.mac, "over udp " + i);
            a.send(there);
            assertArrayEquals(there, b.receive());
            byte[] back = frame(a.mac, b.mac, "and back " + i);
            b.send(back);
            assertArrayEquals(back, a.receive());
        }
        // datagrams from anyone but the peer are not frames for the guest
        try (DatagramChannel stranger = DatagramChannel.open()) {
            stranger.bind(new InetSocketAddress("127.0.0.1", 0));
            stranger.send(java.nio.ByteBuffer.wrap(frame(BROADCAST, BROADCAST, "intruder")), new InetSocketAddress("127.0.0.1", portA));
        }
        a.assertNothingReceived();
    }

    @Test
    void aCardWhosePortIsTakenIsBrokenNotFatal() throws Exception {
        try (DatagramChannel squatter = DatagramChannel.open()) {
            squatter.bind(new InetSocketAddress("127.0.0.1", 0));
            int taken = ((InetSocketAddress) squatter.getLocalAddress()).getPort();
            try (TestBus bus = new TestBus(VirtioGuest.of(1, "g", null), 4 << 20, 1,
                    List.of(new NetDevice(new NetDevice.Settings("n", null, NetDevice.Backend.UDP, "", taken, 9, 64, 16),
                        new Switches())))) {
                DriverDevice dev = bus.find(Virtio.ID_NET);
                dev.start(dev.deviceFeatures(), 0);
                assertTrue(dev.broken());
                assertTrue(bus.slot("n").broken().startsWith("BACKEND_LOST: the network card has no link"),
                    bus.slot("n").broken());
            }
        }
    }

    @Test
    void configurationIsChecked() {
        assertThrows(IllegalArgumentException.class, () -> NetDevice.parseMac("52:54:00:12:34"));
        assertThrows(IllegalArgumentException.class, () -> NetDevice.parseMac("52:54:00:12:34:zz"));
        assertThrows(IllegalArgumentException.class, () -> new NetDevice.Settings("n", NetDevice.parseMac("01:00:5e:00:00:01"),
            NetDevice.Backend.SWITCH, "s", 0, 0, 64, 16), "multicast MAC");
        assertThrows(IllegalArgumentException.class, () -> NetDevice.parseBackend("tap"));
        assertThrows(IllegalArgumentException.class, () -> new NetDevice.Settings("n", null, NetDevice.Backend.UDP, "", 0, 0, 64, 16));
        assertThrows(IllegalArgumentException.class, () -> new NetDevice.Settings("n", null, NetDevice.Backend.SWITCH, "", 0, 0, 100, 16));
        assertEquals(NetDevice.Backend.UDP, NetDevice.parseBackend(" UDP "));
        assertNotEquals(Arrays.toString(NetDevice.derivedMac("a", 1)), Arrays.toString(NetDevice.derivedMac("a", 2)));
    }

    private static int freePort() throws IOException {
        try (DatagramChannel c = DatagramChannel.open()) {
            c.bind(new InetSocketAddress("127.0.0.1", 0));
            return ((InetSocketAddress) c.getLocalAddress()).getPort();
        }
    }
}
