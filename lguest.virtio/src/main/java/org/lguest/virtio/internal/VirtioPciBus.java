package org.lguest.virtio.internal;

import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.function.Consumer;

import org.lguest.api.abi.Lguest;
import org.lguest.api.cpu.GuestMachine;
import org.lguest.api.device.Eventfd;
import org.lguest.api.virtio.DeviceFault;
import org.lguest.api.virtio.GuestRam;
import org.lguest.api.virtio.InterruptSink;
import org.lguest.api.virtio.StandaloneBus;
import org.lguest.api.virtio.VirtioDevice;
import org.lguest.api.virtio.VirtioGuest;

/**
 * A guest's PCI bus, as lguest's last Launcher emulated it: configuration
 * mechanism #1 (the address register at 0xCF8, the data window at 0xCFC),
 * bus 0, function 0 of each device. Device 0 is a host bridge; the virtio
 * devices follow from device 1, each with interrupt {@code firstIrq} + (n - 1)
 * and a memory BAR0 of its own power-of-two size, packed upward from
 * {@code mmioBase} in device order.
 */
public final class VirtioPciBus implements StandaloneBus {
    /** Device numbers on bus 0: 5 bits, the host bridge takes the first. */
    static final int MAX_DEVICES = 31;
    private static final int ENABLE = 0x8000_0000;

    private final VirtioGuest guest;
    private final List<VirtioFunction> functions;
    private final long mmioBase;
    private final long mmioEnd;
    private final Map<Long, Eventfd> notify;
    private final Consumer<VirtioPciBus> onClose;
    private int configAddress;
    private boolean closed;

    /**
     * @param devices the devices, in slot order
     * @param onClose told once when the bus closes (the platform forgets it)
     */
    public VirtioPciBus(VirtioGuest guest, GuestRam ram, InterruptSink interrupts, long mmioBase, int firstIrq,
            List<? extends VirtioDevice> devices, Consumer<VirtioPciBus> onClose) {
        /*V:020
         * The layout lguest 4.x used: a class-only host bridge at device 0, then one VirtioFunction per
         * device with its own interrupt line and a power-of-two BAR0, packed upwards from the start of the
         * device region.
         */
        this.guest = Objects.requireNonNull(guest, "guest");
        Objects.requireNonNull(ram, "ram");
        Objects.requireNonNull(interrupts, "interrupts");
        this.onClose = onClose == null ? b -> { } : onClose;
        if (devices.size() > MAX_DEVICES) {
            throw new IllegalArgumentException(devices.size() + " devices; a PCI bus holds " + MAX_DEVICES);
        }
        if (mmioBase < ram.size() || mmioBase % Lguest.PAGE_SIZE != 0) {
            throw new IllegalArgumentException(String.format(
                "the device region must start page-aligned at or past the end of RAM (%#x), not at %#x", ram.size(), mmioBase));
        }
        long end = mmioBase;
        for (VirtioDevice d : devices) {
            int size = VirtioFunction.barSize(Math.clamp(d.configSize(), 0, VirtioFunction.MAX_CONFIG_SIZE));
            end = align(end, size) + size;
        }
        if (end > GuestMachine.HOST_AREA_BASE) {
            throw new IllegalArgumentException(String.format(
                "the device region %#x-%#x runs into the host area at %#x", mmioBase, end, GuestMachine.HOST_AREA_BASE));
        }
        if (firstIrq < 1 || firstIrq + devices.size() > Lguest.LGUEST_IRQS) {
            throw new IllegalArgumentException("interrupts " + firstIrq + " to " + (firstIrq + devices.size() - 1)
                + " do not fit the guest's " + Lguest.LGUEST_IRQS + " (and 0 is the timer's)");
        }
        this.mmioBase = mmioBase;
        this.mmioEnd = end;
        List<VirtioFunction> built = new ArrayList<>();
        long bar = mmioBase;
        try {
            for (int i = 0; i < devices.size(); i++) {
                VirtioDevice d = devices.get(i);
                for (VirtioFunction f : built) {
                    if (f.name.equals(d.name())) {
                        throw new IllegalArgumentException("two devices named " + d.name());
                    }
                }
                bar = align(bar, VirtioFunction.barSize(Math.clamp(d.configSize(), 0, VirtioFunction.MAX_CONFIG_SIZE)));
                VirtioFunction f = new VirtioFunction(i + 1, firstIrq + i, bar, d, guest, ram, interrupts);
                built.add(f);
                bar += f.barSize;
            }
        } catch (RuntimeException e) {
            built.forEach(VirtioFunction::close);
            throw e;
        }
        this.functions = List.copyOf(built);
        Map<Long, Eventfd> addresses = new LinkedHashMap<>();
        for (VirtioFunction f : functions) {
            if (f.queueCount() > 0) {
                addresses.put(f.notifyAddress(), f.doorbell());
            }
        }
        this.notify = Collections.unmodifiableMap(addresses);
    }

