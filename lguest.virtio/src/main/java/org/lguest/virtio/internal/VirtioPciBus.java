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
import org.lguest.api.virtio.GuestRam;
import org.lguest.api.virtio.InterruptSink;
import org.lguest.api.virtio.VirtioBus;
import org.lguest.api.virtio.VirtioDevice;
import org.lguest.api.virtio.VirtioGuest;

/**
 * A guest's PCI bus, as lguest's last Launcher emulated it: configuration
 * mechanism #1 (the address register at 0xCF8, the data window at 0xCFC),
 * bus 0, function 0 of each device. Device 0 is a host bridge; the virtio
 * devices follow from device 1, each with a one-page memory BAR0 in the
 * device region ({@code mmioBase} + (n - 1) pages) and interrupt
 * {@code firstIrq} + (n - 1).
 */
public final class VirtioPciBus implements VirtioBus {
    /** Device numbers on bus 0: 5 bits, the host bridge takes the first. */
    static final int MAX_DEVICES = 31;
    private static final int ENABLE = 0x8000_0000;
    /** The host bridge's identity: Red Hat's generic PCI host bridge ids. */
    private static final int BRIDGE_VENDOR = 0x1B36;
    private static final int BRIDGE_DEVICE = 0x0008;

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
        long end = mmioBase + (long) devices.size() * VirtioFunction.BAR_SIZE;
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
        try {
            for (int i = 0; i < devices.size(); i++) {
                VirtioDevice d = devices.get(i);
                for (VirtioFunction f : built) {
                    if (f.name.equals(d.name())) {
                        throw new IllegalArgumentException("two devices named " + d.name());
                    }
                }
                built.add(new VirtioFunction(i + 1, firstIrq + i, mmioBase + (long) i * VirtioFunction.BAR_SIZE, d, guest,
                    ram, interrupts));
            }
        } catch (RuntimeException e) {
            built.forEach(VirtioFunction::close);
            throw e;
        }
        this.functions = List.copyOf(built);
        Map<Long, Eventfd> addresses = new LinkedHashMap<>();
        for (VirtioFunction f : functions) {
            for (int q = 0; q < f.queueCount(); q++) {
                addresses.put(f.notifyAddress(q), f.eventfd(q));
            }
        }
        this.notify = Collections.unmodifiableMap(addresses);
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
            if (f != null) {
                f.configWrite((address & 0xFC) + (port - CONFIG_DATA), size, value);
            }
            return device >= 0; // writes to the bridge or to nothing are ignored, as on hardware
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

    /** The host bridge: identity and class only (class 06, subclass 00). */
    private static long bridgeRead(int offset, int size) {
        long value = 0;
        for (int i = 0; i < size; i++) {
            int at = offset + i;
            int b = switch (at) {
                case 0x00 -> BRIDGE_VENDOR & 0xFF;
                case 0x01 -> BRIDGE_VENDOR >>> 8;
                case 0x02 -> BRIDGE_DEVICE & 0xFF;
                case 0x03 -> BRIDGE_DEVICE >>> 8;
                case 0x0B -> 0x06;
                default -> 0;
            };
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
        VirtioFunction f = functions.get((int) ((address - mmioBase) / VirtioFunction.BAR_SIZE));
        long offset = address - f.bar0;
        return offset + size <= VirtioFunction.BAR_SIZE ? f : null;
    }

    @Override
    public long mmioRead(long address, int size) {
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

    /** Detaches a device service that is going away; its slots keep the guests' state. */
    void detach(VirtioDevice device) {
        for (VirtioFunction f : functions) {
            if (f.device() == device) {
                f.detach();
            }
        }
    }

    /** Attaches a device service to the slot of the same name, if that slot has none. */
    boolean attach(VirtioDevice device) {
        for (VirtioFunction f : functions) {
            if (f.name.equals(device.name()) && !f.isAttached()) {
                return f.attach(device);
            }
        }
        return false;
    }

    /** The slot of a device, for tests. */
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
