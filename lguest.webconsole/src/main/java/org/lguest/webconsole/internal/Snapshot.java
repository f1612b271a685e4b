package org.lguest.webconsole.internal;

import java.util.ArrayList;
import java.util.Collection;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

import org.lguest.api.device.GuestCounters;
import org.lguest.api.guest.Guest;
import org.lguest.api.guest.GuestManager;
import org.lguest.api.virtio.DeviceFault;
import org.lguest.api.virtio.VirtioBus;
import org.lguest.api.virtio.VirtioDevice;
import org.osgi.framework.BundleContext;
import org.osgi.framework.InvalidSyntaxException;
import org.osgi.framework.ServiceReference;

/**
 * What the page and /metrics show, read at once from the Launcher's guests
 * and the buses it registers for running guests. Nothing here is cached: each
 * request or scrape reads the live objects.
 */
record Snapshot(List<GuestRow> guests) {
    /** The property the Launcher puts a running guest's number in on its services. */
    static final String GUEST_ID = "lguest.guest.id";

    record GuestRow(Guest guest, GuestCounters host, List<VirtioBus.Slot> slots, List<VirtioBus.Counters> counters,
            List<VirtioBus.QueueDepth> queues, Map<Integer, Map<DeviceFault, Long>> faults, Map<String, String> bundles) {
        /** The counters of the device in {@code slot}, or null when the bus keeps none. */
        VirtioBus.Counters countersOf(VirtioBus.Slot slot) {
            for (VirtioBus.Counters c : counters) {
                if (c.slot() == slot.slot()) {
                    return c;
                }
            }
            return null;
        }

        /** How often each kind of fault broke the device in {@code slot}; empty when the bus keeps none. */
        Map<DeviceFault, Long> faultsOf(VirtioBus.Slot slot) {
            return faults.getOrDefault(slot.slot(), Map.of());
        }

        /** The depths of the queues of the device in {@code slot}. */
        List<VirtioBus.QueueDepth> queuesOf(VirtioBus.Slot slot) {
            return queues.stream().filter(q -> q.slot() == slot.slot()).toList();
        }

        /** The symbolic name of the bundle whose device service has this name, or "-". */
        String bundleOf(VirtioBus.Slot slot) {
            return bundles.getOrDefault(slot.name(), "-");
        }
    }

    static Snapshot read(BundleContext context, GuestManager manager) {
        if (manager == null) {
            return new Snapshot(List.of());
        }
        Map<String, String> bundles = deviceBundles(context);
        List<GuestRow> rows = new ArrayList<>();
        for (Guest guest : manager.guests()) {
            Bus bus = bus(context, guest.id());
            rows.add(new GuestRow(guest, guest.hostCounters(), bus.slots(), bus.counters(), bus.queues(),
                bus.faults(), bundles));
        }
        return new Snapshot(rows);
    }

    private record Bus(List<VirtioBus.Slot> slots, List<VirtioBus.Counters> counters,
            List<VirtioBus.QueueDepth> queues, Map<Integer, Map<DeviceFault, Long>> faults) {
    }

    private static Bus bus(BundleContext context, int id) {
        Collection<ServiceReference<VirtioBus>> found;
        try {
            found = context.getServiceReferences(VirtioBus.class, "(" + GUEST_ID + "=" + id + ")");
        } catch (InvalidSyntaxException e) {
            throw new IllegalStateException(e);
        }
        for (ServiceReference<VirtioBus> reference : found) {
            VirtioBus bus = context.getService(reference);
            if (bus != null) {
                try {
                    List<VirtioBus.Slot> slots = bus.slots();
                    Map<Integer, Map<DeviceFault, Long>> faults = new HashMap<>();
                    slots.forEach(slot -> faults.put(slot.slot(), bus.faults(slot.slot())));
                    return new Bus(slots, bus.counters(), bus.queueDepths(), faults);
                } finally {
                    context.ungetService(reference);
                }
            }
        }
        return new Bus(List.of(), List.of(), List.of(), Map.of());
    }

    /** Device name to the bundle that registers the device service of that name. */
    private static Map<String, String> deviceBundles(BundleContext context) {
        Map<String, String> names = new HashMap<>();
        Collection<ServiceReference<VirtioDevice>> found;
        try {
            found = context.getServiceReferences(VirtioDevice.class, null);
        } catch (InvalidSyntaxException e) {
            throw new IllegalStateException(e);
        }
        for (ServiceReference<VirtioDevice> reference : found) {
            VirtioDevice device = context.getService(reference);
            if (device != null) {
                try {
                    names.put(device.name(), reference.getBundle().getSymbolicName());
                } catch (RuntimeException e) {
                    // A device going away while we ask; it is simply not listed.
                } finally {
                    context.ungetService(reference);
                }
            }
        }
        return names;
    }
}
