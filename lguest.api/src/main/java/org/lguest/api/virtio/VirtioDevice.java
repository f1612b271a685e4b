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
 * service with the same name and shape is attached in its place and carries
 * on where the old one stopped. The rules, in full, are in the package
 * documentation.
 * <p>
 * 1.2: {@link #features()}, {@link #configSize()} answer 0 unless overridden.
 */
@ConsumerType
public interface VirtioDevice {

    /**
     * Service property naming the guests that get this device: guest names
     * or numbers, {@code "*"} for every guest. A device without it goes to
     * no guest, unless the platform's configuration names it as a default
     * for every guest (as it does for {@code console} and {@code rng}).
     */
    String GUESTS = "guests";

    /** The device type ({@link Virtio#ID_NET}, ...). */
    int type();

    /**
     * A name that is unique among the devices of one guest and stays the same
     * when the bundle is restarted (a configuration's pid serves).
     */
    String name();

    /** The device-specific feature bits it offers (none by default); the platform adds the transport's own. */
    default long features() {
        return 0;
    }

    /** The largest size of each of its queues (powers of 2, at most {@link Virtio#MAX_QUEUE_SIZE}); the count is the number of queues. */
    int[] queueSizes();

    /** Bytes of device-specific configuration space (0, the default, for none). */
    default int configSize() {
        return 0;
    }

    /**
     * Puts the device on one guest's bus, or back on it after a restart.
     * Called before the guest's driver sees it, or with the guest paused.
     */
    DeviceSession attach(DeviceContext context);
}
