package org.lguest.virtio.internal;

import java.lang.System.Logger.Level;
import java.util.ArrayList;
import java.util.Collection;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.LongAdder;

import org.lguest.api.virtio.GuestRam;
import org.lguest.api.virtio.InterruptSink;
import org.lguest.api.virtio.Virtio;
import org.lguest.api.virtio.VirtioBus;
import org.lguest.api.virtio.VirtioBusFactory;
import org.lguest.api.virtio.VirtioDevice;
import org.lguest.api.virtio.VirtioGuest;
import org.osgi.service.component.annotations.Activate;
import org.osgi.service.component.annotations.Component;
import org.osgi.service.component.annotations.ConfigurationPolicy;
import org.osgi.service.component.annotations.Deactivate;
import org.osgi.service.component.annotations.Modified;
import org.osgi.service.component.annotations.Reference;
import org.osgi.service.component.annotations.ReferenceCardinality;
import org.osgi.service.component.annotations.ReferencePolicy;
import org.osgi.service.component.annotations.ReferencePolicyOption;
import org.osgi.service.metatype.annotations.AttributeDefinition;
import org.osgi.service.metatype.annotations.Designate;
import org.osgi.service.metatype.annotations.ObjectClassDefinition;

/**
 * The virtio platform: knows the {@link VirtioDevice} services, builds each
 * guest's bus from the ones configured for it, and keeps the buses' slots
 * attached as device services go and come back. The rules it follows are
 * those of the {@code org.lguest.api.virtio} package documentation; each is
 * one method here ({@link #offered}, {@link #BUS_ORDER}, {@link #fillVacated},
 * {@link #refuse}).
 */
@Component(service = VirtioBusFactory.class, configurationPid = VirtioPlatform.PID,
    configurationPolicy = ConfigurationPolicy.OPTIONAL)
@Designate(ocd = VirtioPlatform.Config.class)
public class VirtioPlatform implements VirtioBusFactory {
    static final String PID = "org.lguest.virtio";
    /** The devices every guest gets when nothing is configured: {@link Config#default_devices()}'s default. */
    static final Set<String> DEFAULT_DEVICES = Set.of("console", "rng");
    private static final System.Logger LOG = System.getLogger(VirtioPlatform.class.getName());

    @ObjectClassDefinition(name = "lguest virtio platform", description = "Which devices guests get.")
    public @interface Config {
        @AttributeDefinition(name = "Devices for every guest", description = "Names of the devices every guest gets"
            + " when their own configuration names no guests; any other device without a guest list goes to none")
        String[] default_devices() default {"console", "rng"};
    }

    /** Device order on the bus: console first, as lguest put it; then disks, network, entropy. */
    private static final List<Integer> TYPE_ORDER = List.of(Virtio.ID_CONSOLE, Virtio.ID_BLOCK, Virtio.ID_NET, Virtio.ID_ENTROPY);

    /** The order of slots on a bus: by {@link #TYPE_ORDER}, other types after them by number; then by name. */
    static final Comparator<VirtioDevice> BUS_ORDER = Comparator.comparingInt((VirtioDevice d) -> {
        int at = TYPE_ORDER.indexOf(d.type());
        return at < 0 ? TYPE_ORDER.size() : at;
    }).thenComparingInt(VirtioDevice::type).thenComparing(VirtioDevice::name);

    /**
     * A device service and what decides for it: its properties, and its rank among services of the same
     * name (highest {@code service.ranking} first, then lowest {@code service.id}).
     *
     * @param id the service id; outside a framework, the order of arrival
     */
    record Registered(VirtioDevice device, Map<String, Object> properties, int ranking, long id) {
        static final Comparator<Registered> RANK = Comparator.comparingInt(Registered::ranking).reversed()
            .thenComparingLong(Registered::id);
    }

    /** Guards {@link #registered} and {@link #buses}: attaching and detaching see one consistent picture. */
    private final Object lock = new Object();
    // Under lock.
    private final Map<VirtioDevice, Registered> registered = new LinkedHashMap<>();
    // Under lock.
    private final List<VirtioPciBus> buses = new ArrayList<>();
    /** Ids for services that come without one (outside a framework): past any framework's, in order of arrival. */
    private final AtomicLong arrivals = new AtomicLong(Long.MAX_VALUE / 2);
    private final LongAdder refusals = new LongAdder();
    /** Written by SCR's activate and modified, read by any thread building a bus. */
    private volatile Set<String> defaults = DEFAULT_DEVICES;

    @Activate
    @Modified
    void configure(Config config) {
        Set<String> names = new TreeSet<>();
        for (String name : config.default_devices()) {
            for (String part : name.split(",")) {
                if (!part.isBlank()) {
                    names.add(part.trim());
                }
            }
        }
        defaults = Set.copyOf(names);
    }

    @Reference(cardinality = ReferenceCardinality.MULTIPLE, policy = ReferencePolicy.DYNAMIC,
        policyOption = ReferencePolicyOption.GREEDY, updated = "updateDevice")
    void addDevice(VirtioDevice device, Map<String, Object> properties) {
        synchronized (lock) {
            Registered r = register(device, properties);
            for (VirtioPciBus bus : buses) {
                if (offered(r, bus.guest().name(), Integer.toString(bus.guest().id()))) {
                    attachArrival(bus, r);
                }
            }
        }
    }

    /** New properties (say, another guest list or ranking) count for buses built from now on. */
    void updateDevice(VirtioDevice device, Map<String, Object> properties) {
        synchronized (lock) {
            if (registered.containsKey(device)) {
                register(device, properties);
            }
        }
    }

