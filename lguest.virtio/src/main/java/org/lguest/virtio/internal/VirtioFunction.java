package org.lguest.virtio.internal;

import java.lang.System.Logger.Level;
import java.util.Arrays;
import java.util.EnumMap;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentMap;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;
import java.util.concurrent.atomic.AtomicLongArray;

import org.lguest.api.device.Eventfd;
import org.lguest.api.virtio.DeviceContext;
import org.lguest.api.virtio.DeviceFault;
import org.lguest.api.virtio.DeviceSession;
import org.lguest.api.virtio.GuestRam;
import org.lguest.api.virtio.InterruptSink;
import org.lguest.api.virtio.VirtQueue;
import org.lguest.api.virtio.Virtio;
import org.lguest.api.virtio.VirtioBus;
import org.lguest.api.virtio.VirtioDevice;
import org.lguest.api.virtio.VirtioGuest;

/**
 * One virtio-pci function (virtio 1.0, 4.1) laid out as lguest's 4.x
 * Launcher laid it out, so a Linux guest finds what it expects: PCI
 * configuration space with the virtio vendor capabilities, and BAR0, the
 * smallest power of two that holds the common configuration (0), one
 * notification register for all queues (56), the ISR byte (58) and the
 * device-specific configuration (60). It keeps everything the guest's device
 * must keep (status, features, queues and their positions, the device's
 * {@link DeviceContext#state() state}); the {@link VirtioDevice} service
 * attached to it can come and go.
 * <p>
 * Register accesses come from guest CPU threads and take this object's
 * lock. The device thread never takes it: breaking the device, raising
 * interrupts and waking queues are lock-free, so a reset can wait for the
 * device thread while holding the lock.
 */
final class VirtioFunction implements SplitVirtqueue.Host {
    private static final System.Logger LOG = System.getLogger(VirtioFunction.class.getName());

    /** BAR0 layout, the same for every device; only the device configuration's length varies. */
    static final int COMMON_OFFSET = 0;
    static final int COMMON_SIZE = 56;
    static final int NOTIFY_OFFSET = 56;
    static final int NOTIFY_SIZE = 2;
    /** Every queue's queue_notify_off is 0 and the multiplier 0: one register, the queue index written to it. */
    static final int NOTIFY_MULTIPLIER = 0;
    static final int ISR_OFFSET = 58;
    static final int DEVICE_OFFSET = 60;
    /** Keeps a BAR0 within a page. */
    static final int MAX_CONFIG_SIZE = 4096 - DEVICE_OFFSET;
    /** queue_select is 16 bits wide; a bound well below keeps a runaway device description out. */
    static final int MAX_QUEUES = 1024;
    /** Configuration space the function emulates: the header and capabilities, up to the window's data dword. */
    static final int CONFIG_SPACE = 0x98;

    /** Capabilities in PCI configuration space. */
    static final int CAP_COMMON = 0x40;
    static final int CAP_NOTIFY = 0x50;
    static final int CAP_ISR = 0x64;
    static final int CAP_DEVICE = 0x74;
    static final int CAP_PCI_CFG = 0x84;
    static final int PCI_CAP_ID_VNDR = 0x09;
    static final int CFG_COMMON = 1;
    static final int CFG_NOTIFY = 2;
    static final int CFG_ISR = 3;
    static final int CFG_DEVICE = 4;
    static final int CFG_PCI = 5;
    private static final int WINDOW_DATA = CAP_PCI_CFG + 16;

    /** Common configuration field offsets (struct virtio_pci_common_cfg). */
    static final int DEVICE_FEATURE_SELECT = 0x00;
    static final int DEVICE_FEATURE = 0x04;
    static final int DRIVER_FEATURE_SELECT = 0x08;
    static final int DRIVER_FEATURE = 0x0C;
    static final int MSIX_CONFIG = 0x10;
    static final int NUM_QUEUES = 0x12;
    static final int DEVICE_STATUS = 0x14;
    static final int CONFIG_GENERATION = 0x15;
    static final int QUEUE_SELECT = 0x16;
    static final int QUEUE_SIZE = 0x18;
    static final int QUEUE_MSIX_VECTOR = 0x1A;
    static final int QUEUE_ENABLE = 0x1C;
    static final int QUEUE_NOTIFY_OFF = 0x1E;
    static final int QUEUE_DESC = 0x20;
    static final int QUEUE_DRIVER = 0x28;
    static final int QUEUE_DEVICE = 0x30;
    private static final int NO_VECTOR = 0xFFFF;

