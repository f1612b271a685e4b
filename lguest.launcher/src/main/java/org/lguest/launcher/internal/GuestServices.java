package org.lguest.launcher.internal;

import java.util.Dictionary;
import java.util.Hashtable;
import java.util.List;
import java.util.concurrent.SubmissionPublisher;

import org.lguest.api.virtio.VirtioBus;
import org.osgi.framework.BundleContext;
import org.osgi.framework.ServiceRegistration;

/**
 * What clients need of a running guest that {@code Guest} does not carry
 * (yet): its {@link VirtioBus}, for listing its devices, and the {@link
 * SubmissionPublisher} its virtio console reads typed bytes from. Both are
 * services with the guest's number in {@value #GUEST_ID} and its name in
 * {@value #GUEST_NAME}, registered while the guest runs.
 */
final class GuestServices {
    /** Service property: the guest's number. */
    static final String GUEST_ID = "lguest.guest.id";
    /** Service property: the guest's name (its image unless launched with one), as device configurations name it. */
    static final String GUEST_NAME = "lguest.guest.name";

    private GuestServices() {
    }

    /** Registers the guest's services and takes them away when it ends. */
    static void publish(BundleContext context, RunningGuest guest) {
        Dictionary<String, Object> properties = new Hashtable<>();
        properties.put(GUEST_ID, guest.id());
        properties.put(GUEST_NAME, guest.name());
        List<ServiceRegistration<?>> registrations = List.of(
            context.registerService(VirtioBus.class, guest.bus(), properties),
            context.registerService(SubmissionPublisher.class, guest.consoleInput(), properties));
        guest.outcome().whenComplete((outcome, failure) -> registrations.forEach(GuestServices::unregister));
    }

    private static void unregister(ServiceRegistration<?> registration) {
        try {
            registration.unregister();
        } catch (IllegalStateException e) {
            // Already gone: the Launcher's bundle stopped first.
        }
    }
}
