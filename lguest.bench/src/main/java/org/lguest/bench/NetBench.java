package org.lguest.bench;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.net.InetSocketAddress;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.DatagramChannel;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;

import org.lguest.api.virtio.Virtio;
import org.lguest.virtio.net.internal.NetDevice;
import org.lguest.virtio.net.internal.Switches;
import org.lguest.virtio.testkit.DriverDevice;
import org.lguest.virtio.testkit.DriverQueue;

/**
 * Benchmark 7: Ethernet frames between two guests on the in-JVM switch
 * (lguest.virtio.net's {@link NetDevice}, one card given to both guests, as
 * a configuration with {@code guests=*} does). Guest A (the calling thread)
 * sends, guest B (its own thread) answers every frame it receives with one
 * of its own; A checks every answer's sequence number. A frame from A goes
 * A's driver → eventfd → A's card's thread (transmit queue) → switch → B's
 * card's thread (receive queue) → interrupt → B's driver, and back.
 * <p>
 * Two patterns: a ping-pong (one frame each way at a time: the latency of the
 * whole path) and bursts (A sends 32 frames with one notification, B answers
 * them as they come, A waits for the 32 answers: how the path does when it
 * can batch). Frames are 60 bytes (the Ethernet minimum without FCS), so the
 * figures are per-frame costs, not copying.
 * <p>
 * The floors do the same exchange in plain Java between two threads: the
 * same frames, made in and copied out of native buffers the way the card
 * copies them out of and into guest RAM. The main floor hands them over
 * through a pair of {@link ArrayBlockingQueue}s (the in-JVM counterpart of an
 * in-JVM switch: the least a correct hand-off of a frame between two threads
 * costs); a second one sends them as UDP datagrams over a pair of connected
 * {@link DatagramChannel}s on 127.0.0.1, the card's own UDP backend's medium
 * and what two VMMs in two processes would use.
 */