    /** The transport features the platform offers for every device. */
    static final long TRANSPORT_FEATURES = Virtio.bit(Virtio.F_VERSION_1) | Virtio.bit(Virtio.F_RING_INDIRECT_DESC)
        | Virtio.bit(Virtio.F_RING_EVENT_IDX);

    final int slot;
    final int irq;
    final long bar0;
    final int barSize;
    final String name;
    final int type;
    private final long offered;
    private final int[] queueSizes;
    private final int configSize;
    private final VirtioGuest guest;
    private final GuestRam ram;
    private final InterruptSink interrupts;
    private final byte[] config = new byte[CONFIG_SPACE];
    private final SplitVirtqueue[] queues;
    /**
     * Whether functions made from now on keep counters. Always true in the runtime; the benchmarks turn it
     * off for a rig of their own, to measure what counting costs against the same path without it.
     */
    static volatile boolean countNew = true;
    private final boolean counting = countNew;
    // Owned by the device thread (serveQueue); read racily for /metrics.
    private long served;
    private long busyNanos;
    // Times the device was marked broken, by DeviceFault ordinal: lock-free, any thread that breaks it.
    private final AtomicLongArray faults = new AtomicLongArray(DeviceFault.values().length);
    private final DeviceRunner runner;
    private final ConcurrentMap<String, Object> state = new ConcurrentHashMap<>();
    private final Context context = new Context();
    private final AtomicInteger isr = new AtomicInteger();
    private final AtomicInteger generation = new AtomicInteger();
    private final AtomicReference<String> broken = new AtomicReference<>();
    private volatile long negotiated;
    private volatile DeviceSession session;
    private VirtioDevice device;
    private boolean closed;

    // Common configuration written by the driver (under the lock).
    private int deviceFeatureSelect;
    private int driverFeatureSelect;
    private long driverFeatures;
    private int status;
    private int queueSelect;
    // PCI configuration written by the driver (under the lock): BAR0 to BAR5, then the expansion ROM.
    private final int[] bars = new int[7];

    VirtioFunction(int slot, int irq, long bar0, VirtioDevice device, VirtioGuest guest, GuestRam ram, InterruptSink interrupts) {
        this.slot = slot;
        this.irq = irq;
        this.bar0 = bar0;
        this.name = device.name();
        this.type = device.type();
        this.offered = device.features() | TRANSPORT_FEATURES;
        this.queueSizes = device.queueSizes().clone();
        this.configSize = device.configSize();
        this.guest = guest;
        this.ram = ram;
        this.interrupts = interrupts;
        if (queueSizes.length > MAX_QUEUES) {
            throw new IllegalArgumentException(name + ": " + queueSizes.length + " queues; at most " + MAX_QUEUES);
        }
        if (configSize < 0 || configSize > MAX_CONFIG_SIZE) {
            throw new IllegalArgumentException(name + ": " + configSize + " bytes of configuration; at most " + MAX_CONFIG_SIZE);
        }
        this.queues = new SplitVirtqueue[queueSizes.length];
        for (int q = 0; q < queues.length; q++) {
            queues[q] = new SplitVirtqueue(this, q, queueSizes[q]);
        }
        this.barSize = barSize(configSize);
        if (bar0 % 16 != 0) {
            throw new IllegalArgumentException(String.format("%s: BAR0 at %#x is not 16-byte aligned", name, bar0));
        }
        bars[0] = (int) bar0;
        buildConfigSpace();
        this.runner = new DeviceRunner("lguest-virtio-" + guest.id() + "-" + name, queues.length, new DeviceRunner.Work() {
            @Override
            public void serve(int queue) {
                serveQueue(queue);
            }

            @Override
            public void afterRound() {
                for (SplitVirtqueue q : queues) {
                    q.notifyGuest();
                }
            }
        });
        runner.start();
        this.device = device;
        this.session = attachSession(device);
    }

    /** The smallest power of two that holds the registers and {@code configSize} bytes of device configuration. */
    static int barSize(int configSize) {
        return Integer.highestOneBit(DEVICE_OFFSET + configSize - 1) << 1;
    }

    // ---- PCI configuration space ----

