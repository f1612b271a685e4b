package org.lguest.bench;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.List;

import org.lguest.api.virtio.DescriptorChain;
import org.lguest.api.virtio.DeviceContext;
import org.lguest.api.virtio.DeviceSession;
import org.lguest.api.virtio.GuestRam;
import org.lguest.api.virtio.VirtQueue;
import org.lguest.api.virtio.VirtioGuest;
import org.lguest.api.virtio.Virtio;
import org.lguest.api.virtio.VirtioDevice;
import org.lguest.virtio.block.internal.BlockDevice;
import org.lguest.virtio.testkit.DriverQueue;

/**
 * Benchmark 6: sequential reads and writes of a disk image in 64 KiB
 * requests, through a virtio block device against the same file read and
 * written straight from Java.
 * <p>
 * The virtio side: lguest.virtio.block's {@link BlockDevice} on the real
 * virtio-pci bus, serving on its own thread; the guest (the calling thread)
 * lays out each request as a guest's driver does, header, data and status in
 * three descriptors of its RAM, publishes it, notifies through the queue's
 * eventfd when the device asked for it, and halts until the interrupt.
 * {@code depth} requests go out together (one notification) and the guest
 * waits for all of them before the next ones.
 * <p>
 * The floor: a {@link FileChannel} on the same file, the same requests at the
 * same offsets, into and out of a native buffer of the same size (the device
 * reads into guest RAM the same way: a native segment as a {@link ByteBuffer}),
 * on one thread; for "write and flush", {@code force(true)} after each write,
 * which is what the device does for a flush request.
 * <p>
 * To show where the time goes, the device is handed to the bus inside a
 * decorator whose queues note when a batch's first chain is taken and when
 * its last is completed (the device interrupts as each chain completes, and
 * one serve may take the next batch's chains, so serve's own start and end
 * say little): a round also answers the medians, per batch of requests, of
 * publish → first chain taken (the notification), taken → last completed
 * (the device's work), and last completed → the guest holding every answer
 * (interrupt and wake-up).
 */
