package org.lguest.api.virtio;

import java.util.List;
import java.util.Map;

import org.lguest.api.device.Eventfd;
import org.osgi.annotation.versioning.ProviderType;

/**
 * One guest's emulated PCI bus with its virtio devices, as lguest's last
 * Launcher presented them: configuration space through ports {@link
 * #CONFIG_ADDRESS} and {@link #CONFIG_DATA}, each device's registers in a
 * memory BAR in the device region above guest RAM. The Launcher hands it the
 * guest's port and MMIO accesses; everything else runs on device threads.
 * All methods are safe from any thread; a bad access is refused, never thrown.
 */
@ProviderType
public interface VirtioBus extends AutoCloseable {
    /** The PCI configuration address port (4 bytes from here). */
    int CONFIG_ADDRESS = 0xCF8;
    /** The PCI configuration data port (4 bytes from here). */
    int CONFIG_DATA = 0xCFC;

    /** Whether the bus answers I/O port {@code port}. */
    boolean ownsPort(int port);

    /** An IN of {@code size} (1, 2 or 4) bytes; all ones where nothing answers. */
    long ioRead(int port, int size);

    /** An OUT of {@code size} bytes; false when the bus does not own the port or refuses the access. */
    boolean ioWrite(int port, int size, long value);

    /** The first guest-physical address of the device region. */
    long mmioBase();

    /** The first address past the device region. */
    long mmioEnd();

    /** Whether {@code address} lies in the device region. */
    boolean ownsMmio(long address);

    /** A read of {@code size} (1, 2, 4 or 8) bytes in the device region; all ones outside any device. */
    long mmioRead(long address, int size);

    /** A write in the device region; false when no device register is there. */
    boolean mmioWrite(long address, int size, long value);

    /**
     * Each device's notify register (one for all its queues, the guest
     * writes the queue index) and the eventfd that wakes the device: attach
     * each with {@code LHREQ_EVENTFD}, and the Host signals it on a guest
     * store there. The eventfd does not say which queue, so the device looks
     * at all of them; a store the Launcher emulates through {@link #mmioWrite}
     * names its queue.
     */
    Map<Long, Eventfd> notifyAddresses();

    /** The functions on the bus, for listings. */
    List<Slot> slots();

    /** Each device's counters, in slot order; empty from a bus that keeps none. */
    default List<Counters> counters() {
        return List.of();
    }

    /**
     * How many times each kind of fault broke the device in {@code slot}
     * since the guest started; kinds that never happened are absent, and
     * the counts add up to that slot's {@link Counters#errors}. Empty from a
     * bus that keeps none, or for a slot that has no device.
     *
     * @since 1.2
     */
    default Map<DeviceFault, Long> faults(int slot) {
        return Map.of();
    }

    /**
     * Each enabled queue's depth now, in slot and queue order; empty from a bus that keeps none.
     *
     * @since 1.2
     */
    default List<QueueDepth> queueDepths() {
        return List.of();
    }

    /** Detaches every device and stops their threads. Idempotent. */
    @Override
    void close();

    /**
     * One device on the bus.
     *
     * @param slot the PCI device number
     * @param type the virtio device type
     * @param name the device's name
     * @param irq the interrupt it raises
     * @param bar0 where its registers lie
     * @param attached whether a device service serves it now
     * @param status the device status the driver set
     * @param broken why the device is broken, or null
     */
    record Slot(int slot, int type, String name, int irq, long bar0, boolean attached, int status, String broken) {
    }

    /**
     * What one device has done since the guest started; each only grows.
     *
     * @param slot the PCI device number
     * @param notifications rounds in which the device thread served one of its queues
     * @param chains descriptor chains taken from the guest
     * @param bytesRead bytes the chains offered the device (their readable parts)
     * @param bytesWritten bytes the device wrote back into chains
     * @param errors times the device was marked broken
     * @param busyNanos time the device thread spent serving its queues
     */
    record Counters(int slot, long notifications, long chains, long bytesRead, long bytesWritten, long errors,
            long busyNanos) {
    }

    /**
     * How full one queue is. The device thread moves these figures; a reader sees them as they were a moment
     * ago.
     *
     * @param slot the PCI device number
     * @param queue the queue's index in its device
     * @param size the ring's size the driver chose
     * @param waiting chains the driver made available that the device has not taken yet
     * @param inFlight chains the device took and has not yet given back
     * @since 1.2
     */
    record QueueDepth(int slot, int queue, int size, int waiting, int inFlight) {
    }
}