    private void buildConfigSpace() {
        put16(0x00, Virtio.PCI_VENDOR_ID);
        put16(0x02, Virtio.PCI_DEVICE_ID_BASE + type);
        put16(0x06, 0x0010); // status: capabilities list
        config[0x08] = 1; // revision: non-transitional
        int[] classCode = switch (type) {
            case Virtio.ID_NET -> new int[] {0x02, 0x00};
            case Virtio.ID_BLOCK -> new int[] {0x01, 0x80};
            case Virtio.ID_CONSOLE -> new int[] {0x07, 0x00};
            default -> new int[] {0xFF, 0x00};
        };
        config[0x0A] = (byte) classCode[1];
        config[0x0B] = (byte) classCode[0];
        put16(0x2E, 0x40); // subsystem vendor 0, subsystem 0x40: what lguest gave every device
        config[0x34] = (byte) CAP_COMMON;
        config[0x3C] = (byte) irq;
        // Interrupt pin 0: the guest's lguest hook takes the line above as the interrupt, no pin routing.
        // The chain skips 0x74 on its way to the window and comes back to it last, as lguest's did.
        capability(CAP_COMMON, CFG_COMMON, CAP_NOTIFY, 16, COMMON_OFFSET, COMMON_SIZE);
        capability(CAP_NOTIFY, CFG_NOTIFY, CAP_ISR, 20, NOTIFY_OFFSET, NOTIFY_SIZE);
        put32(CAP_NOTIFY + 16, NOTIFY_MULTIPLIER);
        capability(CAP_ISR, CFG_ISR, CAP_PCI_CFG, 16, ISR_OFFSET, 1);
        if (configSize > 0) {
            capability(CAP_DEVICE, CFG_DEVICE, 0, 16, DEVICE_OFFSET, configSize);
        }
        capability(CAP_PCI_CFG, CFG_PCI, configSize > 0 ? CAP_DEVICE : 0, 20, 0, 0);
    }

    private void capability(int at, int cfgType, int next, int length, int offset, int size) {
        config[at] = PCI_CAP_ID_VNDR;
        config[at + 1] = (byte) next;
        config[at + 2] = (byte) length;
        config[at + 3] = (byte) cfgType;
        config[at + 4] = 0; // BAR0
        put32(at + 8, offset);
        put32(at + 12, size);
    }

    private void put16(int at, int value) {
        config[at] = (byte) value;
        config[at + 1] = (byte) (value >>> 8);
    }

    private void put32(int at, int value) {
        put16(at, value);
        put16(at + 2, value >>> 16);
    }

    private int get32(int at) {
        return (config[at] & 0xFF) | (config[at + 1] & 0xFF) << 8 | (config[at + 2] & 0xFF) << 16 | (config[at + 3] & 0xFF) << 24;
    }

    /** A read of configuration space at {@code offset} (any alignment; bytes past the emulated space read all ones). */
    synchronized long configRead(int offset, int size) {
        if (offset < WINDOW_DATA + 4 && offset + size > WINDOW_DATA) {
            windowRead();
        }
        long value = 0;
        for (int i = 0; i < size; i++) {
            value |= (long) configByte(offset + i) << (8 * i);
        }
        return value;
    }

    private int configByte(int at) {
        if (at < 0 || at >= CONFIG_SPACE) {
            return 0xFF;
        }
        int bar = barIndex(at);
        if (bar >= 0) {
            return (bars[bar] >>> (8 * (at & 3))) & 0xFF;
        }
        return config[at] & 0xFF;
    }

    /** Which of BAR0..5 (0..5) or the ROM (6) holds configuration byte {@code at}; -1 for none. */
    private static int barIndex(int at) {
        if (at >= 0x10 && at < 0x28) {
            return (at - 0x10) / 4;
        }
        return at >= 0x30 && at < 0x34 ? 6 : -1;
    }

    /**
     * A write to configuration space. What lguest let a driver write: the
     * BARs (BAR0 keeps only the bits above its size, so the all-ones probe
     * reads back the size; the device stays where it was put), cache line
     * size and latency timer, the window capability's bar, offset, length
     * and data. 16-bit command writes are taken and ignored. Anything else
     * lguest counted a broken driver: the device is marked broken (until a
     * reset) and the answer is false.
     */
    synchronized boolean configWrite(int offset, int size, long value) {
        if (!takeConfigWrite(offset, size, value)) {
            broken(DeviceFault.CONFIG_WRITE,
                String.format("the driver wrote %d byte(s) at configuration offset %#x, which it may not", size, offset));
            return false;
        }
        return true;
    }

