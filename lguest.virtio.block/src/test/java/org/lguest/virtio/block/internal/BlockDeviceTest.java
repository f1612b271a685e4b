package org.lguest.virtio.block.internal;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.lguest.virtio.block.internal.BlockRequests.WAIT;
import static org.lguest.virtio.block.internal.BlockRequests.header;
import static org.lguest.virtio.block.internal.BlockRequests.pattern;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.logging.Handler;
import java.util.logging.LogRecord;
import java.util.logging.Logger;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.lguest.api.virtio.DeviceFault;
import org.lguest.api.virtio.Virtio;
import org.lguest.api.virtio.VirtioGuest;
import org.lguest.virtio.testkit.DriverDevice;
import org.lguest.virtio.testkit.DriverQueue;
import org.lguest.virtio.testkit.TestBus;

class BlockDeviceTest {
    private static final int SECTORS = 2048;
    @TempDir
    Path dir;
    private TestBus bus;
    private BlockDevice disk;

    private DriverDevice open(boolean readOnly) throws IOException {
        return open(readOnly, null);
    }

    /** With {@code failing} set, the image is that channel over the real file, on a clock that stands still. */
    private DriverDevice open(boolean readOnly, FailingChannel[] failing) throws IOException {
        Path image = dir.resolve("disk.img");
        if (!Files.exists(image)) {
            try (FileChannel f = FileChannel.open(image, java.nio.file.StandardOpenOption.CREATE_NEW,
                    java.nio.file.StandardOpenOption.WRITE)) {
                f.write(ByteBuffer.wrap(pattern(512, 99)), 512L * 7);
                f.truncate(512L * SECTORS);
                f.write(ByteBuffer.wrap(new byte[] {0}), 512L * SECTORS - 1);
            }
        }
        disk = failing == null ? new BlockDevice("disk0", image, readOnly, "", 4096, 64)
            : new BlockDevice("disk0", image, readOnly, "", 4096, 64, (path, ro) -> failing[0] = new FailingChannel(
                FileChannel.open(path, java.nio.file.StandardOpenOption.READ, java.nio.file.StandardOpenOption.WRITE)),
                () -> 0);
        bus = new TestBus(VirtioGuest.of(1, "g", null), 4 << 20, 1, List.of(disk));
        return bus.find(Virtio.ID_BLOCK);
    }

    @AfterEach
    void tearDown() throws IOException {
        if (bus != null) {
            bus.close();
            disk.close();
        }
    }

    @Test
    void readsWritesFlushesAndNamesItself() throws IOException {
        DriverDevice dev = open(false);
        assertEquals(0x1042, dev.function().deviceId());
        long features = dev.deviceFeatures();
        assertTrue((features & Virtio.bit(BlockDevice.F_FLUSH)) != 0);
        assertFalse((features & Virtio.bit(BlockDevice.F_RO)) != 0);
        DriverQueue q = dev.start(features, 0)[0];
        assertEquals(SECTORS, dev.config(0, 4) | dev.config(4, 4) << 32, "capacity in sectors");
        assertEquals(62, dev.config(12, 4), "seg_max");
        assertEquals(4096, dev.config(20, 4), "blk_size");
        assertEquals(3, dev.config(24, 1), "physical_block_exp");

        byte[] before = BlockRequests.read(q, 7, 512);
        assertEquals(BlockDevice.S_OK, before[512]);
        assertArrayEquals(pattern(512, 99), Arrays.copyOf(before, 512), "data from the image");

        byte[] data = pattern(4096, 5);
        assertEquals(BlockDevice.S_OK, BlockRequests.write(q, 100, data));
        assertEquals(BlockDevice.S_OK, BlockRequests.flush(q));
        byte[] back = BlockRequests.read(q, 100, 4096);
        assertArrayEquals(data, Arrays.copyOf(back, 4096));
        try (FileChannel f = FileChannel.open(dir.resolve("disk.img"))) {
            ByteBuffer b = ByteBuffer.allocate(4096);
            f.read(b, 512L * 100);
            assertArrayEquals(data, b.array(), "a fresh channel sees the flushed data");
        }

        // scattered over several buffers, through an indirect table
        q.addIndirect(List.of(header(BlockDevice.T_IN, 100)), List.of(100, 412, 1024, 1));
        q.publish();
        q.kick();
        DriverQueue.Used scattered = q.await(WAIT);
        assertEquals(1537, scattered.length());
        assertArrayEquals(Arrays.copyOf(data, 1536), Arrays.copyOf(scattered.written(), 1536));

        q.add(List.of(header(BlockDevice.T_GET_ID, 0)), List.of(20, 1));
        q.publish();
        q.kick();
        DriverQueue.Used id = q.await(WAIT);
        assertEquals(21, id.length());
        assertEquals("disk.img", new String(id.written(), 0, 8));
        assertEquals(0, id.written()[8]);
        assertEquals(BlockDevice.S_OK, id.written()[20]);
    }

