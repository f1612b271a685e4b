package org.lguest.api.virtio;

import org.osgi.annotation.versioning.ConsumerType;

/**
 * A virtio device type and its configuration, registered as a service by a
 * device bundle. The platform puts it on the bus of every guest it is
 * configured for and {@link #attach attaches} it there: the returned
 * {@link DeviceSession} serves that one guest.
 * <p>
 * The service holds no guest state. Status, features, queue positions and
 * {@link DeviceContext#state()} belong to the guest's bus; when a device
 * service goes away the guest's slot stays (its notifications wait), and a
 * service with the same {@link #name()} and shape that comes back is
 * attached again and carries on where the old one stopped.
 */
@ConsumerType
public interface VirtioDevice {

    /**
     * Service property naming the guests that get this device: guest names
     * or numbers, {@code "*"} for every guest (also when the property is absent).
     */
    String GUESTS = "guests";

    /** The device type ({@link Virtio#ID_NET}, ...). */
    int type();

    /**
     * A name that is unique among the devices of one guest and stays the same
     * when the bundle is restarted (a configuration's pid serves).
     */
    String name();

    /** The device-specific feature bits it offers; the platform adds the transport's own. */
    long features();

    /** The largest size of each of its queues (powers of 2, at most {@link Virtio#MAX_QUEUE_SIZE}); the count is the number of queues. */
    int[] queueSizes();

    /** Bytes of device-specific configuration space (0 for none). */
    int configSize();

    /**
     * Puts the device on one guest's bus, or back on it after a restart.
     * Called before the guest's driver sees it, or with the guest paused.
     */
    DeviceSession attach(DeviceContext context);
}