    private boolean takeConfigWrite(int offset, int size, long value) {
        if (offset < 0 || offset % size != 0 || offset + size > CONFIG_SPACE) {
            return false;
        }
        int dword = offset & ~3;
        if (dword == 0x04 && offset == 0x04 && size == 2) {
            return true; // command: memory decoding is always on
        }
        int bar = barIndex(offset);
        if (bar >= 0) {
            int shift = 8 * (offset & 3);
            int mask = (int) Le.mask(size) << shift;
            int merged = (bars[bar] & ~mask) | ((int) value << shift & mask);
            bars[bar] = bar == 0 ? merged & -barSize : merged;
            return true;
        }
        if (dword == 0x0C) {
            for (int i = 0; i < size && offset + i < 0x0E; i++) {
                config[offset + i] = (byte) (value >>> (8 * i)); // cache line size and latency timer only
            }
            return true;
        }
        if (dword == CAP_PCI_CFG + 4) {
            if (offset == dword) {
                config[offset] = (byte) value; // the window's bar; its padding stays 0
            }
            return true;
        }
        if (dword != CAP_PCI_CFG + 8 && dword != CAP_PCI_CFG + 12 && dword != WINDOW_DATA) {
            return false;
        }
        for (int i = 0; i < size; i++) {
            config[offset + i] = (byte) (value >>> (8 * i)); // the window's offset, length or data
        }
        if (dword == WINDOW_DATA && !windowWrite()) {
            broken(DeviceFault.CONFIG_WINDOW,
                String.format("the PCI_CFG window (bar %d, offset %#x, length %d) is not 1, 2 or 4 aligned bytes inside BAR0",
                config[CAP_PCI_CFG + 4] & 0xFF, get32(CAP_PCI_CFG + 8), get32(CAP_PCI_CFG + 12)));
            return false;
        }
        return true;
    }

    /** The VIRTIO_PCI_CAP_PCI_CFG window: {@code length} bytes at {@code offset} of the BAR, or -1 when invalid. */
    private int windowLength() {
        int bar = config[CAP_PCI_CFG + 4] & 0xFF;
        int offset = get32(CAP_PCI_CFG + 8);
        int length = get32(CAP_PCI_CFG + 12);
        if (bar != 0 || (length != 1 && length != 2 && length != 4) || offset < 0 || offset % length != 0
            || offset > barSize - length) {
            return -1;
        }
        return length;
    }

    private void windowRead() {
        int length = windowLength();
        if (length > 0) {
            put32(WINDOW_DATA, (int) barRead(get32(CAP_PCI_CFG + 8), length));
        }
    }

    /** The data dword was written: the same write to BAR0; false when the window points nowhere valid. */
    private boolean windowWrite() {
        int length = windowLength();
        if (length < 0) {
            return false;
        }
        barWrite(get32(CAP_PCI_CFG + 8), length, get32(WINDOW_DATA) & Le.mask(length));
        return true;
    }

    // ---- BAR0 ----

    /** A read of BAR0 at {@code offset}. */
    synchronized long barRead(int offset, int size) {
        if (offset < COMMON_OFFSET + COMMON_SIZE) {
            return commonRead(offset, size);
        }
        if (offset == ISR_OFFSET && size == 1) {
            return isr.getAndSet(0); // reading clears it (4.1.4.5)
        }
        if (offset >= DEVICE_OFFSET && offset - DEVICE_OFFSET + size <= configSize) {
            DeviceSession s = session;
            if (s == null || !(size == 1 || size == 2 || size == 4 || size == 8)) {
                return 0;
            }
            int at = offset - DEVICE_OFFSET;
            try {
                if (size == 8) {
                    return Integer.toUnsignedLong(s.readConfig(at, 4)) | (long) s.readConfig(at + 4, 4) << 32;
                }
                return s.readConfig(at, size) & Le.mask(size);
            } catch (RuntimeException | LinkageError e) {
                LOG.log(Level.WARNING, name + ": reading configuration failed", e);
                return 0;
            }
        }
        return 0;
    }

