package org.lguest.api.virtio;

import org.osgi.annotation.versioning.ConsumerType;

/**
 * A device serving one guest. The platform calls {@link #activate}, {@link
 * #serve} and {@link #reset} on the device's own thread, or with that thread
 * stopped (a {@link DeviceContext#serveNow} serve runs on the caller's
 * thread while the device's own is idle), never two at once; {@link #readConfig} and {@link #writeConfig}
 * come from guest CPU threads. Anything the session throws marks the
 * device broken until the guest resets it.
 * <p>
 * A session lives from {@link VirtioDevice#attach} to {@link #close}: the
 * guest's slot outlives it. Anything the next session for the same slot
 * must find (after a bundle restart or a replacement) goes in {@link
 * DeviceContext#state()}, never in the service.
 * <p>
 * 1.2: {@link #readConfig} answers 0 and {@link #activate} does nothing unless overridden.
 */
@ConsumerType
public interface DeviceSession extends AutoCloseable {

    /**
     * Reads device configuration space.
     *
     * @param offset a byte offset; {@code offset + size} is at most {@link VirtioDevice#configSize()}
     * @param size 1, 2 or 4 bytes
     * @return the little-endian value of those bytes; 0 from a device without configuration space (the default)
     */
    default int readConfig(int offset, int size) {
        return 0;
    }

    /** The guest writes device configuration space; most devices ignore it. */
    default void writeConfig(int offset, int size, int value) {
    }

    /**
     * The driver set DRIVER_OK (or the device was attached again to a live
     * guest): the queues are set up and {@link #serve} calls follow.
     *
     * @param features the features the driver accepted
     */
    default void activate(long features) {
    }

    /**
     * Serves queue {@code queue}: the guest notified it, or the device asked
     * with {@link DeviceContext#wake}. Take chains with {@link VirtQueue#next()}
     * until it answers null or there is nothing more to do; the platform
     * interrupts the guest as each chain is completed, as the driver asked
     * (and once more after the round, for anything left).
     */
    void serve(int queue);

    /** The guest reset the device: forget everything since {@link #activate}. */
    void reset();

    /** The device leaves the guest: the guest ended, or the device's bundle stops. */
    @Override
    void close();
}
