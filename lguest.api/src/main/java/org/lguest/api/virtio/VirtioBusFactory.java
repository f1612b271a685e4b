package org.lguest.api.virtio;

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
}