    /** A write to BAR0 at {@code offset}; writes to read-only registers are ignored. */
    synchronized void barWrite(int offset, int size, long value) {
        if (offset < COMMON_OFFSET + COMMON_SIZE) {
            commonWrite(offset, size, value);
        } else if (offset == NOTIFY_OFFSET) {
            notifyQueue(size, value);
        } else if (offset >= DEVICE_OFFSET && offset - DEVICE_OFFSET + size <= configSize
            && (size == 1 || size == 2 || size == 4)) {
            // Whatever the status: a kernel's early console writes emerg_wr before any driver has touched the device.
            DeviceSession s = session;
            if (s != null) {
                try {
                    s.writeConfig(offset - DEVICE_OFFSET, size, (int) value);
                } catch (RuntimeException | LinkageError e) {
                    LOG.log(Level.WARNING, name + ": writing configuration failed", e);
                }
            }
        }
    }

    /**
     * The driver wrote a queue index to the notification register and the
     * Launcher emulated it: that queue is served. The register is 16 bits;
     * another width or a queue the device does not have is a driver bug.
     */
    private void notifyQueue(int size, long value) {
        if (size != NOTIFY_SIZE) {
            broken(DeviceFault.NOTIFY_WIDTH, "a " + size + "-byte write to the notification register (it is 2 bytes)");
        } else if (value >= queues.length) {
            broken(DeviceFault.NOTIFY_QUEUE, "notification of queue " + value + "; the device has " + queues.length);
        } else {
            runner.kick((int) value);
        }
    }

    /** The notification register's guest-physical address, the same for every queue. */
    long notifyAddress() {
        return bar0 + NOTIFY_OFFSET;
    }

    /** What the Host signals for a write to {@link #notifyAddress()}: it does not decode the queue, so all are looked at. */
    Eventfd doorbell() {
        return runner.doorbell();
    }

    int queueCount() {
        return queues.length;
    }

    private SplitVirtqueue selected() {
        return queueSelect < queues.length ? queues[queueSelect] : null;
    }

    private int currentStatus() {
        return status | (broken.get() != null ? Virtio.STATUS_DEVICE_NEEDS_RESET : 0);
    }

    /** Reads of the common configuration: any width, composed from the fields' little-endian bytes. */
    private long commonRead(int offset, int size) {
        java.lang.foreign.MemorySegment image = java.lang.foreign.MemorySegment.ofArray(new byte[COMMON_SIZE + 8]);
        SplitVirtqueue q = selected();
        image.set(Le.U32, DEVICE_FEATURE_SELECT, deviceFeatureSelect);
        image.set(Le.U32, DEVICE_FEATURE, (int) (deviceFeatureSelect == 0 ? offered
            : deviceFeatureSelect == 1 ? offered >>> 32 : 0));
        image.set(Le.U32, DRIVER_FEATURE_SELECT, driverFeatureSelect);
        image.set(Le.U32, DRIVER_FEATURE, (int) (driverFeatureSelect == 0 ? driverFeatures
            : driverFeatureSelect == 1 ? driverFeatures >>> 32 : 0));
        image.set(Le.U16, MSIX_CONFIG, (short) NO_VECTOR);
        image.set(Le.U16, NUM_QUEUES, (short) queues.length);
        image.set(java.lang.foreign.ValueLayout.JAVA_BYTE, DEVICE_STATUS, (byte) currentStatus());
        image.set(java.lang.foreign.ValueLayout.JAVA_BYTE, CONFIG_GENERATION, (byte) generation.get());
        image.set(Le.U16, QUEUE_SELECT, (short) queueSelect);
        if (q != null) {
            image.set(Le.U16, QUEUE_SIZE, (short) q.size);
            image.set(Le.U16, QUEUE_MSIX_VECTOR, (short) NO_VECTOR);
            image.set(Le.U16, QUEUE_ENABLE, (short) (q.enabled ? 1 : 0));
            image.set(Le.U16, QUEUE_NOTIFY_OFF, (short) 0);
            image.set(Le.U64, QUEUE_DESC, q.descAddress);
            image.set(Le.U64, QUEUE_DRIVER, q.availAddress);
            image.set(Le.U64, QUEUE_DEVICE, q.usedAddress);
        }
        long value = 0;
        for (int i = 0; i < size && offset + i < COMMON_SIZE; i++) {
            value |= (long) (image.get(java.lang.foreign.ValueLayout.JAVA_BYTE, offset + i) & 0xFF) << (8 * i);
        }
        return value;
    }

