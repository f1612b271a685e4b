package org.lguest.virtio.console.internal;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.Flow;
import java.util.concurrent.SubmissionPublisher;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.lguest.api.virtio.Virtio;
import org.lguest.api.virtio.VirtioBus;
import org.lguest.api.virtio.VirtioGuest;
import org.lguest.virtio.testkit.DriverDevice;
import org.lguest.virtio.testkit.DriverQueue;
import org.lguest.virtio.testkit.RecordingInterrupts;
import org.lguest.virtio.testkit.TestBus;

class ConsoleDeviceTest {
    private static final Duration WAIT = Duration.ofSeconds(10);
    private ByteArrayOutputStream output;
    private SubmissionPublisher<byte[]> input;
    private RecordingInterrupts irqs;
    private TestBus testBus;
    private VirtioBus bus;
    private DriverDevice dev;

    @BeforeEach
    void setUp() {
        output = new ByteArrayOutputStream();
        // Delivered on the submitting thread: typed bytes are with the device when submit returns.
        input = new SubmissionPublisher<>(Runnable::run, Flow.defaultBufferSize());
        testBus = new TestBus(new VirtioGuest(3, "demo", output, input), 2 << 20, 1,
            List.of(new ConsoleDevice("console", 16, true, 64)));
        irqs = testBus.interrupts();
        bus = testBus.bus();
        dev = testBus.find(Virtio.ID_CONSOLE);
    }

    @AfterEach
    void tearDown() {
        input.close();
        testBus.close();
    }

    private String output() {
        synchronized (output) {
            return output.toString(StandardCharsets.UTF_8);
        }
    }

    @Test
    void guestOutputReachesTheConsole() {
        assertEquals(0x1043, dev.function().deviceId());
        assertEquals(12, dev.function().deviceConfigLength());
        assertTrue((dev.deviceFeatures() & Virtio.bit(ConsoleDevice.F_EMERG_WRITE)) != 0);
        DriverQueue[] queues = dev.start(Virtio.bit(ConsoleDevice.F_EMERG_WRITE) | Virtio.bit(Virtio.F_RING_INDIRECT_DESC), 0);
        DriverQueue tx = queues[ConsoleDevice.TRANSMIT];
        tx.add(List.of("Hello from ".getBytes(), "the guest\n".getBytes()), List.of());
        tx.addIndirect(List.of("and again\n".getBytes()), List.of());
        tx.publish();
        tx.kick();
        assertEquals(0, tx.await(WAIT).length());
        tx.await(WAIT);
        assertEquals("Hello from the guest\nand again\n", output());
    }

    @Test
    void emergencyWritesWorkBeforeTheQueues() {
        dev.reset();
        dev.status(Virtio.STATUS_ACKNOWLEDGE | Virtio.STATUS_DRIVER);
        for (byte b : "early!".getBytes()) {
            dev.configWrite(ConsoleDevice.EMERG_WR, 4, b);
        }
        assertEquals("early!", output());
        assertEquals(0, dev.config(4, 4), "max_nr_ports without multiport");
    }

    /** A Linux 4.x kernel's early console, before any driver: conf1 ports only, one character per access. */
    @Test
    void theKernelsEarlyConsoleWritesThroughThePciCfgWindow() {
        long device1 = 0x8000_0000L | 1 << 11;
        bus.ioWrite(0xCF8, 4, device1);
        assertEquals(0x1043_1AF4L, bus.ioRead(0xCFC, 4), "the console at 00:01.0");
        int deviceCfg = -1;
        int window = -1;
        bus.ioWrite(0xCF8, 4, device1 | 0x34);
        int at = (int) bus.ioRead(0xCFC, 1);
        while (at != 0) {
            bus.ioWrite(0xCF8, 4, device1 | at);
            long head = bus.ioRead(0xCFC, 4);
            int type = (int) (head >>> 24);
            bus.ioWrite(0xCF8, 4, device1 | (at + 4));
            int bar = (int) bus.ioRead(0xCFC, 1);
            if (type == 4 && bar == 0) {
                bus.ioWrite(0xCF8, 4, device1 | (at + 12));
                assertTrue(bus.ioRead(0xCFC, 4) >= 12, "room for emerg_wr");
                bus.ioWrite(0xCF8, 4, device1 | (at + 8));
                deviceCfg = (int) bus.ioRead(0xCFC, 4);
            } else if (type == 5) {
                window = at;
            }
            at = (int) ((head >>> 8) & 0xFF);
        }
        assertEquals(60, deviceCfg);
        assertEquals(0x84, window);
        for (byte c : "Linux version 4.9\n".getBytes(StandardCharsets.US_ASCII)) {
            bus.ioWrite(0xCF8, 4, device1 | (window + 4));
            assertTrue(bus.ioWrite(0xCFC, 1, 0), "bar");
            bus.ioWrite(0xCF8, 4, device1 | (window + 12));
            assertTrue(bus.ioWrite(0xCFC, 4, 4), "length");
            bus.ioWrite(0xCF8, 4, device1 | (window + 8));
            assertTrue(bus.ioWrite(0xCFC, 4, deviceCfg + ConsoleDevice.EMERG_WR), "offset");
            bus.ioWrite(0xCF8, 4, device1 | (window + 16));
            assertTrue(bus.ioWrite(0xCFC, 4, c), "data");
        }
        assertEquals("Linux version 4.9\n", output());
        assertEquals(0, dev.status(), "no driver was involved");
    }

    @Test
    void consoleInputReachesTheGuest() throws Exception {
        DriverQueue rx = dev.start(0, 0)[ConsoleDevice.RECEIVE];
        input.submit("typed".getBytes()); // it waits for a buffer
        rx.add(List.of(), List.of(3));
        rx.add(List.of(), List.of(100));
        rx.publish();
        rx.kick();
        DriverQueue.Used first = rx.await(WAIT);
        DriverQueue.Used second = rx.await(WAIT);
        assertArrayEquals("typ".getBytes(), first.written());
        assertArrayEquals("ed".getBytes(), second.written());
        assertTrue(irqs.await(1, 1, WAIT));

        rx.add(List.of(), List.of(100));
        rx.publish();
        rx.kick();
        input.submit("more".getBytes());
        assertArrayEquals("more".getBytes(), rx.await(WAIT).written(), "input wakes the device itself");
    }

    @Test
    void inputIsBoundedWhileNobodyReads() throws Exception {
        dev.start(0, 0);
        for (int i = 0; i < 20; i++) {
            input.submit("0123456789".getBytes());
        }
        DriverQueue rx = dev.start(0, 0)[ConsoleDevice.RECEIVE];
        rx.add(List.of(), List.of(1000));
        rx.publish();
        rx.kick();
        DriverQueue.Used used = rx.await(WAIT);
        assertEquals(60, used.length(), "the 64-byte buffer keeps whole pieces only");
        assertFalse(dev.broken());
    }
}
