package org.lguest.virtio.block.internal;

import java.io.EOFException;
import java.io.IOException;
import java.lang.System.Logger.Level;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.ClosedChannelException;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.LongAdder;
import java.util.function.LongSupplier;

import org.lguest.api.virtio.DescriptorChain;
import org.lguest.api.virtio.DeviceContext;
import org.lguest.api.virtio.DeviceFault;
import org.lguest.api.virtio.DeviceSession;
import org.lguest.api.virtio.VirtQueue;
import org.lguest.api.virtio.Virtio;
import org.lguest.api.virtio.VirtioDevice;
import org.osgi.service.component.annotations.Activate;
import org.osgi.service.component.annotations.Component;
import org.osgi.service.component.annotations.ConfigurationPolicy;
import org.osgi.service.component.annotations.Deactivate;
import org.osgi.service.metatype.annotations.AttributeDefinition;
import org.osgi.service.metatype.annotations.Designate;
import org.osgi.service.metatype.annotations.ObjectClassDefinition;

/**
 * A disk image file as a block device (virtio 1.0, 5.2): one request queue;
 * reads, writes, flushes that reach the disk ({@link FileChannel#force})
 * before they complete, and the device id. A read-only image is offered
 * with VIRTIO_BLK_F_RO and refuses writes. One factory configuration per
 * disk. Requests are served in order on the device's thread, straight
 * between the file and the guest's buffers.
 * <p>
 * A failing image costs the guest only the request: it is answered with
 * VIRTIO_BLK_S_IOERR, counted ({@link #ioErrors()}) and logged, at most one
 * line per {@link #ERROR_LOG_INTERVAL_SECONDS}. An image that is closed
 * under the device will never answer again, so it also breaks the device
 * ({@link DeviceFault#BACKEND_LOST}).
 */
@Component(service = VirtioDevice.class, configurationPid = BlockDevice.PID, configurationPolicy = ConfigurationPolicy.REQUIRE)
@Designate(ocd = BlockDevice.Config.class, factory = true)
public class BlockDevice implements VirtioDevice {
    private static final System.Logger LOG = System.getLogger(BlockDevice.class.getName());
    static final String PID = "org.lguest.virtio.block";
    static final long ERROR_LOG_INTERVAL_SECONDS = 10;
    static final int SECTOR = 512;