    private void commonWrite(int offset, int size, long value) {
        SplitVirtqueue q = selected();
        boolean live = (status & Virtio.STATUS_DRIVER_OK) != 0;
        boolean queueWritable = q != null && !q.enabled && !live;
        long v = value & Le.mask(size);
        switch (offset) {
            case DEVICE_FEATURE_SELECT -> {
                if (size == 4) {
                    deviceFeatureSelect = (int) v;
                }
            }
            case DRIVER_FEATURE_SELECT -> {
                if (size == 4) {
                    driverFeatureSelect = (int) v;
                }
            }
            case DRIVER_FEATURE -> {
                if (size == 4 && (status & Virtio.STATUS_FEATURES_OK) == 0) {
                    if (driverFeatureSelect == 0) {
                        driverFeatures = (driverFeatures & ~0xFFFF_FFFFL) | v;
                    } else if (driverFeatureSelect == 1) {
                        driverFeatures = (driverFeatures & 0xFFFF_FFFFL) | v << 32;
                    }
                }
            }
            case DEVICE_STATUS -> {
                if (size == 1) {
                    writeStatus((int) v);
                }
            }
            case QUEUE_SELECT -> {
                if (size == 2) {
                    queueSelect = (int) v;
                }
            }
            case QUEUE_SIZE -> {
                if (size == 2 && queueWritable && v >= 1 && v <= q.maxSize() && Long.bitCount(v) == 1) {
                    q.size = (int) v;
                }
            }
            case QUEUE_ENABLE -> {
                if (size == 2 && queueWritable && v == 1) {
                    q.enabled = true;
                }
            }
            case QUEUE_DESC, QUEUE_DESC + 4 -> {
                if (queueWritable && (size == 4 || size == 8 && offset == QUEUE_DESC)) {
                    q.descAddress = Le.insert(q.descAddress, offset - QUEUE_DESC, size, v);
                }
            }
            case QUEUE_DRIVER, QUEUE_DRIVER + 4 -> {
                if (queueWritable && (size == 4 || size == 8 && offset == QUEUE_DRIVER)) {
                    q.availAddress = Le.insert(q.availAddress, offset - QUEUE_DRIVER, size, v);
                }
            }
            case QUEUE_DEVICE, QUEUE_DEVICE + 4 -> {
                if (queueWritable && (size == 4 || size == 8 && offset == QUEUE_DEVICE)) {
                    q.usedAddress = Le.insert(q.usedAddress, offset - QUEUE_DEVICE, size, v);
                }
            }
            default -> {
                // device_feature, msix vectors, num_queues, config_generation, queue_notify_off: read-only
            }
        }
    }

    /** The driver writes device_status (2.1, 3.1.1). */
    private void writeStatus(int value) {
        if (value == 0) {
            reset();
            return;
        }
        int added = value & ~status;
        if ((added & Virtio.STATUS_FEATURES_OK) != 0) {
            boolean acceptable = (driverFeatures & ~offered) == 0 && (driverFeatures & Virtio.bit(Virtio.F_VERSION_1)) != 0
                && (status & Virtio.STATUS_DRIVER) != 0;
            if (acceptable) {
                negotiated = driverFeatures;
            } else {
                added &= ~Virtio.STATUS_FEATURES_OK; // the driver reads it back and gives up (3.1.1)
            }
        }
        boolean goLive = (added & Virtio.STATUS_DRIVER_OK) != 0;
        if (goLive && ((status | added) & Virtio.STATUS_FEATURES_OK) == 0) {
            broken(DeviceFault.FEATURES_NOT_OK, "DRIVER_OK before FEATURES_OK");
            added &= ~Virtio.STATUS_DRIVER_OK;
            goLive = false;
        }
        status |= added; // a driver may not clear bits (2.1.1): only a reset does
        if ((added & Virtio.STATUS_FAILED) != 0) {
            runner.pause();
        } else if (goLive) {
            goLive();
        }
    }

    private void goLive() {
        for (SplitVirtqueue q : queues) {
            try {
                q.start();
            } catch (SplitVirtqueue.BadChain e) {
                broken(e.fault(), e.detail());
            }
        }
        activate();
    }

