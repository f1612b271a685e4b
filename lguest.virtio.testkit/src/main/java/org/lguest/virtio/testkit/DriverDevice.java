package org.lguest.virtio.testkit;

import org.lguest.api.device.Eventfd;
import org.lguest.api.virtio.Virtio;

/** One virtio-pci function, driven through its BAR0 registers. */
public final class DriverDevice {
    private final GuestDriver driver;
    private final GuestDriver.Function function;
    private long accepted;

    DriverDevice(GuestDriver driver, GuestDriver.Function function) {
        this.driver = driver;
        this.function = function;
    }

    public GuestDriver.Function function() {
        return function;
    }

    public GuestDriver driver() {
        return driver;
    }

    public int irq() {
        return function.irq();
    }

    public long common(int offset, int size) {
        return driver.bus.mmioRead(function.bar0() + function.common() + offset, size);
    }

    public void common(int offset, int size, long value) {
        driver.bus.mmioWrite(function.bar0() + function.common() + offset, size, value);
    }

    public int status() {
        return (int) common(0x14, 1);
    }

    public void status(int status) {
        common(0x14, 1, status);
    }

    public boolean broken() {
        return (status() & Virtio.STATUS_DEVICE_NEEDS_RESET) != 0;
    }

    public void reset() {
        status(0);
    }

    public long deviceFeatures() {
        common(0x00, 4, 0);
        long low = common(0x04, 4);
        common(0x00, 4, 1);
        long high = common(0x04, 4);
        return low | high << 32;
    }

    public int numQueues() {
        return (int) common(0x12, 2);
    }

    /**
     * Resets the device and negotiates: accepts what it offers of {@code wanted}
     * (VERSION_1 always).
     *
     * @return whether the device kept FEATURES_OK
     */
    public boolean negotiate(long wanted) {
        reset();
        status(Virtio.STATUS_ACKNOWLEDGE);
        status(Virtio.STATUS_ACKNOWLEDGE | Virtio.STATUS_DRIVER);
        accepted = deviceFeatures() & (wanted | Virtio.bit(Virtio.F_VERSION_1));
        common(0x08, 4, 0);
        common(0x0C, 4, accepted & 0xFFFF_FFFFL);
        common(0x08, 4, 1);
        common(0x0C, 4, accepted >>> 32);
        status(Virtio.STATUS_ACKNOWLEDGE | Virtio.STATUS_DRIVER | Virtio.STATUS_FEATURES_OK);
        return (status() & Virtio.STATUS_FEATURES_OK) != 0;
    }

    public long accepted() {
        return accepted;
    }

    /** Sets up queue {@code index} with {@code size} entries (0: the device's maximum). */
    public DriverQueue queue(int index, int size) {
        common(0x16, 2, index);
        int max = (int) common(0x18, 2);
        if (max == 0) {
            throw new AssertionError("queue " + index + " is not available");
        }
        int n = size == 0 ? max : size;
        common(0x18, 2, n);
        long desc = driver.alloc(16L * n, 16);
        long avail = driver.alloc(6L + 2L * n, 2);
        long used = driver.alloc(6L + 8L * n, 4);
        common(0x20, 4, desc);
        common(0x24, 4, 0);
        common(0x28, 4, avail);
        common(0x2C, 4, 0);
        common(0x30, 4, used);
        common(0x34, 4, 0);
        int notifyOff = (int) common(0x1E, 2);
        common(0x1C, 2, 1);
        long notifyAddress = function.bar0() + function.notifyOffset() + (long) notifyOff * function.notifyMultiplier();
        return new DriverQueue(driver, index, n, desc, avail, used, notifyAddress,
            (accepted & Virtio.bit(Virtio.F_RING_EVENT_IDX)) != 0);
    }

    /** Resets the device and sets it up again on the same rings (the driver's indexes start over). */
    public void restart(long wanted, DriverQueue... queues) {
        if (!negotiate(wanted)) {
            throw new AssertionError("the device refused features " + Long.toHexString(wanted));
        }
        for (DriverQueue q : queues) {
            q.reinit();
            common(0x16, 2, q.index());
            common(0x18, 2, q.size());
            common(0x20, 4, q.descAddress());
            common(0x24, 4, 0);
            common(0x28, 4, q.availAddress());
            common(0x2C, 4, 0);
            common(0x30, 4, q.usedAddress());
            common(0x34, 4, 0);
            common(0x1C, 2, 1);
        }
        driverOk();
    }

    public void driverOk() {
        status(Virtio.STATUS_ACKNOWLEDGE | Virtio.STATUS_DRIVER | Virtio.STATUS_FEATURES_OK | Virtio.STATUS_DRIVER_OK);
    }

    /** Negotiates, sets up every queue at {@code size} (0: maximum) and sets DRIVER_OK. */
    public DriverQueue[] start(long wanted, int size) {
        if (!negotiate(wanted)) {
            throw new AssertionError("the device refused features " + Long.toHexString(wanted));
        }
        DriverQueue[] queues = new DriverQueue[numQueues()];
        for (int q = 0; q < queues.length; q++) {
            queues[q] = queue(q, size);
        }
        driverOk();
        return queues;
    }

    public long config(int offset, int size) {
        return driver.bus.mmioRead(function.bar0() + function.deviceConfig() + offset, size);
    }

    public void configWrite(int offset, int size, long value) {
        driver.bus.mmioWrite(function.bar0() + function.deviceConfig() + offset, size, value);
    }

    /** Reads (and so clears) the ISR status. */
    public int isr() {
        return (int) driver.bus.mmioRead(function.bar0() + function.isr(), 1);
    }

    public int configGeneration() {
        return (int) common(0x15, 1);
    }

    /** The eventfd the bus gives the Launcher for a queue's notification address. */
    public Eventfd eventfd(DriverQueue queue) {
        return driver.bus.notifyAddresses().get(queue.notifyAddress());
    }
}