    /**
     * Where a BAR of {@code size} bytes goes at or after {@code address}.
     * lguest packed them without aligning; but a BAR keeps only the bits
     * above its size, so a guest that writes back what it read after
     * probing would move an unaligned BAR onto its neighbour. Console,
     * disks and cards all take 128 bytes and the rng 64 comes after them,
     * so their addresses are lguest's all the same.
     */
    private static long align(long address, int size) {
        return (address + size - 1) & -(long) size;
    }

    public VirtioGuest guest() {
        return guest;
    }

    // ---- ports ----

    @Override
    public boolean ownsPort(int port) {
        return port >= CONFIG_ADDRESS && port < CONFIG_DATA + 4;
    }

    private static boolean validSize(int size) {
        return size == 1 || size == 2 || size == 4;
    }

    @Override
    public long ioRead(int port, int size) {
        if (!validSize(size)) {
            return 0xFFFF_FFFFL;
        }
        /*V:030
         * PCI configuration mechanism 1: 0xCF8 holds an address, 0xCFC reads the configuration space it
         * selects. Device 0 is the bridge; an empty slot reads all ones.
         */
        long ones = Le.mask(size);
        if (port >= CONFIG_ADDRESS && port < CONFIG_ADDRESS + 4) {
            synchronized (this) {
                return Le.extract(Integer.toUnsignedLong(configAddress), port - CONFIG_ADDRESS, size);
            }
        }
        if (port >= CONFIG_DATA && port < CONFIG_DATA + 4) {
            int address;
            synchronized (this) {
                address = configAddress;
            }
            int device = addressedDevice(address);
            int offset = (address & 0xFC) + (port - CONFIG_DATA);
            if (device == 0) {
                return bridgeRead(offset, size);
            }
            VirtioFunction f = function(device);
            return f == null ? ones : f.configRead(offset, size);
        }
        return ones;
    }

    @Override
    public boolean ioWrite(int port, int size, long value) {
        if (!validSize(size)) {
            return false;
        }
        if (port >= CONFIG_ADDRESS && port < CONFIG_ADDRESS + 4) {
            synchronized (this) {
                configAddress = (int) Le.insert(Integer.toUnsignedLong(configAddress), port - CONFIG_ADDRESS, size, value);
            }
            return true;
        }
        if (port >= CONFIG_DATA && port < CONFIG_DATA + 4) {
            int address;
            synchronized (this) {
                address = configAddress;
            }
            int device = addressedDevice(address);
            VirtioFunction f = function(device);
            // Nothing in the bridge is writable, and a write where no function answers is a bad one too (lguest: #GP).
            return f != null && f.configWrite((address & 0xFC) + (port - CONFIG_DATA), size, value);
        }
        return false;
    }

    /** The device the address register names on bus 0, function 0; -1 when none. */
    private static int addressedDevice(int address) {
        if ((address & ENABLE) == 0 || ((address >>> 16) & 0xFF) != 0 || ((address >>> 8) & 7) != 0) {
            return -1;
        }
        return (address >>> 11) & 0x1F;
    }

    private VirtioFunction function(int device) {
        return device >= 1 && device <= functions.size() ? functions.get(device - 1) : null;
    }

