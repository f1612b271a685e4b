package org.lguest.api.virtio;

import org.osgi.annotation.versioning.ProviderType;

/**
 * One split virtqueue over guest memory, served on the device's thread.
 * Every index, length and address the guest wrote is checked: a bad chain
 * marks the whole device broken, after which {@link #next()} answers null
 * until the guest resets the device.
 */
@ProviderType
public interface VirtQueue {

    int index();

    /** The queue size the driver chose; 0 when the queue is not in use. */
    int size();

    /** Whether the queue is running: set up by the driver, device live and not broken. */
    boolean isReady();

    /** The next available chain, or null when there is none (or the queue is not ready). */
    DescriptorChain next();

    /**
     * Returns a chain to the guest through the used ring, and interrupts
     * the guest if the driver wants to hear of it now.
     *
     * @param written bytes the device wrote into the chain's writable part (cut to its length)
     */
    void complete(DescriptorChain chain, int written);

    /** Interrupts the guest now if completed chains are waiting and the driver wants to hear of them. */
    void notifyGuest();
}
