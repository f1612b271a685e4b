package org.lguest.virtio.internal;

import java.util.List;

import org.lguest.api.virtio.GuestRam;
import org.lguest.api.virtio.InterruptSink;
import org.lguest.api.virtio.StandaloneBus;
import org.lguest.api.virtio.StandaloneBusFactory;
import org.lguest.api.virtio.VirtioDevice;
import org.lguest.api.virtio.VirtioGuest;

/**
 * The real bus for tests on a plain class path (the device kit finds this
 * through {@code META-INF/services}): the same {@link VirtioPciBus} the
 * platform builds, with the devices the caller names, attached and detached
 * by the caller instead of by service events. Stateless.
 */
public final class StandalonePlatform implements StandaloneBusFactory {

    @Override
    public StandaloneBus create(VirtioGuest guest, GuestRam ram, InterruptSink interrupts, long mmioBase, int firstIrq,
            List<? extends VirtioDevice> devices) {
        return new VirtioPciBus(guest, ram, interrupts, mmioBase, firstIrq, devices, null);
    }
}
