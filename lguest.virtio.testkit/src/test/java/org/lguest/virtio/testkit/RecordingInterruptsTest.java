package org.lguest.virtio.testkit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.Duration;

import org.junit.jupiter.api.Test;

class RecordingInterruptsTest {

    @Test
    void countsEachInterruptAndWakesWhoWaits() throws Exception {
        RecordingInterrupts irqs = new RecordingInterrupts();
        assertFalse(irqs.await(3, 1, Duration.ofMillis(20)), "nothing raised yet");
        Thread raiser = Thread.ofPlatform().start(() -> {
            irqs.raise(3);
            irqs.raise(3);
            irqs.raise(5);
        });
        assertTrue(irqs.await(3, 2, Duration.ofSeconds(10)));
        raiser.join();
        assertEquals(2, irqs.count(3));
        assertEquals(1, irqs.count(5));
        assertEquals(0, irqs.count(4));
    }
}
