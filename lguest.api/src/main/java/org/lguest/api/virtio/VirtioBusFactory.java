package org.lguest.api.virtio;

import java.util.Set;

import org.osgi.annotation.versioning.ProviderType;

/**
 * The virtio platform's service: builds a guest's bus from the {@link
 * VirtioDevice} services configured for that guest, and keeps the bus's
 * devices attached as device bundles come and go.
 */
@ProviderType
public interface VirtioBusFactory {

    /**
     * Builds the bus for a guest.
     *
     * @param guest who the devices serve
     * @param ram the guest's RAM
     * @param interrupts where the devices' interrupts go ({@code LHREQ_IRQ})
     * @param mmioBase where the device region starts: page-aligned, at or above the end of RAM
     * @param firstIrq the interrupt of the first device; the next ones count up
     * @throws IllegalArgumentException when the region or the interrupts do not fit
     */
    VirtioBus create(VirtioGuest guest, GuestRam ram, InterruptSink interrupts, long mmioBase, int firstIrq);

    /**
     * The names of the devices a guest called {@code guestName} would find on
     * a bus built now. A device service can be registered, and even held by
     * the platform, a moment before the platform has taken it in; whoever
     * configures devices for a launch waits on this instead.
     *
     * @since 1.1
     */
    Set<String> offeredTo(String guestName);

    /**
     * Device services refused a guest's slot of their name since the platform
     * started, because their shape differs from the slot's (each is also
     * logged with the reason, as a warning); 0 from a platform that keeps no count.
     *
     * @since 1.2
     */
    default long refusals() {
        return 0;
    }
}