    void removeDevice(VirtioDevice device) {
        synchronized (lock) {
            registered.remove(device);
            for (VirtioPciBus bus : buses) {
                for (VirtioFunction vacated : bus.vacate(device)) {
                    fillVacated(bus, vacated);
                }
            }
        }
    }

    private Registered register(VirtioDevice device, Map<String, Object> properties) {
        Object ranking = properties.get("service.ranking");
        Object id = properties.get("service.id");
        Registered r = new Registered(device, Map.copyOf(properties), ranking instanceof Integer i ? i : 0,
            id instanceof Long l ? l : arrivals.incrementAndGet());
        registered.put(device, r);
        return r;
    }

    /**
     * A device that arrives takes a vacant slot of its name (it never displaces the one serving a
     * slot: that one stays until it goes).
     */
    private void attachArrival(VirtioPciBus bus, Registered r) {
        VirtioFunction slot = bus.function(r.device().name());
        if (slot == null || slot.isAttached()) {
            return;
        }
        String misfit = slot.misfit(r.device());
        if (misfit != null) {
            refuse(bus, r, misfit);
        } else if (slot.attach(r.device())) {
            LOG.log(Level.INFO, () -> "guest " + bus.guest().id() + ": " + r.device().name() + " attached again");
        }
    }

    /**
     * A slot whose device left takes the best other registered device of its name that the guest is
     * offered and that fits: highest {@code service.ranking}, then lowest {@code service.id}.
     */
    private void fillVacated(VirtioPciBus bus, VirtioFunction slot) {
        VirtioGuest guest = bus.guest();
        List<Registered> candidates = registered.values().stream()
            .filter(r -> r.device().name().equals(slot.name) && offered(r, guest.name(), Integer.toString(guest.id())))
            .sorted(Registered.RANK).toList();
        for (Registered r : candidates) {
            String misfit = slot.misfit(r.device());
            if (misfit != null) {
                refuse(bus, r, misfit);
            } else if (slot.attach(r.device())) {
                LOG.log(Level.INFO, () -> "guest " + guest.id() + ": " + slot.name + " now served by service " + r.id());
                return;
            }
        }
    }

    /** A device that cannot serve a slot of its name: said at the default level, and counted. */
    private void refuse(VirtioPciBus bus, Registered r, String why) {
        refusals.increment();
        LOG.log(Level.WARNING, "guest " + bus.guest().id() + ": device " + r.device().name() + " (service " + r.id()
            + ", " + r.device().getClass().getName() + ") cannot serve the slot of that name: " + why
            + "; the slot's shape is fixed while the guest runs");
    }

    /** Devices refused a slot since the platform started. */
    @Override
    public long refusals() {
        return refusals.sum();
    }

    @Deactivate
    void deactivate() {
        List<VirtioPciBus> open;
        synchronized (lock) {
            open = List.copyOf(buses);
        }
        open.forEach(VirtioPciBus::close);
    }

    @Override
    public VirtioBus create(VirtioGuest guest, GuestRam ram, InterruptSink interrupts, long mmioBase, int firstIrq) {
        /*V:010
         * A bus for one guest: of the registered VirtioDevice services, those configured for this guest (by
         * name, by id, or for every guest) or named as platform defaults, the best ranked of each name.
         */
        synchronized (lock) {
            List<VirtioDevice> chosen = new ArrayList<>(choose(guest.name(), Integer.toString(guest.id())).values()
                .stream().map(Registered::device).toList());
            chosen.sort(BUS_ORDER);
            if (chosen.size() > VirtioPciBus.MAX_DEVICES) {
                LOG.log(Level.WARNING, "guest " + guest.id() + ": " + chosen.size() + " devices; the bus takes the first "
                    + VirtioPciBus.MAX_DEVICES);
                chosen = chosen.subList(0, VirtioPciBus.MAX_DEVICES);
            }
            VirtioPciBus bus = new VirtioPciBus(guest, ram, interrupts, mmioBase, firstIrq, chosen, this::forget);
            buses.add(bus);
            return bus;
        }
    }

    private void forget(VirtioPciBus bus) {
        synchronized (lock) {
            buses.remove(bus);
        }
    }

    /** For each device name the guest is offered, the service that serves it: the best ranked. */
    private Map<String, Registered> choose(String guestName, String guestId) {
        Map<String, Registered> chosen = new LinkedHashMap<>();
        registered.values().stream().filter(r -> offered(r, guestName, guestId)).sorted(Registered.RANK)
            .forEach(r -> chosen.putIfAbsent(r.device().name(), r));
        return chosen;
    }

    @Override
    public Set<String> offeredTo(String guestName) {
        synchronized (lock) {
            return new TreeSet<>(choose(guestName, null).keySet());
        }
    }

    /**
     * Whether a device goes to a guest: its {@link VirtioDevice#GUESTS} name the guest (or {@code *}); a
     * device without that property goes to every guest only when its name is one of the platform's
     * configured defaults, and to none otherwise.
     */
    private boolean offered(Registered r, String guestName, String guestId) {
        return appliesTo(r.properties(), guestName, guestId, defaults.contains(r.device().name()));
    }

    /** As {@link #offered}, from the properties alone; {@code byDefault} answers for a device without a guest list. */
    static boolean appliesTo(Map<String, Object> properties, String guestName, String guestId, boolean byDefault) {
        Object value = properties.get(VirtioDevice.GUESTS);
        if (value == null) {
            return byDefault;
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