    /**
     * The host bridge: zeros but for its class (06, subclass 00). Vendor 0
     * keeps it out of Linux's device list; the class is what Linux's check
     * that mechanism #1 works looks for on bus 0.
     */
    private static long bridgeRead(int offset, int size) {
        long value = 0;
        for (int i = 0; i < size; i++) {
            int at = offset + i;
            int b = at >= VirtioFunction.CONFIG_SPACE ? 0xFF : at == 0x0B ? 0x06 : 0;
            value |= (long) b << (8 * i);
        }
        return value;
    }

    // ---- the device region ----

    @Override
    public long mmioBase() {
        return mmioBase;
    }

    @Override
    public long mmioEnd() {
        return mmioEnd;
    }

    @Override
    public boolean ownsMmio(long address) {
        return address >= mmioBase && address < mmioEnd;
    }

    private VirtioFunction functionAt(long address, int size) {
        if (!ownsMmio(address) || !(size == 1 || size == 2 || size == 4 || size == 8)) {
            return null;
        }
        for (VirtioFunction f : functions) {
            long offset = address - f.bar0;
            if (offset >= 0 && offset < f.barSize) {
                return offset + size <= f.barSize ? f : null;
            }
        }
        return null;
    }

    @Override
    public long mmioRead(long address, int size) {
        /*V:040
         * A register at a BAR, reached by the Launcher's emulated mov: the function whose BAR holds the
         * address answers.
         */
        VirtioFunction f = functionAt(address, size);
        if (f == null) {
            return Le.mask(Math.min(Math.max(size, 1), 8));
        }
        return f.barRead((int) (address - f.bar0), size);
    }

    @Override
    public boolean mmioWrite(long address, int size, long value) {
        VirtioFunction f = functionAt(address, size);
        if (f == null) {
            return false;
        }
        f.barWrite((int) (address - f.bar0), size, value);
        return true;
    }

    @Override
    public Map<Long, Eventfd> notifyAddresses() {
        return notify;
    }

    // ---- devices ----

    @Override
    public List<Slot> slots() {
        List<Slot> slots = new ArrayList<>();
        for (VirtioFunction f : functions) {
            slots.add(new Slot(f.slot, f.type, f.name, f.irq, f.bar0, f.isAttached(), f.status(), f.brokenReason()));
        }
        return slots;
    }

    @Override
    public List<Counters> counters() {
        List<Counters> counters = new ArrayList<>();
        for (VirtioFunction f : functions) {
            counters.add(f.counters());
        }
        return counters;
    }

    @Override
    public Map<DeviceFault, Long> faults(int slot) {
        for (VirtioFunction f : functions) {
            if (f.slot == slot) {
                return f.faults();
            }
        }
        return Map.of();
    }

    @Override
    public List<QueueDepth> queueDepths() {
        List<QueueDepth> depths = new ArrayList<>();
        for (VirtioFunction f : functions) {
            f.addQueueDepths(depths);
        }
        return depths;
    }

    /** Detaches a device service that is going away; its slots keep the guests' state. */
    @Override
    public void detach(VirtioDevice device) {
        vacate(device);
    }

    /** Detaches {@code device} from every slot it serves. @return the slots it left */
    List<VirtioFunction> vacate(VirtioDevice device) {
        List<VirtioFunction> vacated = new ArrayList<>();
        for (VirtioFunction f : functions) {
            if (f.device() == device) {
                f.detach();
                vacated.add(f);
            }
        }
        return vacated;
    }

    /** Attaches a device service to the slot of the same name, if that slot has none and it fits. */
    @Override
    public boolean attach(VirtioDevice device) {
        VirtioFunction f = function(device.name());
        return f != null && !f.isAttached() && f.attach(device);
    }

    /** The slot of the device called {@code name}, or null when the bus has none. */
    VirtioFunction function(String name) {
        return functions.stream().filter(f -> f.name.equals(name)).findFirst().orElse(null);
    }

    @Override
    public void close() {
        synchronized (this) {
            if (closed) {
                return;
            }
            closed = true;
        }
        functions.forEach(VirtioFunction::close);
        onClose.accept(this);
    }
}
