package org.lguest.api.device;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/** Linux eventfd semantics: signals add up, a read takes them all, the counter saturates. */
@Timeout(10)
class EventfdTest {

    @Test
    void signalsAddUpAndAReadTakesThemAll() throws InterruptedException {
        try (Eventfd e = new Eventfd()) {
            e.signal(2);
            e.signal(3);
            assertEquals(5, e.read());
            assertEquals(0, e.poll(), "a read empties the counter");
        }
    }

    @Test
    void aZeroSignalChangesNothingAndCallsNoListener() {
        AtomicInteger calls = new AtomicInteger();
        try (Eventfd e = new Eventfd(calls::incrementAndGet)) {
            e.signal(0);
            assertEquals(0, e.poll());
            assertEquals(0, calls.get());
        }
    }

    @Test
    void theCounterSaturatesAtMaxInsteadOfWrapping() {
        try (Eventfd e = new Eventfd()) {
            e.signal(Eventfd.MAX - 1);
            e.signal(5);
            assertEquals(Eventfd.MAX, e.poll());
            e.signal(-1L); // as unsigned: more than MAX on its own
            assertEquals(Eventfd.MAX, e.poll());
        }
    }

    @Test
    void theListenerRunsOnTheSignallingThreadAfterEachSignal() {
        AtomicInteger calls = new AtomicInteger();
        Thread[] ranOn = new Thread[1];
        try (Eventfd e = new Eventfd(() -> {
            calls.incrementAndGet();
            ranOn[0] = Thread.currentThread();
        })) {
            e.signal(1);
            e.signal(1);
            assertEquals(2, calls.get());
            assertEquals(Thread.currentThread(), ranOn[0]);
            assertEquals(2, e.poll());
        }
    }

    @Test
    void aBlockedReaderWakesOnASignal() throws Exception {
        try (Eventfd e = new Eventfd()) {
            CompletableFuture<Long> read = CompletableFuture.supplyAsync(() -> {
                try {
                    return e.read();
                } catch (InterruptedException x) {
                    throw new IllegalStateException(x);
                }
            });
            e.signal(7);
            assertEquals(7, read.get(5, TimeUnit.SECONDS));
        }
    }

    @Test
    void closeWakesAReaderWithZeroAndDropsLaterSignals() throws Exception {
        AtomicInteger calls = new AtomicInteger();
        Eventfd e = new Eventfd(calls::incrementAndGet);
        CompletableFuture<Long> read = CompletableFuture.supplyAsync(() -> {
            try {
                return e.read();
            } catch (InterruptedException x) {
                throw new IllegalStateException(x);
            }
        });
        e.close();
        assertEquals(0, read.get(5, TimeUnit.SECONDS));
        assertTrue(e.isClosed());
        e.signal(3);
        assertEquals(0, e.poll());
        assertEquals(0, calls.get(), "no listener call for a dropped signal");
    }

    @Test
    void aTimedReadGivesUpWithZero() throws InterruptedException {
        try (Eventfd e = new Eventfd()) {
            assertEquals(0, e.read(1, TimeUnit.MILLISECONDS));
            assertFalse(e.isClosed());
            e.signal(4);
            assertEquals(4, e.read(1, TimeUnit.SECONDS));
        }
    }
}