    @Test
    void badRequestsGetErrorsNotCrashes() throws IOException {
        DriverDevice dev = open(false);
        DriverQueue q = dev.start(dev.deviceFeatures(), 0)[0];
        assertEquals(BlockDevice.S_IOERR, BlockRequests.read(q, SECTORS, 512)[512], "past the end");
        assertEquals(BlockDevice.S_IOERR, BlockRequests.read(q, SECTORS - 1, 1024)[1024], "across the end");
        assertEquals(BlockDevice.S_IOERR, BlockRequests.read(q, -1, 512)[512], "sector 2^64-1");
        assertEquals(BlockDevice.S_IOERR, BlockRequests.read(q, 0, 100)[100], "not whole sectors");
        assertEquals(BlockDevice.S_IOERR, BlockRequests.write(q, Long.MAX_VALUE / 256, new byte[512]));
        q.add(List.of(header(77, 0)), List.of(1));
        q.publish();
        q.kick();
        assertEquals(BlockDevice.S_UNSUPP, q.await(WAIT).written()[0]);
        assertFalse(dev.broken());

        // no status byte: the request cannot be answered, the device breaks until reset
        q.add(List.of(header(BlockDevice.T_IN, 0)), List.of());
        q.publish();
        q.kick();
        long end = System.nanoTime() + WAIT.toNanos();
        while (!dev.broken() && System.nanoTime() < end) {
            Thread.onSpinWait();
        }
        assertTrue(dev.broken());
        assertTrue(bus.slot("disk0").broken().startsWith("REQUEST: request "), bus.slot("disk0").broken());
        assertEquals(Map.of(DeviceFault.REQUEST, 1L), bus.bus().faults(bus.slot("disk0").slot()));
        assertEquals(0, disk.ioErrors(), "the guest's mistakes are not the image's errors");
        q = dev.start(dev.deviceFeatures(), 0)[0];
        assertEquals(BlockDevice.S_OK, BlockRequests.flush(q));
    }

