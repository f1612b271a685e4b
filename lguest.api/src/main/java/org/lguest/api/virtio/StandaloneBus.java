package org.lguest.api.virtio;

import org.osgi.annotation.versioning.ProviderType;

/**
 * A bus made outside any framework by a {@link StandaloneBusFactory}: the
 * caller plays the part of the service registry, taking a device off its
 * slot when its service would go away and putting one back when a service
 * arrives. The slot keeps everything the guest's side owns (status, features,
 * queue positions, {@link DeviceContext#state()}) across the gap, exactly as
 * when a device bundle stops and starts under a running guest.
 *
 * @since 1.2
 */
@ProviderType
public interface StandaloneBus extends VirtioBus {

    /**
     * Takes {@code device} off every slot it serves: its session is closed and
     * the slot's notifications wait for the next device. Nothing happens when
     * it serves none.
     */
    void detach(VirtioDevice device);

    /**
     * Puts {@code device} on the vacant slot of its name, which it must fit:
     * the same type, features, queue sizes and configuration size as the
     * device the slot was made for.
     *
     * @return false when there is no such slot, it is taken, the device does
     *         not fit, or its {@link VirtioDevice#attach} failed
     */
    boolean attach(VirtioDevice device);
}
