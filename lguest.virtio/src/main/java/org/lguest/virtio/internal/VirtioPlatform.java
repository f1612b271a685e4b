package org.lguest.virtio.internal;

import java.lang.System.Logger.Level;
import java.util.ArrayList;
import java.util.Collection;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;

import org.lguest.api.virtio.GuestRam;
import org.lguest.api.virtio.InterruptSink;
import org.lguest.api.virtio.Virtio;
import org.lguest.api.virtio.VirtioBus;
import org.lguest.api.virtio.VirtioBusFactory;
import org.lguest.api.virtio.VirtioDevice;
import org.lguest.api.virtio.VirtioGuest;
import org.osgi.service.component.annotations.Component;
import org.osgi.service.component.annotations.Deactivate;
import org.osgi.service.component.annotations.Reference;
import org.osgi.service.component.annotations.ReferenceCardinality;
import org.osgi.service.component.annotations.ReferencePolicy;
import org.osgi.service.component.annotations.ReferencePolicyOption;

/**
 * The virtio platform: knows the {@link VirtioDevice} services, builds each
 * guest's bus from the ones configured for it, and keeps the buses' slots
 * attached as device services go and come back (a restarted device bundle
 * finds its guests' slots by device name).
 */
@Component(service = VirtioBusFactory.class)
public class VirtioPlatform implements VirtioBusFactory {
    private static final System.Logger LOG = System.getLogger(VirtioPlatform.class.getName());

    /** Device order on the bus: console first, as lguest put it; then disks, network, entropy. */
    private static final List<Integer> TYPE_ORDER = List.of(Virtio.ID_CONSOLE, Virtio.ID_BLOCK, Virtio.ID_NET, Virtio.ID_ENTROPY);

    private final Map<VirtioDevice, Map<String, Object>> devices = new ConcurrentHashMap<>();
    private final Set<VirtioPciBus> buses = ConcurrentHashMap.newKeySet();
    private final List<VirtioDevice> arrival = new CopyOnWriteArrayList<>();

    @Reference(cardinality = ReferenceCardinality.MULTIPLE, policy = ReferencePolicy.DYNAMIC,
        policyOption = ReferencePolicyOption.GREEDY)
    void addDevice(VirtioDevice device, Map<String, Object> properties) {
        devices.put(device, Map.copyOf(properties));
        arrival.add(device);
        for (VirtioPciBus bus : buses) {
            if (appliesTo(properties, bus.guest()) && bus.attach(device)) {
                LOG.log(Level.INFO, () -> "guest " + bus.guest().id() + ": " + device.name() + " attached again");
            }
        }
    }

    void removeDevice(VirtioDevice device) {
        devices.remove(device);
        arrival.remove(device);
        for (VirtioPciBus bus : buses) {
            bus.detach(device);
        }
    }

    @Deactivate
    void deactivate() {
        List.copyOf(buses).forEach(VirtioPciBus::close);
    }

    @Override
    public VirtioBus create(VirtioGuest guest, GuestRam ram, InterruptSink interrupts, long mmioBase, int firstIrq) {
        /*V:010
         * A bus for one guest: of the registered VirtioDevice services, those whose configuration names this
         * guest or every guest, each once.
         */
        List<VirtioDevice> chosen = new ArrayList<>();
        Set<String> names = new java.util.HashSet<>();
        for (VirtioDevice d : arrival) {
            Map<String, Object> properties = devices.get(d);
            if (properties == null || !appliesTo(properties, guest)) {
                continue;
            }
            if (!names.add(d.name())) {
                LOG.log(Level.WARNING, "guest " + guest.id() + ": two devices are named " + d.name() + "; the second is left out");
                continue;
            }
            chosen.add(d);
        }
        chosen.sort(Comparator.comparingInt((VirtioDevice d) -> {
            int at = TYPE_ORDER.indexOf(d.type());
            return at < 0 ? TYPE_ORDER.size() : at;
        }).thenComparing(VirtioDevice::name));
        if (chosen.size() > VirtioPciBus.MAX_DEVICES) {
            LOG.log(Level.WARNING, "guest " + guest.id() + ": " + chosen.size() + " devices; the bus takes the first "
                + VirtioPciBus.MAX_DEVICES);
            chosen = chosen.subList(0, VirtioPciBus.MAX_DEVICES);
        }
        VirtioPciBus bus = new VirtioPciBus(guest, ram, interrupts, mmioBase, firstIrq, chosen, buses::remove);
        buses.add(bus);
        return bus;
    }

    @Override
    public Set<String> offeredTo(String guestName) {
        Set<String> names = new java.util.TreeSet<>();
        for (VirtioDevice d : arrival) {
            Map<String, Object> properties = devices.get(d);
            if (properties != null && appliesTo(properties, guestName, null)) {
                names.add(d.name());
            }
        }
        return names;
    }

    /** Whether a device with these service properties belongs on {@code guest}'s bus ({@link VirtioDevice#GUESTS}). */
    static boolean appliesTo(Map<String, Object> properties, VirtioGuest guest) {
        return appliesTo(properties, guest.name(), Integer.toString(guest.id()));
    }

    /** As above, for a guest known by its name and, once it runs, its id (null before). */
    private static boolean appliesTo(Map<String, Object> properties, String guestName, String guestId) {
        Object value = properties.get(VirtioDevice.GUESTS);
        if (value == null) {
            return true;
        }
        Collection<?> names = value instanceof Object[] array ? List.of(array)
            : value instanceof Collection<?> c ? c : List.of(value);
        for (Object name : names) {
            for (String part : String.valueOf(name).split(",")) {
                String n = part.trim();
                if (n.equals("*") || n.equals(guestName) || n.equals(guestId)) {
                    return true;
                }
            }
        }
        return false;
    }
}