    @Test
    void aFailingImageAnswersIoErrCountsAndLogsOnce() throws IOException {
        FailingChannel[] image = new FailingChannel[1];
        DriverDevice dev = open(false, image);
        DriverQueue q = dev.start(dev.deviceFeatures(), 0)[0];
        List<String> logged = new CopyOnWriteArrayList<>();
        Logger logger = Logger.getLogger(BlockDevice.class.getName());
        Handler capture = new Handler() {
            @Override
            public void publish(LogRecord r) {
                logged.add(r.getLevel() + " " + r.getMessage());
            }

            @Override
            public void flush() {
            }

            @Override
            public void close() {
            }
        };
        logger.addHandler(capture);
        try {
            image[0].failing = true;
            assertEquals(BlockDevice.S_IOERR, BlockRequests.read(q, 7, 512)[512], "a read the disk failed");
            assertEquals(BlockDevice.S_IOERR, BlockRequests.write(q, 7, new byte[512]), "a write");
            assertEquals(BlockDevice.S_IOERR, BlockRequests.flush(q), "a flush");
            assertEquals(3, disk.ioErrors());
            assertEquals(1, logged.size(), "one line for three errors in the same instant: " + logged);
            assertTrue(logged.get(0).startsWith("WARNING guest 1 disk disk0 ("), logged.get(0));
            assertTrue(logged.get(0).contains("reading 512 bytes at byte 3584 failed: java.io.IOException: injected"),
                logged.get(0));
            assertFalse(dev.broken(), "a failed request is the request's, not the device's");

            image[0].failing = false;
            byte[] read = BlockRequests.read(q, 7, 512);
            assertEquals(BlockDevice.S_OK, read[512], "the disk answers again");
            assertArrayEquals(pattern(512, 99), Arrays.copyOf(read, 512), "and the failed write left the data alone");
            assertEquals(3, disk.ioErrors());
        } finally {
            logger.removeHandler(capture);
        }
    }

    @Test
    void aClosedImageAnswersIoErrAndBreaksTheDevice() throws IOException {
        DriverDevice dev = open(false);
        DriverQueue q = dev.start(dev.deviceFeatures(), 0)[0];
        assertEquals(BlockDevice.S_OK, BlockRequests.flush(q));
        disk.close();
        assertEquals(BlockDevice.S_IOERR, BlockRequests.read(q, 7, 512)[512], "the request is answered first");
        long end = System.nanoTime() + WAIT.toNanos();
        while (!dev.broken() && System.nanoTime() < end) {
            Thread.onSpinWait();
        }
        assertTrue(dev.broken(), "then the device breaks: the image will never answer again");
        String why = bus.slot("disk0").broken();
        assertTrue(why.startsWith("BACKEND_LOST: the disk image ") && why.contains("was closed under the device"), why);
        assertEquals(Map.of(DeviceFault.BACKEND_LOST, 1L), bus.bus().faults(bus.slot("disk0").slot()));
        assertEquals(1, disk.ioErrors());
    }

    @Test
    void readOnlyImagesRefuseWrites() throws IOException {
        DriverDevice dev = open(true);
        long features = dev.deviceFeatures();
        assertTrue((features & Virtio.bit(BlockDevice.F_RO)) != 0);
        DriverQueue q = dev.start(features, 0)[0];
        assertEquals(BlockDevice.S_IOERR, BlockRequests.write(q, 7, new byte[512]));
        byte[] still = BlockRequests.read(q, 7, 512);
        assertEquals(BlockDevice.S_OK, still[512]);
        assertArrayEquals(pattern(512, 99), Arrays.copyOf(still, 512), "the image did not change");
        assertEquals(BlockDevice.S_OK, BlockRequests.flush(q));
    }

    @Test
    void refusesBadConfiguration() throws IOException {
        Path image = Files.write(dir.resolve("x.img"), new byte[4096]);
        assertThrows(IllegalArgumentException.class, () -> new BlockDevice("d", dir.resolve("missing.img"), false, "", 512, 64));
        assertThrows(IllegalArgumentException.class, () -> new BlockDevice("d", dir, false, "", 512, 64));
        assertThrows(IllegalArgumentException.class, () -> new BlockDevice("d", image, false, "", 1000, 64));
        assertThrows(IllegalArgumentException.class, () -> new BlockDevice("d", image, false, "", 512, 100));
        BlockDevice named = new BlockDevice("d", image, true, "a-serial-number-longer-than-twenty", 512, 4);
        assertEquals(8, named.capacity());
        named.close();
        assertEquals("org.lguest.virtio.block~disk0", BlockDevice.defaultName(java.util.Map.of("service.pid", "org.lguest.virtio.block~disk0")));
    }
}
