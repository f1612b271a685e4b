package org.lguest.itest;

import org.lguest.api.virtio.Virtio;
import org.lguest.api.virtio.VirtioDevice;
import org.osgi.framework.BundleActivator;
import org.osgi.framework.BundleContext;

/**
 * The activator of a third party's entropy device bundle, as a test writes it
 * on the spot ({@link Bundles#writeDevice}): it registers a {@code
 * counter-rng} that fills buffers with counting bytes, with no guest list,
 * so only configuration can give it to a guest.
 */
public final class CounterRngActivator implements BundleActivator {
    @Override
    public void start(BundleContext context) {
        context.registerService(VirtioDevice.class, new StandInDevice(Virtio.ID_ENTROPY, "counter-rng", 64), null);
    }

    @Override
    public void stop(BundleContext context) {
        // The framework takes the service away.
    }
}