    /** Starts the session on a live device: on DRIVER_OK, or when attached to a device that is live. */
    private void activate() {
        DeviceSession s = session;
        if (s == null || broken.get() != null || (status & Virtio.STATUS_DRIVER_OK) == 0
            || (status & Virtio.STATUS_FAILED) != 0) {
            return;
        }
        try {
            s.activate(negotiated);
        } catch (RuntimeException | LinkageError e) {
            LOG.log(Level.WARNING, name + ": activation failed", e);
            broken(DeviceFault.DEVICE_ERROR, "the device failed to start: " + e);
            return;
        }
        runner.resume();
    }

    /** The device reset (4.1.4.3.1): the device thread stops, the session and the queues forget the driver. */
    synchronized void reset() {
        runner.pause();
        DeviceSession s = session;
        if (s != null) {
            try {
                s.reset();
            } catch (RuntimeException | LinkageError e) {
                LOG.log(Level.WARNING, name + ": reset failed", e);
            }
        }
        for (SplitVirtqueue q : queues) {
            q.reset();
        }
        status = 0;
        deviceFeatureSelect = 0;
        driverFeatureSelect = 0;
        driverFeatures = 0;
        negotiated = 0;
        queueSelect = 0;
        isr.set(0);
        broken.set(null);
    }

    // ---- the device service ----

    private DeviceSession attachSession(VirtioDevice d) {
        try {
            return d.attach(context);
        } catch (RuntimeException | LinkageError e) {
            LOG.log(Level.WARNING, name + ": could not attach to guest " + guest.id(), e);
            return null;
        }
    }

    synchronized boolean isAttached() {
        return session != null;
    }

    synchronized VirtioDevice device() {
        return device;
    }

    /** Whether {@code d} could serve this slot: same name and the same shape. */
    boolean fits(VirtioDevice d) {
        return misfit(d) == null;
    }

    /**
     * Why {@code d} cannot serve this slot, or null when it can: the name and
     * the shape (type, device features, queue sizes, configuration size) a
     * live driver has seen must not change under it.
     */
    String misfit(VirtioDevice d) {
        if (!d.name().equals(name)) {
            return "its name is " + d.name() + ", not " + name;
        }
        if (d.type() != type) {
            return "it is a " + Virtio.typeName(d.type()) + " device; the slot holds a " + Virtio.typeName(type) + " device";
        }
        if ((d.features() | TRANSPORT_FEATURES) != offered) {
            return String.format("it offers features %#x; the slot offered %#x", d.features() & ~TRANSPORT_FEATURES,
                offered & ~TRANSPORT_FEATURES);
        }
        if (!Arrays.equals(d.queueSizes(), queueSizes)) {
            return "its queue sizes are " + Arrays.toString(d.queueSizes()) + "; the slot's are " + Arrays.toString(queueSizes);
        }
        if (d.configSize() != configSize) {
            return "its configuration space is " + d.configSize() + " bytes; the slot's is " + configSize;
        }
        return null;
    }

    /** Attaches a device service to the slot again; it carries on from the slot's state. */
    synchronized boolean attach(VirtioDevice d) {
        if (closed || session != null || !fits(d)) {
            return false;
        }
        DeviceSession s = attachSession(d);
        if (s == null) {
            return false;
        }
        device = d;
        session = s;
        activate();
        return true;
    }

    /** Detaches the device service; the slot keeps the guest's state and its notifications wait. */
    synchronized void detach() {
        runner.pause();
        DeviceSession s = session;
        session = null;
        device = null;
        if (s != null) {
            try {
                s.close();
            } catch (RuntimeException | LinkageError e) {
                LOG.log(Level.WARNING, name + ": closing failed", e);
            }
        }
    }

    void close() {
        synchronized (this) {
            if (closed) {
                return;
            }
            closed = true;
            detach();
        }
        runner.close();
    }

    synchronized int status() {
        return currentStatus();
    }

    // ---- what the device thread does ----

    private void serveQueue(int queue) {
        DeviceSession s = session;
        if (s == null || broken.get() != null) {
            return;
        }
        long start = counting ? System.nanoTime() : 0;
        try {
            s.serve(queue);
        } catch (RuntimeException | LinkageError | AssertionError e) {
            LOG.log(Level.WARNING, name + ": serving queue " + queue + " failed", e);
            broken(DeviceFault.DEVICE_ERROR, "serving queue " + queue + ": " + e);
        } finally {
            if (counting) {
                served++;
                busyNanos += System.nanoTime() - start;
            }
        }
    }