    /** Feature bits (5.2.3). */
    static final int F_SEG_MAX = 2;
    static final int F_RO = 5;
    static final int F_BLK_SIZE = 6;
    static final int F_FLUSH = 9;
    /** Request types and status (5.2.6). */
    static final int T_IN = 0;
    static final int T_OUT = 1;
    static final int T_FLUSH = 4;
    static final int T_GET_ID = 8;
    static final int S_OK = 0;
    static final int S_IOERR = 1;
    static final int S_UNSUPP = 2;
    static final int ID_BYTES = 20;
    static final int HEADER = 16;
    /** struct virtio_blk_config up to writeback and its padding. */
    static final int CONFIG_SIZE = 36;
    private static final ValueLayout.OfInt U32 = ValueLayout.JAVA_INT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    private static final ValueLayout.OfLong U64 = ValueLayout.JAVA_LONG_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);

    @ObjectClassDefinition(name = "lguest virtio disk", description = "A disk image file as a guest's virtio block device.")
    public @interface Config {
        @AttributeDefinition(name = "Image", description = "Path of the disk image file (it must exist; its size in 512-byte sectors is the capacity)")
        String image();

        @AttributeDefinition(name = "Read-only", description = "Offer the disk read-only: the guest's writes fail")
        boolean read_only() default false;

        @AttributeDefinition(name = "Name", description = "The device's name on a guest's bus; empty for the configuration's pid")
        String name() default "";

        @AttributeDefinition(name = "Guests", description = "Guest names or numbers that get this disk; * for every guest (they share the file); none: no guest gets it")
        String[] guests() default {};

        @AttributeDefinition(name = "Serial", description = "What the guest reads as the device id (20 bytes at most); empty for the image's file name")
        String serial() default "";

        @AttributeDefinition(name = "Block size", description = "The block size the guest should use (a power of 2 from 512)", min = "512")
        int block_size() default SECTOR;

        @AttributeDefinition(name = "Queue size", description = "Entries in the request queue (a power of 2)", min = "4", max = "32768")
        int queue_size() default 128;
    }

    private final String name;
    private final Path image;
    private final boolean readOnly;
    private final byte[] serial;
    private final int blockSize;
    private final int queueSize;
    private final FileChannel file;
    private final long capacity;
    // Lock-free: the device threads of every guest that shares the image add to it.
    private final LongAdder ioErrors = new LongAdder();
    private final RateLimitedLog errorLog;

    /** How the device opens its image; tests hand it a channel that fails. */
    interface ImageOpener {
        FileChannel open(Path image, boolean readOnly) throws IOException;
    }

    @Activate
    public BlockDevice(Config config, Map<String, Object> properties) throws IOException {
        this(config.name().isBlank() ? defaultName(properties) : config.name(), Path.of(config.image()), config.read_only(),
            config.serial(), config.block_size(), config.queue_size());
    }

    public BlockDevice(String name, Path image, boolean readOnly, String serial, int blockSize, int queueSize) throws IOException {
        this(name, image, readOnly, serial, blockSize, queueSize, BlockDevice::openImage, System::nanoTime);
    }

    BlockDevice(String name, Path image, boolean readOnly, String serial, int blockSize, int queueSize, ImageOpener opener,
            LongSupplier nanoClock) throws IOException {
        if (queueSize < 4 || queueSize > Virtio.MAX_QUEUE_SIZE || Integer.bitCount(queueSize) != 1) {
            throw new IllegalArgumentException("block queue size " + queueSize + " is not a power of 2 from 4 to "
                + Virtio.MAX_QUEUE_SIZE);
        }
        if (blockSize < SECTOR || Integer.bitCount(blockSize) != 1) {
            throw new IllegalArgumentException("block size " + blockSize + " is not a power of 2 from 512");
        }
        if (!Files.isRegularFile(image)) {
            throw new IllegalArgumentException("disk image " + image + " is not a file");
        }
        this.name = name;
        this.image = image;
        this.readOnly = readOnly;
        String id = serial == null || serial.isBlank() ? image.getFileName().toString() : serial;
        byte[] bytes = id.getBytes(StandardCharsets.UTF_8);
        this.serial = java.util.Arrays.copyOf(bytes, Math.min(bytes.length, ID_BYTES));
        this.blockSize = blockSize;
        this.queueSize = queueSize;
        this.errorLog = new RateLimitedLog(nanoClock, TimeUnit.SECONDS.toNanos(ERROR_LOG_INTERVAL_SECONDS),
            line -> LOG.log(Level.WARNING, line));
        this.file = opener.open(image, readOnly);
        this.capacity = file.size() / SECTOR;
    }

    private static FileChannel openImage(Path image, boolean readOnly) throws IOException {
        return readOnly ? FileChannel.open(image, StandardOpenOption.READ)
            : FileChannel.open(image, StandardOpenOption.READ, StandardOpenOption.WRITE);
    }

    /** Requests answered with VIRTIO_BLK_S_IOERR because the image failed, across every guest. */
    long ioErrors() {
        return ioErrors.sum();
    }

    static String defaultName(Map<String, Object> properties) {
        Object pid = properties.get("service.pid");
        return pid != null ? pid.toString() : "disk";
    }

    @Deactivate
    void close() throws IOException {
        file.close();
    }

    @Override
    public int type() {
        return Virtio.ID_BLOCK;
    }

    @Override
    public String name() {
        return name;
    }

    @Override
    public long features() {
        return Virtio.bit(F_SEG_MAX) | Virtio.bit(F_BLK_SIZE) | Virtio.bit(F_FLUSH) | (readOnly ? Virtio.bit(F_RO) : 0);
    }

    @Override
    public int[] queueSizes() {
        return new int[] {queueSize};
    }

    @Override
    public int configSize() {
        return CONFIG_SIZE;
    }

    /** Capacity in 512-byte sectors. */
    long capacity() {
        return capacity;
    }

    @Override
    public DeviceSession attach(DeviceContext context) {
        return new Session(context);
    }

    private byte[] config() {
        MemorySegment c = MemorySegment.ofArray(new byte[CONFIG_SIZE]);
        c.set(U64, 0, capacity);
        c.set(U32, 12, queueSize - 2); // seg_max: the chain also holds the header and the status
        c.set(U32, 20, blockSize);
        c.set(ValueLayout.JAVA_BYTE, 24, (byte) Integer.numberOfTrailingZeros(blockSize / SECTOR)); // physical_block_exp
        c.set(ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN), 26, (short) 1); // min_io_size, in blocks
        return c.toArray(ValueLayout.JAVA_BYTE);
    }

    private final class Session implements DeviceSession {
        private final DeviceContext context;
        private final byte[] config = config();
        private final MemorySegment header;
        private final Arena arena = Arena.ofShared();
        /** Why the image can serve no more requests, or null: device thread only. */
        private String lost;

        Session(DeviceContext context) {
            this.context = context;
            this.header = arena.allocate(HEADER);
        }

        @Override
        public int readConfig(int offset, int size) {
            int value = 0;
            for (int i = 0; i < size && offset + i < config.length; i++) {
                value |= (config[offset + i] & 0xFF) << (8 * i);
            }
            return value;
        }

        @Override
        public void serve(int queue) {
            VirtQueue q = context.queue(queue);
            DescriptorChain chain;
            while ((chain = q.next()) != null) {
                if (chain.readableLength() < HEADER || chain.writableLength() < 1) {
                    // 5.2.6.1: a request is a header, the data and a status byte; this one cannot be answered
                    context.fail(DeviceFault.REQUEST,
                        "request " + chain.head() + " has no header or no status byte (" + chain + ")");
                    return;
                }
                q.complete(chain, handle(chain));
                if (lost != null) {
                    context.fail(DeviceFault.BACKEND_LOST, lost);
                    return;
                }
            }
        }

        /**
         * Carries out one request. Returns the used length: the whole writable
         * part, so that it covers the status byte at its end (a driver may not
         * look past the used length), as QEMU reports it too.
         */
        private int handle(DescriptorChain chain) {
            chain.read(0, header);
            int type = header.get(U32, 0);
            long sector = header.get(U64, 8);
            long statusAt = chain.writableLength() - 1;
            int status;
            switch (type) {
                case T_IN -> {
                    long length = statusAt;
                    status = checkRange(sector, length);
                    if (status == S_OK) {
                        status = transfer(chain.writable(), 0, length, sector * SECTOR, true);
                    }
                }
                case T_OUT -> {
                    long length = chain.readableLength() - HEADER;
                    status = readOnly ? S_IOERR : checkRange(sector, length);
                    if (status == S_OK) {
                        status = transfer(chain.readable(), HEADER, length, sector * SECTOR, false);
                    }
                }
                case T_FLUSH -> status = flush();
                case T_GET_ID -> {
                    long length = Math.min(statusAt, ID_BYTES);
                    byte[] id = java.util.Arrays.copyOf(serial, ID_BYTES);
                    chain.write(0, MemorySegment.ofArray(id).asSlice(0, length));
                    status = S_OK;
                }
                default -> status = S_UNSUPP;
            }
            chain.write(statusAt, MemorySegment.ofArray(new byte[] {(byte) status}));
            return (int) chain.writableLength();
        }

        /** Whether {@code length} bytes from {@code sector} are whole sectors inside the disk. */
        private int checkRange(long sector, long length) {
            if (length % SECTOR != 0 || sector < 0 || sector > capacity || length / SECTOR > capacity - sector) {
                return S_IOERR;
            }
            return S_OK;
        }

        /**
         * Moves {@code length} bytes between the file at {@code position} and the
         * buffers, starting {@code skip} bytes into them.
         */
        private int transfer(List<MemorySegment> buffers, long skip, long length, long position, boolean read) {
            List<ByteBuffer> parts = new ArrayList<>();
            long left = length;
            for (MemorySegment buffer : buffers) {
                if (left == 0) {
                    break;
                }
                long size = buffer.byteSize();
                if (skip >= size) {
                    skip -= size;
                    continue;
                }
                long n = Math.min(size - skip, left);
                parts.add(buffer.asSlice(skip, n).asByteBuffer());
                left -= n;
                skip = 0;
            }
            try {
                long at = position;
                for (ByteBuffer part : parts) {
                    while (part.hasRemaining()) {
                        int n = read ? file.read(part, at) : file.write(part, at);
                        if (n < 0) {
                            throw new EOFException("the image ended at byte " + at + "; it shrank under the device");
                        }
                        at += n;
                    }
                }
                return S_OK;
            } catch (IOException e) {
                return ioError((read ? "reading " : "writing ") + length + " bytes at byte " + position, e);
            }
        }

        private int flush() {
            try {
                file.force(true);
                return S_OK;
            } catch (IOException e) {
                return ioError("flushing", e);
            }
        }

        /** The image failed a request: IOERR for the guest, a count and a (rate-limited) line for the host. */
        private int ioError(String what, IOException e) {
            ioErrors.increment();
            errorLog.log(() -> "guest " + context.guest().id() + " disk " + name + " (" + image + "): " + what + " failed: " + e);
            if (e instanceof ClosedChannelException) {
                lost = "the disk image " + image + " was closed under the device (" + what + ")";
            }
            return S_IOERR;
        }

        @Override
        public void reset() {
        }

        @Override
        public void close() {
            arena.close();
        }
    }

    @Override
    public String toString() {
        return "disk " + name + " (" + image + (readOnly ? ", read-only" : "") + ", " + capacity + " sectors)";
    }
}
