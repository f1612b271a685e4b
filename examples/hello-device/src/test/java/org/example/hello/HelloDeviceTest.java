package org.example.hello;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;

import org.junit.jupiter.api.Test;
import org.lguest.virtio.testkit.DriverDevice;
import org.lguest.virtio.testkit.DriverQueue;
import org.lguest.virtio.testkit.TestBus;

/** The hello device on the platform's real bus, driven by the kit's guest driver. */
class HelloDeviceTest {
    private static final Duration WAIT = Duration.ofSeconds(10);

    private static DriverQueue.Used ask(DriverQueue queue, int bytes) {
        queue.add(List.of(), List.of(bytes));
        queue.publish();
        queue.kick();
        return queue.await(WAIT);
    }

    @Test
    void theGuestReadsTheGreetingAndItsCount() throws Exception {
        try (TestBus bus = new TestBus(new HelloDevice("hello", "hi!"))) {
            DriverDevice hello = bus.find(HelloDevice.TYPE);
            DriverQueue queue = hello.start(0, 0)[0];
            DriverQueue.Used used = ask(queue, 7);
            assertEquals(7, used.length());
            assertEquals("hi!hi!h", new String(used.written(), StandardCharsets.UTF_8));
            assertTrue(bus.interrupts().await(hello.irq(), 1, WAIT), "the guest was told");
            assertEquals(1, hello.config(0, 4));
            assertFalse(hello.broken());
        }
    }

    @Test
    void aNewVersionOfTheBundleCarriesOnWhereTheOldOneStopped() {
        HelloDevice old = new HelloDevice("hello", "v1 ");
        try (TestBus bus = new TestBus(old)) {
            DriverDevice hello = bus.find(HelloDevice.TYPE);
            DriverQueue queue = hello.start(0, 0)[0];
            ask(queue, 3);

            bus.detach(old);
            queue.add(List.of(), List.of(3));
            queue.publish();
            queue.kick();
            assertNull(queue.poll(), "nobody serves the slot while the bundle is away");

            assertTrue(bus.attach(new HelloDevice("hello", "v2 ")));
            assertEquals("v2 ", new String(queue.await(WAIT).written(), StandardCharsets.UTF_8),
                "the new version took the request the guest left");
            assertEquals(2, hello.config(0, 4), "the count survived the restart");
        }
    }

    @Test
    void anEmptyGreetingIsRefused() {
        assertThrows(IllegalArgumentException.class, () -> new HelloDevice("hello", ""));
    }
}
