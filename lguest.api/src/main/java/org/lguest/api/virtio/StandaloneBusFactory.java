package org.lguest.api.virtio;

import java.util.List;

import org.osgi.annotation.versioning.ProviderType;

/**
 * Makes the platform's real bus for a test that runs without a framework,
 * with devices the test chooses and attaches itself. The virtio platform
 * names its implementation in {@code META-INF/services}, so a test on a plain
 * class path finds it with {@link java.util.ServiceLoader}; device bundles
 * never see it at run time, where {@link VirtioBusFactory} builds the buses.
 *
 * @since 1.2
 */
@ProviderType
public interface StandaloneBusFactory {

    /**
     * Builds a bus holding {@code devices} in slot order from slot 1.
     *
     * @param guest who the devices serve
     * @param ram the guest's RAM
     * @param interrupts where the devices' interrupts go
     * @param mmioBase where the device region starts: page-aligned, at or above the end of RAM
     * @param firstIrq the interrupt of the first device; the next ones count up
     * @param devices the devices, each with a name of its own
     * @throws IllegalArgumentException when the region or the interrupts do not fit, or two devices share a name
     */
    StandaloneBus create(VirtioGuest guest, GuestRam ram, InterruptSink interrupts, long mmioBase, int firstIrq,
            List<? extends VirtioDevice> devices);
}