final class NetBench implements AutoCloseable {
    static final int FRAME = 60;
    static final int BURST = 32;
    private static final int HEADER = 12;
    private static final int RX_BUFFER = HEADER + 1514;
    private static final int RX_STRIDE = 1536;
    private static final int TX_STRIDE = 128;
    private static final int RX_BUFFERS = 128;
    private static final int TX_SLOTS = 128;
    private static final int QUEUE_SIZE = 256;
    /** Where the sequence number sits in a frame: after the Ethernet header. */
    private static final int SEQ = 14;
    private static final ValueLayout.OfInt I32 = ValueLayout.JAVA_INT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);

    /** One guest's card, from its driver's side. */
    private static final class Card {
        final BenchGuest guest;
        final BenchGuest.Queue rx, tx;
        final byte[] mac = new byte[6];
        final long rxBase, txBase;
        final MemorySegment ram;
        long sent, reclaimed;

        Card(int id, String name, NetDevice card) {
            guest = new BenchGuest(id, name, 4L << 20, List.of(card));
            ram = guest.ram;
            DriverDevice dev = guest.driver.find(Virtio.ID_NET);
            BenchGuest.Queue[] qs = guest.start(dev, QUEUE_SIZE);
            rx = qs[0];
            tx = qs[1];
            for (int i = 0; i < 6; i++) {
                mac[i] = (byte) dev.config(i, 1);
            }
            rxBase = guest.driver.alloc((long) RX_BUFFERS * RX_STRIDE, 64);
            for (int i = 0; i < RX_BUFFERS; i++) {
                rx.descriptor(i, rxBase + (long) i * RX_STRIDE, RX_BUFFER, Virtio.DESC_F_WRITE, 0);
                rx.offer(i);
            }
            txBase = guest.driver.alloc((long) TX_SLOTS * TX_STRIDE, 64);
            for (int i = 0; i < TX_SLOTS; i++) {
                tx.descriptor(i, txBase + (long) i * TX_STRIDE, HEADER + FRAME, 0, 0);
            }
            tx.quiet();
        }

        /** Every frame this card sends goes to {@code to}. */
        void addressTo(byte[] to) {
            for (int i = 0; i < TX_SLOTS; i++) {
                long at = txBase + (long) i * TX_STRIDE + HEADER;
                MemorySegment.copy(to, 0, ram, ValueLayout.JAVA_BYTE, at, 6);
                MemorySegment.copy(mac, 0, ram, ValueLayout.JAVA_BYTE, at + 6, 6);
                ram.set(ValueLayout.JAVA_BYTE, at + 12, (byte) 0x88);
                ram.set(ValueLayout.JAVA_BYTE, at + 13, (byte) 0xB5);
            }
        }

        /** Queues a frame (published by {@link #flush}); takes back the transmit buffers the card is done with. */
        void send(int seq) {
            while (tx.poll() != null) {
                reclaimed++;
            }
            while (sent - reclaimed >= TX_SLOTS) { // not in these patterns: at most a burst is out
                Thread.onSpinWait();
                while (tx.poll() != null) {
                    reclaimed++;
                }
            }
            int slot = (int) (sent++ % TX_SLOTS);
            ram.set(I32, txBase + (long) slot * TX_STRIDE + HEADER + SEQ, seq);
            tx.offer(slot);
        }

        void flush() {
            tx.quiet();
            tx.publish();
        }

        /** A received frame's sequence number; its buffer goes back to the card (published with the next {@code rx.publish()}). */
        int received(DriverQueue.Used u) {
            if (u.length() != HEADER + FRAME || u.head() >= RX_BUFFERS) {
                throw new IllegalStateException(guest.bus.guest().name() + " received " + u.length() + " bytes in buffer "
                    + u.head());
            }
            int seq = ram.get(I32, rxBase + (long) u.head() * RX_STRIDE + HEADER + SEQ);
            rx.offer(u.head());
            return seq;
        }
    }

    private final NetDevice card;
    private final Card a, b;
    private final Thread echo;
    private int seq;

    NetBench() throws InterruptedException {
        // As SCR would make it from a factory configuration: one card, every guest, on switch "bench".
        card = new NetDevice((NetDevice.Config) Stack.defaults(NetDevice.Config.class,
            Map.of("name", "eth0", "switch_name", "bench", "queue_size", QUEUE_SIZE)), Map.of(), new Switches());
        a = new Card(1, "guest-a", card);
        b = new Card(2, "guest-b", card);
        a.addressTo(b.mac);
        b.addressTo(a.mac);
        a.guest.runOnThisThread();
        a.rx.publish();
        CountDownLatch ready = new CountDownLatch(1);
        echo = Thread.ofPlatform().name("guest-b-vcpu").daemon().start(() -> {
            b.guest.runOnThisThread();
            b.rx.publish();
            ready.countDown();
            echoLoop();
        });
        ready.await();
    }

    /** Guest B: every frame received is answered with one carrying its sequence number. */
    private void echoLoop() {
        while (true) {
            DriverQueue.Used u = b.rx.await();
            if (u == null) {
                return;
            }
            do {
                b.send(b.received(u));
            } while ((u = b.rx.poll()) != null);
            b.flush();
            b.rx.publish();
        }
    }

    private void expect(int got, int want) {
        if (got != want) {
            throw new IllegalStateException("guest A got the answer to frame " + got + " where it expected " + want);
        }
    }

    /** {@code n} ping-pongs through the guests' cards: nanoseconds per round trip. */
    double[] pingPong(int n) {
        long start = System.nanoTime();
        for (int i = 0; i < n; i++) {
            a.send(seq);
            a.flush();
            expect(a.received(a.rx.await()), seq++);
            a.rx.publish();
        }
        return new double[] {(System.nanoTime() - start) / (double) n};
    }

    /** {@code n} bursts of {@link #BURST} frames each way: nanoseconds per frame (both directions counted). */
    double[] bursts(int n) {
        long start = System.nanoTime();
        for (int i = 0; i < n; i++) {
            for (int k = 0; k < BURST; k++) {
                a.send(seq + k);
            }
            a.flush();
            for (int k = 0; k < BURST; k++) {
                expect(a.received(a.rx.await()), seq + k);
            }
            a.rx.publish();
            seq += BURST;
        }
        return new double[] {(System.nanoTime() - start) / (double) (2L * n * BURST)};
    }

    long interrupts() {
        return a.guest.interrupts.get() + b.guest.interrupts.get();
    }

    long kicks() {
        return a.rx.kicks + a.tx.kicks + b.rx.kicks + b.tx.kicks;
    }

    @Override
    public void close() throws InterruptedException {
        b.guest.stop();
        echo.join(TimeUnit.SECONDS.toMillis(10));
        a.guest.close();
        b.guest.close();
    }

    // ------------------------------------------------------------- floors

    /** The same exchange between two threads through two ArrayBlockingQueues. */
    static final class Queues implements AutoCloseable {
        private static final byte[] STOP = new byte[0];
        private final ArrayBlockingQueue<byte[]> toB = new ArrayBlockingQueue<>(QUEUE_SIZE);
        private final ArrayBlockingQueue<byte[]> toA = new ArrayBlockingQueue<>(QUEUE_SIZE);
        private final Arena arena = Arena.ofShared();
        private final MemorySegment aTx = frame(arena), aRx = arena.allocate(RX_BUFFER), bTx = frame(arena),
            bRx = arena.allocate(RX_BUFFER);
        private final Thread echo;
        private int seq;

        Queues() {
            echo = Thread.ofPlatform().name("floor-b").daemon().start(() -> {
                try {
                    while (true) {
                        byte[] f = toB.take();
                        if (f == STOP) {
                            return;
                        }
                        toA.put(out(bTx, in(f, bRx)));
                    }
                } catch (InterruptedException e) {
                    // stop
                }
            });
        }

        double[] pingPong(int n) throws InterruptedException {
            long start = System.nanoTime();
            for (int i = 0; i < n; i++) {
                toB.put(out(aTx, seq));
                expectFloor(in(toA.take(), aRx), seq++);
            }
            return new double[] {(System.nanoTime() - start) / (double) n};
        }

        double[] bursts(int n) throws InterruptedException {
            long start = System.nanoTime();
            for (int i = 0; i < n; i++) {
                for (int k = 0; k < BURST; k++) {
                    toB.put(out(aTx, seq + k));
                }
                for (int k = 0; k < BURST; k++) {
                    expectFloor(in(toA.take(), aRx), seq + k);
                }
                seq += BURST;
            }
            return new double[] {(System.nanoTime() - start) / (double) (2L * n * BURST)};
        }

        /** A frame out of a native buffer into a new array, as the card's transmit does. */
        private static byte[] out(MemorySegment tx, int seq) {
            tx.set(I32, SEQ, seq);
            byte[] f = new byte[FRAME];
            MemorySegment.copy(tx, ValueLayout.JAVA_BYTE, 0, f, 0, FRAME);
            return f;
        }

        /** A frame into a native buffer (after its 12-byte header), as the card's receive does; its sequence number. */
        private static int in(byte[] f, MemorySegment rx) {
            MemorySegment.copy(f, 0, rx, ValueLayout.JAVA_BYTE, HEADER, f.length);
            return rx.get(I32, HEADER + SEQ);
        }

        @Override
        public void close() throws InterruptedException {
            toB.put(STOP);
            echo.join(TimeUnit.SECONDS.toMillis(10));
            arena.close();
        }
    }

    /** The same exchange between two threads as datagrams over 127.0.0.1 (blocking, connected DatagramChannels). */
    static final class Udp implements AutoCloseable {
        private final DatagramChannel ca, cb;
        private final Arena arena = Arena.ofShared();
        private final MemorySegment aTx = frame(arena), aRx = arena.allocate(RX_BUFFER), bTx = frame(arena),
            bRx = arena.allocate(RX_BUFFER);
        private final ByteBuffer aTxB = aTx.asByteBuffer(), aRxB = aRx.asByteBuffer(), bTxB = bTx.asByteBuffer(),
            bRxB = bRx.asByteBuffer();
        private final Thread echo;
        private int seq;

        Udp() throws IOException {
            ca = DatagramChannel.open().bind(new InetSocketAddress("127.0.0.1", 0));
            cb = DatagramChannel.open().bind(new InetSocketAddress("127.0.0.1", 0));
            ca.connect(cb.getLocalAddress());
            cb.connect(ca.getLocalAddress());
            echo = Thread.ofPlatform().name("floor-udp-b").daemon().start(() -> {
                try {
                    while (true) {
                        bRxB.clear();
                        if (cb.read(bRxB) != FRAME) {
                            return;
                        }
                        bTx.set(I32, SEQ, bRx.get(I32, SEQ));
                        bTxB.clear();
                        cb.write(bTxB);
                    }
                } catch (IOException e) {
                    // closed
                }
            });
        }

        private void send(int seq) throws IOException {
            aTx.set(I32, SEQ, seq);
            aTxB.clear();
            ca.write(aTxB);
        }

        private int receive() throws IOException {
            aRxB.clear();
            if (ca.read(aRxB) != FRAME) {
                throw new IOException("short datagram");
            }
            return aRx.get(I32, SEQ);
        }

        double[] pingPong(int n) throws IOException {
            long start = System.nanoTime();
            for (int i = 0; i < n; i++) {
                send(seq);
                expectFloor(receive(), seq++);
            }
            return new double[] {(System.nanoTime() - start) / (double) n};
        }

        double[] bursts(int n) throws IOException {
            long start = System.nanoTime();
            for (int i = 0; i < n; i++) {
                for (int k = 0; k < BURST; k++) {
                    send(seq + k);
                }
                for (int k = 0; k < BURST; k++) {
                    expectFloor(receive(), seq + k);
                }
                seq += BURST;
            }
            return new double[] {(System.nanoTime() - start) / (double) (2L * n * BURST)};
        }

        @Override
        public void close() throws IOException, InterruptedException {
            ca.write(ByteBuffer.wrap(new byte[1]));
            echo.join(TimeUnit.SECONDS.toMillis(10));
            ca.close();
            cb.close();
            arena.close();
        }
    }

    /** A 60-byte frame in native memory: broadcast, experimental EtherType, sequence number after the header. */
    private static MemorySegment frame(Arena arena) {
        MemorySegment f = arena.allocate(FRAME);
        f.asSlice(0, 6).fill((byte) 0xFF);
        f.set(ValueLayout.JAVA_BYTE, 12, (byte) 0x88);
        f.set(ValueLayout.JAVA_BYTE, 13, (byte) 0xB5);
        return f;
    }

    private static void expectFloor(int got, int want) {
        if (got != want) {
            throw new IllegalStateException("floor: got the answer to frame " + got + " where it expected " + want);
        }
    }
}