final class DiskBench implements AutoCloseable {
    static final int REQUEST = 64 * 1024;
    private static final int SECTOR = 512;
    private static final int T_IN = 0, T_OUT = 1, T_FLUSH = 4;
    private static final ValueLayout.OfInt U32 = ValueLayout.JAVA_INT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    private static final ValueLayout.OfLong U64 = ValueLayout.JAVA_LONG_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);

    enum Kind {
        READ, WRITE, WRITE_FLUSH
    }

    private final Path image;
    private final long fileBytes;
    private final int depth;
    private final FileChannel direct;
    private final Arena arena = Arena.ofShared();
    private final MemorySegment floorBuffer;
    private final BlockDevice disk;
    private final BenchGuest guest;
    private final BenchGuest.Queue queue;
    private final long[] header, data, status;
    private final long flushHeader, flushStatus;
    private final int flushHead;
    // Written by the device's thread (the decorator), read by the guest's after the batch's answers.
    private volatile long firstTaken, lastCompleted;

    DiskBench(long fileBytes, int depth) throws IOException {
        this.fileBytes = fileBytes;
        this.depth = depth;
        // Not /dev/shm: a file on the same disk as the project, so that a flush is a real fsync.
        image = Files.createTempFile("lguest-bench-", ".img");
        direct = FileChannel.open(image, StandardOpenOption.READ, StandardOpenOption.WRITE);
        floorBuffer = arena.allocate(REQUEST, 4096);
        pattern(floorBuffer);
        ByteBuffer b = floorBuffer.asByteBuffer();
        for (long at = 0; at < fileBytes; at += REQUEST) {
            floorBuffer.set(U64, 0, at / SECTOR);
            b.clear();
            while (b.hasRemaining()) {
                direct.write(b, at + b.position());
            }
        }
        direct.force(true);

        disk = new BlockDevice("bench-disk", image, false, "", SECTOR, 128);
        guest = new BenchGuest(1, "bench-blk", (2L + depth) << 20, List.of(timed(disk)));
        guest.runOnThisThread();
        queue = guest.start(guest.driver.find(Virtio.ID_BLOCK), 0)[0];
        header = new long[depth];
        data = new long[depth];
        status = new long[depth];
        for (int k = 0; k < depth; k++) {
            header[k] = guest.driver.alloc(16, 16);
            data[k] = guest.driver.alloc(REQUEST, 4096);
            status[k] = guest.driver.alloc(1, 1);
            pattern(guest.ram.asSlice(data[k], REQUEST));
            queue.descriptor(3 * k, header[k], 16, Virtio.DESC_F_NEXT, 3 * k + 1);
            queue.descriptor(3 * k + 2, status[k], 1, Virtio.DESC_F_WRITE, 0);
        }
        flushHead = 3 * depth;
        flushHeader = guest.driver.alloc(16, 16);
        flushStatus = guest.driver.alloc(1, 1);
        guest.ram.set(U32, flushHeader, T_FLUSH);
        queue.descriptor(flushHead, flushHeader, 16, Virtio.DESC_F_NEXT, flushHead + 1);
        queue.descriptor(flushHead + 1, flushStatus, 1, Virtio.DESC_F_WRITE, 0);
    }

    /**
     * A rig whose virtio function keeps its counters for /metrics, or does not (the platform's switch for
     * functions made from now on, reached by reflection as the bench reaches the Host's components).
     */
    static DiskBench withCounters(boolean counting, long fileBytes, int depth) throws Exception {
        java.lang.reflect.Field countNew = Class.forName("org.lguest.virtio.internal.VirtioFunction")
            .getDeclaredField("countNew");
        countNew.setAccessible(true);
        countNew.setBoolean(null, counting);
        try {
            return new DiskBench(fileBytes, depth);
        } finally {
            countNew.setBoolean(null, true);
        }
    }

    /** The device as it is, but each serve's start and end noted. */
    private VirtioDevice timed(VirtioDevice d) {
        return new VirtioDevice() {
            @Override
            public int type() {
                return d.type();
            }

            @Override
            public String name() {
                return d.name();
            }

            @Override
            public long features() {
                return d.features();
            }

            @Override
            public int[] queueSizes() {
                return d.queueSizes();
            }

            @Override
            public int configSize() {
                return d.configSize();
            }

            @Override
            public DeviceSession attach(DeviceContext context) {
                return d.attach(timed(context));
            }
        };
    }

    /** The context as it is, but its queues note when a batch's first chain is taken and its last completed. */
    private DeviceContext timed(DeviceContext c) {
        return new DeviceContext() {
            @Override
            public VirtioGuest guest() {
                return c.guest();
            }

            @Override
            public GuestRam ram() {
                return c.ram();
            }

            @Override
            public VirtQueue queue(int index) {
                VirtQueue q = c.queue(index);
                return new VirtQueue() {
                    @Override
                    public int index() {
                        return q.index();
                    }

                    @Override
                    public int size() {
                        return q.size();
                    }

                    @Override
                    public boolean isReady() {
                        return q.isReady();
                    }

                    @Override
                    public DescriptorChain next() {
                        DescriptorChain chain = q.next();
                        if (chain != null && firstTaken == 0) {
                            firstTaken = System.nanoTime();
                        }
                        return chain;
                    }

                    @Override
                    public void complete(DescriptorChain chain, int written) {
                        lastCompleted = System.nanoTime(); // before the interrupt the completion may raise
                        q.complete(chain, written);
                    }

                    @Override
                    public void notifyGuest() {
                        q.notifyGuest();
                    }
                };
            }

            @Override
            public int queueCount() {
                return c.queueCount();
            }

            @Override
            public long features() {
                return c.features();
            }

            @Override
            public void wake(int queue) {
                c.wake(queue);
            }

            @Override
            public boolean serveNow(int queue) {
                return c.serveNow(queue);
            }

            @Override
            public void configChanged() {
                c.configChanged();
            }

            @Override
            public void fail(String reason) {
                c.fail(reason);
            }

            @Override
            public void fail(org.lguest.api.virtio.DeviceFault fault, String detail) {
                c.fail(fault, detail);
            }

            @Override
            public String broken() {
                return c.broken();
            }

            @Override
            public java.util.concurrent.ConcurrentMap<String, Object> state() {
                return c.state();
            }
        };
    }

    private static void pattern(MemorySegment s) {
        for (long i = 0; i < s.byteSize(); i += 8) {
            s.set(U64, i, 0x6C67756573742E00L ^ i);
        }
    }

    long requests() {
        return fileBytes / REQUEST;
    }

    /**
     * One pass over the file through the virtio device: nanoseconds per request, then the medians over its
     * batches of publish → serve, serve, serve → the guest holding the batch's answers (write and flush: of the
     * writes).
     */
    double[] virtio(Kind kind) {
        boolean read = kind == Kind.READ;
        for (int k = 0; k < depth; k++) {
            queue.descriptor(3 * k + 1, data[k], REQUEST, (read ? Virtio.DESC_F_WRITE : 0) | Virtio.DESC_F_NEXT, 3 * k + 2);
        }
        MemorySegment ram = guest.ram;
        long requests = requests();
        int batches = (int) ((requests + depth - 1) / depth);
        long[] notify = new long[batches], serve = new long[batches], back = new long[batches];
        long start = System.nanoTime();
        for (long r = 0; r < requests; r += depth) {
            int n = (int) Math.min(depth, requests - r);
            for (int k = 0; k < n; k++) {
                long sector = (r + k) * (REQUEST / SECTOR);
                ram.set(U32, header[k], read ? T_IN : T_OUT);
                ram.set(U64, header[k] + 8, sector);
                ram.set(ValueLayout.JAVA_BYTE, status[k], (byte) 0xFF);
                if (!read) {
                    ram.set(U64, data[k], sector);
                }
                queue.offer(3 * k);
            }
            firstTaken = 0;
            long published = System.nanoTime();
            queue.publish();
            for (int done = 0; done < n; done++) {
                DriverQueue.Used u = queue.await();
                int k = u.head() / 3;
                long sector = (r + k) * (REQUEST / SECTOR);
                if (u.head() % 3 != 0 || k >= n || ram.get(ValueLayout.JAVA_BYTE, status[k]) != 0
                        || read && ram.get(U64, data[k]) != sector) {
                    throw new IllegalStateException("virtio-blk " + kind + " request " + (r + k) + " failed: used head "
                        + u.head() + ", length " + u.length() + ", device " + guest.bus.slots());
                }
            }
            long answered = System.nanoTime();
            int batch = (int) (r / depth);
            notify[batch] = firstTaken - published;
            serve[batch] = lastCompleted - firstTaken;
            back[batch] = answered - lastCompleted;
            if (kind == Kind.WRITE_FLUSH) {
                ram.set(ValueLayout.JAVA_BYTE, flushStatus, (byte) 0xFF);
                queue.offer(flushHead);
                queue.publish();
                DriverQueue.Used u = queue.await();
                if (u.head() != flushHead || ram.get(ValueLayout.JAVA_BYTE, flushStatus) != 0) {
                    throw new IllegalStateException("virtio-blk flush failed: used " + u.head());
                }
            }
        }
        double perRequest = (System.nanoTime() - start) / (double) requests;
        return new double[] {perRequest, median(notify), median(serve), median(back)};
    }

    private static double median(long[] v) {
        java.util.Arrays.sort(v);
        return v[v.length / 2];
    }

    /** The same pass straight through a FileChannel: nanoseconds per request (and three zeros, for the breakdown). */
    double[] direct(Kind kind) throws IOException {
        ByteBuffer b = floorBuffer.asByteBuffer();
        long requests = requests();
        long start = System.nanoTime();
        for (long r = 0; r < requests; r++) {
            long at = r * REQUEST;
            long sector = at / SECTOR;
            b.clear();
            if (kind == Kind.READ) {
                while (b.hasRemaining()) {
                    if (direct.read(b, at + b.position()) < 0) {
                        throw new IOException("the image shrank");
                    }
                }
                if (floorBuffer.get(U64, 0) != sector) {
                    throw new IllegalStateException("direct read at sector " + sector + " found " + floorBuffer.get(U64, 0));
                }
            } else {
                floorBuffer.set(U64, 0, sector);
                while (b.hasRemaining()) {
                    direct.write(b, at + b.position());
                }
                if (kind == Kind.WRITE_FLUSH) {
                    direct.force(true);
                }
            }
        }
        return new double[] {(System.nanoTime() - start) / (double) requests, 0, 0, 0};
    }

    /** Untimed, after each side's rounds: no dirty page of the image left for the other side to meet. */
    void settle() {
        try {
            direct.force(false);
        } catch (IOException e) {
            throw new IllegalStateException("fsync of the image failed: " + e, e);
        }
    }

    long kicks() {
        return queue.kicks;
    }

    long interrupts() {
        return guest.interrupts.get();
    }

    @Override
    public void close() throws IOException {
        try {
            guest.close();
            Stack.invoke(disk, "close", null, null);
            direct.close();
            arena.close();
        } finally {
            Files.deleteIfExists(image);
        }
    }
}
