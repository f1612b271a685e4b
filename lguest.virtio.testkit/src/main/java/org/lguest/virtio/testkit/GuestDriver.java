package org.lguest.virtio.testkit;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import java.util.ArrayList;
import java.util.List;

import org.lguest.api.virtio.GuestRam;
import org.lguest.api.virtio.Virtio;
import org.lguest.api.virtio.VirtioBus;

/**
 * A virtio-pci guest driver written in Java, for tests: it finds devices the
 * way a guest kernel does (PCI configuration mechanism #1 through ports
 * 0xCF8/0xCFC, BAR sizing, the virtio vendor capabilities), sets them up
 * through their common configuration in BAR0 and puts buffers in split
 * virtqueues it lays out in guest RAM. Nothing here reaches into the
 * platform's internals: it sees only what a guest sees.
 */
public final class GuestDriver {
    static final ValueLayout.OfShort U16 = ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    static final ValueLayout.OfInt U32 = ValueLayout.JAVA_INT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    static final ValueLayout.OfLong U64 = ValueLayout.JAVA_LONG_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);

    final VirtioBus bus;
    final MemorySegment ram;
    private long next;
    private final long end;

    /**
     * @param from where in RAM the driver may allocate rings and buffers
     * @param to the end of that area
     */
    public GuestDriver(VirtioBus bus, GuestRam ram, long from, long to) {
        this.bus = bus;
        this.ram = ram.memory();
        this.next = from;
        this.end = to;
    }

    public GuestDriver(VirtioBus bus, GuestRam ram) {
        this(bus, ram, 0x1000, ram.size());
    }

    public VirtioBus bus() {
        return bus;
    }

    public MemorySegment ram() {
        return ram;
    }

    /** Guest memory from the driver's area, zeroed. */
    public synchronized long alloc(long size, long align) {
        long at = (next + align - 1) & -align;
        if (at + size > end) {
            throw new IllegalStateException("the test driver ran out of guest memory");
        }
        next = at + size;
        ram.asSlice(at, size).fill((byte) 0);
        return at;
    }

    // ---- PCI configuration space, through the ports ----

    public long config(int device, int offset, int size) {
        bus.ioWrite(VirtioBus.CONFIG_ADDRESS, 4, 0x8000_0000L | (long) device << 11 | (offset & 0xFC));
        return bus.ioRead(VirtioBus.CONFIG_DATA + (offset & 3), size);
    }

    public void configWrite(int device, int offset, int size, long value) {
        bus.ioWrite(VirtioBus.CONFIG_ADDRESS, 4, 0x8000_0000L | (long) device << 11 | (offset & 0xFC));
        bus.ioWrite(VirtioBus.CONFIG_DATA + (offset & 3), size, value);
    }

    /**
     * A function as the guest found it.
     *
     * @param common BAR offset of the common configuration, and so on
     */
    public record Function(int device, int vendor, int deviceId, int classCode, int irq, long bar0, long barSize,
            int common, int notifyOffset, int notifyMultiplier, int isr, int deviceConfig, int deviceConfigLength, int pciCfgCap) {
        public int type() {
            return deviceId - Virtio.PCI_DEVICE_ID_BASE;
        }
    }

    /** Scans bus 0 for virtio functions as a guest kernel would. */
    public List<Function> scan() {
        List<Function> found = new ArrayList<>();
        for (int dev = 0; dev < 32; dev++) {
            long id = config(dev, 0, 4);
            int vendor = (int) (id & 0xFFFF);
            if (vendor == 0xFFFF || vendor != Virtio.PCI_VENDOR_ID) {
                continue;
            }
            int deviceId = (int) (id >>> 16);
            int classCode = (int) (config(dev, 0x08, 4) >>> 8);
            int irq = (int) config(dev, 0x3C, 1);
            long original = config(dev, 0x10, 4);
            configWrite(dev, 0x10, 4, 0xFFFF_FFFFL);
            long sized = config(dev, 0x10, 4);
            configWrite(dev, 0x10, 4, original);
            long barSize = (~(sized & ~0xFL) + 1) & 0xFFFF_FFFFL;
            long bar0 = config(dev, 0x10, 4) & ~0xFL;
            int common = -1;
            int notify = -1;
            int multiplier = 0;
            int isr = -1;
            int deviceConfig = -1;
            int deviceConfigLength = 0;
            int pciCfg = -1;
            int at = (int) config(dev, 0x34, 1);
            for (int guard = 0; at != 0 && guard < 48; guard++) {
                int capId = (int) config(dev, at, 1);
                int nextCap = (int) config(dev, at + 1, 1);
                if (capId == 0x09) {
                    int cfgType = (int) config(dev, at + 3, 1);
                    int bar = (int) config(dev, at + 4, 1);
                    int offset = (int) config(dev, at + 8, 4);
                    int length = (int) config(dev, at + 12, 4);
                    if (cfgType == 5) {
                        pciCfg = at;
                    } else if (bar == 0) {
                        switch (cfgType) {
                            case 1 -> common = offset;
                            case 2 -> {
                                notify = offset;
                                multiplier = (int) config(dev, at + 16, 4);
                            }
                            case 3 -> isr = offset;
                            case 4 -> {
                                deviceConfig = offset;
                                deviceConfigLength = length;
                            }
                            default -> {
                            }
                        }
                    }
                }
                at = nextCap;
            }
            found.add(new Function(dev, vendor, deviceId, classCode, irq, bar0, barSize, common, notify, multiplier, isr,
                deviceConfig, deviceConfigLength, pciCfg));
        }
        return found;
    }

    /** The first function of a virtio device type, set up for use. */
    public DriverDevice find(int type) {
        for (Function f : scan()) {
            if (f.type() == type) {
                return new DriverDevice(this, f);
            }
        }
        throw new AssertionError("no virtio device of type " + type + " on the bus");
    }

    /** Every function of a virtio device type, in slot order. */
    public List<DriverDevice> findAll(int type) {
        List<DriverDevice> all = new ArrayList<>();
        for (Function f : scan()) {
            if (f.type() == type) {
                all.add(new DriverDevice(this, f));
            }
        }
        return all;
    }
}