    /** This device's counters; the device thread writes them, a scrape reads them as they are. */
    VirtioBus.Counters counters() {
        long chains = 0;
        long read = 0;
        long written = 0;
        for (SplitVirtqueue q : queues) {
            chains += q.chains;
            read += q.bytesRead;
            written += q.bytesWritten;
        }
        long errors = 0;
        for (int k = 0; k < faults.length(); k++) {
            errors += faults.get(k);
        }
        return new VirtioBus.Counters(slot, served, chains, read, written, errors, busyNanos);
    }

    /** How many times each kind of fault broke this device; kinds that never did are absent. */
    Map<DeviceFault, Long> faults() {
        Map<DeviceFault, Long> counts = new EnumMap<>(DeviceFault.class);
        for (DeviceFault fault : DeviceFault.values()) {
            long n = faults.get(fault.ordinal());
            if (n > 0) {
                counts.put(fault, n);
            }
        }
        return counts;
    }

    /** The depth of each queue the driver enabled. */
    void addQueueDepths(java.util.List<VirtioBus.QueueDepth> into) {
        for (SplitVirtqueue q : queues) {
            if (q.size() > 0) {
                into.add(new VirtioBus.QueueDepth(slot, q.index(), q.size(), q.waiting(), q.inFlight()));
            }
        }
    }

    // ---- SplitVirtqueue.Host ----

    @Override
    public GuestRam ram() {
        return ram;
    }

    @Override
    public long features() {
        return negotiated;
    }

    /** A queue found a bad chain or ring index (SplitVirtqueue.Host). */
    @Override
    public void broken(DeviceFault fault, String detail) {
        String reason = fault.reason(detail);
        if (broken.get() != null) {
            return;
        }
        // The ISR bit first: a driver that sees DEVICE_NEEDS_RESET finds the configuration interrupt's cause too.
        isr.getAndUpdate(v -> v | Virtio.ISR_CONFIG);
        // Counted before the reason is published, so whoever sees the reason sees it counted; a loser takes it back.
        faults.incrementAndGet(fault.ordinal());
        if (!broken.compareAndSet(null, reason)) {
            faults.decrementAndGet(fault.ordinal());
            return;
        }
        for (SplitVirtqueue q : queues) {
            q.stop();
        }
        LOG.log(Level.INFO, () -> "guest " + guest.id() + " " + name + ": device broken until reset: " + reason);
        raise();
    }

    @Override
    public String brokenReason() {
        return broken.get();
    }

    @Override
    public void interrupt() {
        /*V:090
         * The queue bit goes into the ISR first, so the guest's handler finds the cause when it reads it,
         * then the line is raised through the InterruptSink the Launcher gave.
         */
        isr.getAndUpdate(v -> v | Virtio.ISR_QUEUE);
        raise();
    }

    private void raise() {
        try {
            interrupts.raise(irq);
        } catch (RuntimeException e) {
            LOG.log(Level.WARNING, name + ": raising interrupt " + irq + " failed", e);
        }
    }

    /** The context a device session sees. */
    private final class Context implements DeviceContext {
        @Override
        public VirtioGuest guest() {
            return guest;
        }

        @Override
        public GuestRam ram() {
            return ram;
        }

        @Override
        public VirtQueue queue(int index) {
            return queues[index];
        }

        @Override
        public int queueCount() {
            return queues.length;
        }

        @Override
        public long features() {
            return negotiated;
        }

        @Override
        public void wake(int queue) {
            runner.kick(queue);
        }

        @Override
        public boolean serveNow(int queue) {
            return runner.serveHere(queue);
        }

        @Override
        public void configChanged() {
            generation.incrementAndGet();
            isr.getAndUpdate(v -> v | Virtio.ISR_CONFIG);
            raise();
        }

        @Override
        public void fail(String reason) {
            VirtioFunction.this.broken(DeviceFault.REQUEST, reason);
        }

        @Override
        public void fail(DeviceFault fault, String detail) {
            VirtioFunction.this.broken(fault, detail);
        }

        @Override
        public String broken() {
            return broken.get();
        }

        @Override
        public java.util.concurrent.ConcurrentMap<String, Object> state() {
            return state;
        }
    }
}
