package org.lguest.device.internal;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.RepeatedTest;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.lguest.api.abi.Lhreq;
import org.lguest.api.device.Eventfd;

/** The eventfd map under concurrent attachers and readers: copy on write, readers never wait. */
@Timeout(30)
class EventfdConcurrencyTest {
    private static final int WRITERS = 4;
    private static final int PER_WRITER = 60;
    private static final int READERS = 4;

    private final Rig rig = new Rig();

    @AfterEach
    void close() {
        rig.close();
    }

    @RepeatedTest(3)
    void readersSeeWholeMapsThatOnlyGrowWhileWritersAttach() throws Exception {
        assertEquals(24, rig.init());
        Guest lg = rig.guest();
        Map<Long, Eventfd> expected = new HashMap<>();
        List<long[]> work = new ArrayList<>();
        for (int w = 0; w < WRITERS; w++) {
            long[] fds = new long[PER_WRITER];
            for (int i = 0; i < PER_WRITER; i++) {
                Eventfd e = new Eventfd();
                long addr = 0x10_0000L + w * 0x1000L + i * 8L;
                expected.put(addr, e);
                fds[i] = rig.task.descriptors().install(e);
            }
            work.add(fds);
        }
        ConcurrentLinkedQueue<Throwable> failures = new ConcurrentLinkedQueue<>();
        AtomicBoolean done = new AtomicBoolean();
        CountDownLatch go = new CountDownLatch(1);
        List<Thread> threads = new ArrayList<>();
        for (int w = 0; w < WRITERS; w++) {
            int writer = w;
            threads.add(Thread.ofPlatform().start(() -> {
                try {
                    go.await();
                    for (int i = 0; i < PER_WRITER; i++) {
                        long addr = 0x10_0000L + writer * 0x1000L + i * 8L;
                        long answer = rig.write(Lhreq.EVENTFD, addr, work.get(writer)[i]);
                        if (answer != 0) {
                            throw new AssertionError("attach answered " + answer);
                        }
                    }
                } catch (Throwable t) {
                    failures.add(t);
                }
            }));
        }
        List<Integer> seen = new java.util.concurrent.CopyOnWriteArrayList<>();
        for (int r = 0; r < READERS; r++) {
            threads.add(Thread.ofPlatform().start(() -> {
                try {
                    go.await();
                    int last = 0;
                    EventfdMap previous = lg.eventfds;
                    while (!done.get()) {
                        EventfdMap map = lg.eventfds;
                        int n = map.size();
                        if (n < last) {
                            throw new AssertionError("map shrank from " + last + " to " + n);
                        }
                        for (int i = 0; i < n; i++) {
                            assertNotNull(map.event(i), "a published entry is complete");
                            assertSame(expected.get(map.addr(i)), map.event(i), "entry matches its descriptor");
                        }
                        // Everything in the older map is still in the newer one.
                        for (int i = 0; i < previous.size(); i++) {
                            assertSame(previous.event(i), map.lookup(previous.addr(i)));
                        }
                        previous = map;
                        last = n;
                    }
                    seen.add(last);
                } catch (Throwable t) {
                    failures.add(t);
                }
            }));
        }
        go.countDown();
        for (int i = 0; i < WRITERS; i++) {
            threads.get(i).join();
        }
        done.set(true);
        for (Thread t : threads) {
            t.join();
        }
        assertTrue(failures.isEmpty(), () -> "failures: " + failures);
        EventfdMap last = lg.eventfds;
        assertEquals(WRITERS * PER_WRITER, last.size());
        for (var e : expected.entrySet()) {
            assertSame(e.getValue(), last.lookup(e.getKey()));
        }
    }

    @Test
    void aNotifierNeverWaitsForTheLockAttachersTake() throws Exception {
        assertEquals(24, rig.init());
        Eventfd e = new Eventfd();
        assertEquals(0, rig.write(Lhreq.EVENTFD, 0x100, rig.task.descriptors().install(e)));
        Cpu cpu = rig.cpu();
        var pool = java.util.concurrent.Executors.newFixedThreadPool(2);
        rig.host.lguestLock.lock();
        try {
            // An attacher now waits for the lock...
            CompletableFuture<Long> attach = CompletableFuture.supplyAsync(
                () -> rig.write(Lhreq.EVENTFD, 0x200, rig.task.descriptors().install(new Eventfd())), pool);
            Await.until(rig.host.lguestLock::hasQueuedThreads, "the attacher to queue for the lock");
            assertTrue(!attach.isDone());
            // ...but a notification goes through.
            boolean sent = CompletableFuture.supplyAsync(() -> {
                cpu.pendingNotify = 0x100;
                return Core.sendNotifyToEventfd(cpu);
            }, pool).get(1, TimeUnit.SECONDS);
            assertTrue(sent);
            assertEquals(1, e.read(1, TimeUnit.SECONDS));
        } finally {
            rig.host.lguestLock.unlock();
            pool.shutdown();
        }
    }
}
