package org.lguest.launcher.internal;

import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ConcurrentSkipListMap;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Predicate;

import org.lguest.api.device.LguestDevice;
import org.lguest.api.guest.Guest;
import org.lguest.api.guest.GuestManager;
import org.lguest.api.guest.LaunchException;
import org.lguest.api.guest.LaunchOptions;
import org.lguest.api.virtio.VirtioBusFactory;
import org.osgi.framework.Bundle;
import org.osgi.framework.BundleContext;
import org.osgi.framework.FrameworkUtil;
import org.osgi.service.component.annotations.Activate;
import org.osgi.service.component.annotations.Component;
import org.osgi.service.component.annotations.Deactivate;
import org.osgi.service.component.annotations.Reference;
import org.osgi.service.component.annotations.ReferenceCardinality;
import org.osgi.service.component.annotations.ReferencePolicy;
import org.osgi.service.component.annotations.ReferencePolicyOption;
import org.osgi.service.metatype.annotations.AttributeDefinition;
import org.osgi.service.metatype.annotations.Designate;
import org.osgi.service.metatype.annotations.ObjectClassDefinition;

/**
 * The Launcher: lguest's {@code tools/lguest/lguest.c} as a service. It
 * boots images through the {@link LguestDevice} exactly as a Launcher
 * process drove {@code /dev/lguest}, puts each guest's virtio bus on it (the
 * devices configured for it when it starts), and keeps the guests it started.
 * <p>
 * The Host ({@code lguest.device}) and the virtio platform ({@code
 * lguest.virtio}) are optional, dynamic references so that losing one is
 * never silent: the guests that run on it end, each saying why on its
 * console and in its outcome ("lguest.virtio stopped"), and the Launcher
 * stays to list them. A guest's memory, CPU state and device slots live in
 * the service that went, so none of them can resume; a guest launched once
 * the bundle is back runs as before. Launches wait a moment for both to be there.
 */
@Component(service = GuestManager.class, configurationPid = "org.lguest.launcher")
@Designate(ocd = Launcher.Config.class)
public class Launcher implements GuestManager {

    @ObjectClassDefinition(name = "lguest Launcher", description = "How the Launcher boots guests.")
    public @interface Config {
        @AttributeDefinition(name = "Guest memory (MiB)", description = "RAM of a guest launched without a size", min = "1", max = "2048")
        int memory_mib() default LaunchOptions.DEFAULT_MEMORY_MIB;

        @AttributeDefinition(name = "Guests kept after they end", description = "Ended guests stay listed until this many have ended", min = "0")
        int ended_guests_kept() default 16;

        @AttributeDefinition(name = "Limit on all guests' RAM (MiB)", description = "A guest whose RAM, with that of the guests running, would pass this is refused; 0 for no limit beyond the host's", min = "0")
        int max_guest_memory_mib() default 0;

        @AttributeDefinition(name = "Overhead per guest (MiB)", description = "Memory a guest costs beyond its RAM (the Host's area, the engine's code cache), counted when admitting it", min = "0")
        int guest_overhead_mib() default 48;
    }

    /** How long a launch waits for the Host and the virtio platform, e.g. while the framework starts. */
    private static final long BIND_WAIT_MILLIS = 10_000;
    /** SCR's deactivation reasons (ComponentConstants) for a changed or deleted configuration. */
    private static final int CONFIGURATION_MODIFIED = 3;
    private static final int CONFIGURATION_DELETED = 4;

    /** Guards the two services below; launches wait on it for them. */
    private final Object services = new Object();
    // Under services: set and cleared by SCR's bind and unbind.
    private LguestDevice device;
    private VirtioBusFactory virtio;
    /** False only outside the framework, for guests without devices. */
    private final boolean devicesWanted;
    private final BundleContext context;
    private final ImageCatalog catalog;
    private final Config config;
    private final AtomicInteger ids = new AtomicInteger();
    private final Map<Integer, RunningGuest> guests = new ConcurrentSkipListMap<>();

    @Activate
    public Launcher(BundleContext context, Config config) {
        this(null, null, true, context, config);
    }

    /** Outside the framework. @param virtio the platform that builds each guest's bus; null for guests without devices */
    public Launcher(LguestDevice device, VirtioBusFactory virtio, BundleContext context, Config config) {
        this(device, virtio, virtio != null, context, config);
    }

    private Launcher(LguestDevice device, VirtioBusFactory virtio, boolean devicesWanted, BundleContext context,
            Config config) {
        this.devicesWanted = devicesWanted;
        this.device = device;
        this.virtio = virtio;
        this.context = context;
        this.config = config;
        this.catalog = new ImageCatalog(context);
        catalog.open();
    }

    @Reference(cardinality = ReferenceCardinality.OPTIONAL, policy = ReferencePolicy.DYNAMIC,
        policyOption = ReferencePolicyOption.GREEDY)
    void bindDevice(LguestDevice host) {
        synchronized (services) {
            device = host;
            services.notifyAll();
        }
    }

    void unbindDevice(LguestDevice host) {
        synchronized (services) {
            if (device == host) {
                device = null;
            }
        }
        endGuests(g -> g.runsOn(host), gone(context, host, "lguest.device"));
    }

    @Reference(cardinality = ReferenceCardinality.OPTIONAL, policy = ReferencePolicy.DYNAMIC,
        policyOption = ReferencePolicyOption.GREEDY)
    void bindVirtio(VirtioBusFactory platform) {
        synchronized (services) {
            virtio = platform;
            services.notifyAll();
        }
    }

    void unbindVirtio(VirtioBusFactory platform) {
        synchronized (services) {
            if (virtio == platform) {
                virtio = null;
            }
        }
        endGuests(g -> g.runsOn(platform), gone(context, platform, "lguest.virtio"));
    }

    @Deactivate
    void deactivate(int reason) {
        shutDown(reason == CONFIGURATION_MODIFIED || reason == CONFIGURATION_DELETED
            ? "the Launcher's configuration changed" : gone(context, this, "lguest.launcher"));
    }

    /** Outside the framework. */
    void deactivate() {
        shutDown("the Launcher stopped");
    }

    private void shutDown(String why) {
        endGuests(g -> true, why);
        catalog.close();
    }

    /**
     * Why a service's going ends guests: its bundle stopping, as a rule, or the whole framework.
     *
     * @param what the bundle that usually provides it, for when its own cannot be found
     */
    private static String gone(BundleContext context, Object service, String what) {
        Bundle framework = context == null ? null : context.getBundle(0);
        if (framework != null && framework.getState() == Bundle.STOPPING) {
            return "the OSGi framework is stopping";
        }
        Bundle bundle = FrameworkUtil.getBundle(service.getClass());
        if (bundle == null) {
            return what + " went away";
        }
        return bundle.getState() == Bundle.STOPPING || bundle.getState() == Bundle.RESOLVED
            ? bundle.getSymbolicName() + " stopped" : bundle.getSymbolicName() + "'s service went away";
    }

    /** Ends the running guests {@code which} selects, each saying {@code why}, and waits until they have. */
    private void endGuests(Predicate<RunningGuest> which, String why) {
        List<RunningGuest> ending = guests.values().stream()
            .filter(g -> g.state() == Guest.State.RUNNING && which.test(g)).toList();
        if (!ending.isEmpty()) {
            System.getLogger(Launcher.class.getName()).log(System.Logger.Level.WARNING, "guests "
                + ending.stream().map(g -> Integer.toString(g.id())).toList() + " end: " + why);
        }
        ending.forEach(g -> g.end(why));
        ending.forEach(RunningGuest::awaitEnd);
    }

    /** The Host and the platform for a launch; waits a moment for them (the framework may still be starting). */
    private Services awaitServices(String image) throws LaunchException {
        long deadline = System.nanoTime() + BIND_WAIT_MILLIS * 1_000_000;
        synchronized (services) {
            while (device == null || devicesWanted && virtio == null) {
                long left = (deadline - System.nanoTime()) / 1_000_000;
                if (left <= 0) {
                    throw new LaunchException("cannot boot " + image + ": " + (device == null
                        ? "no Host (is lguest.device active? try 'lb lguest')"
                        : "no virtio platform (is lguest.virtio active? try 'lb lguest')"));
                }
                try {
                    services.wait(left);
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                    throw new LaunchException("interrupted while waiting for the Host and the virtio platform");
                }
            }
            return new Services(device, virtio);
        }
    }

    /** What one launch runs on. @param virtio null for guests without devices */
    private record Services(LguestDevice device, VirtioBusFactory virtio) {
    }

    @Override
    public Guest launch(LaunchOptions options) throws LaunchException {
        Services on = awaitServices(options.image());
        int memory = options.memoryMiB() == LaunchOptions.DEFAULT_MEMORY_MIB ? config.memory_mib() : options.memoryMiB();
        RunningGuest guest;
        /*M:010
         * The Launcher's half begins: the image is looked up by name in the ImageCatalog (any bundle may
         * carry images), and the optional initrd is opened from its file.
         */
        // Headers first: a kernel or initrd that cannot fit is refused before any guest RAM exists.
        try (ImageSource kernelBytes = catalog.open(options.image());
                ImageSource initrd = options.initrd() == null ? null
                    : ImageSource.ofFile(options.initrd().toString(), options.initrd(), "initrd")) {
            long memoryBytes = (long) memory << 20;
            // Sizes before contents: a file larger than guest RAM cannot fit, however it is laid out.
            refuseLarger(kernelBytes, "kernel", memoryBytes);
            refuseLarger(initrd, "initrd", memoryBytes);
            BootPlan boot = BootPlan.check(KernelImage.parse(kernelBytes), initrd, memoryBytes, options.commandLine());
            /*M:050
             * Admission: the host must be able to back this guest's RAM as well as that of the guests already
             * running, or the launch is refused with the reason.
             */
            // Admission and registration together, so two launches at once cannot both take the last room.
            synchronized (guests) {
                Optional<String> refused = Admission.refusal(memoryBytes, (long) config.guest_overhead_mib() << 20,
                    guests.values().stream().filter(g -> g.state() == Guest.State.RUNNING)
                        .map(g -> new Admission.Running(g.memoryBytes(), g.residentBytes())).toList(),
                    config.max_guest_memory_mib() == 0 ? Admission.UNLIMITED : (long) config.max_guest_memory_mib() << 20,
                    Admission.HostMemory.read());
                if (refused.isPresent()) {
                    throw new LaunchException("cannot boot " + options.image() + ": " + refused.get());
                }
                guest = new RunningGuest(ids.incrementAndGet(), options.image(), options.name(), boot, options.console(),
                    on.device(), on.virtio());
                guests.put(guest.id(), guest);
            }
        }
        try {
            guest.start();
        } catch (LaunchException e) {
            guests.remove(guest.id());
            throw e;
        }
        if (guest.bus() != null) {
            GuestServices.publish(context, guest);
        }
        endIfGone(guest);
        forgetOldGuests();
        return guest;
    }

    /** A guest whose Host or platform went while it started ends as those running then did. */
    private void endIfGone(RunningGuest guest) {
        synchronized (services) {
            if (guest.runsOn(device) && (guest.bus() == null || guest.runsOn(virtio))) {
                return;
            }
        }
        guest.end("its Host or virtio platform went away while it started");
        guest.awaitEnd();
    }

    static void refuseLarger(ImageSource source, String what, long memoryBytes) throws LaunchException {
        if (source != null && source.size() > memoryBytes) {
            throw new LaunchException(String.format("cannot boot: the %s %s is %d MiB, larger than the %d MiB of guest"
                + " memory it would load into", what, source.name(), source.size() >> 20, memoryBytes >> 20));
        }
    }

    private void forgetOldGuests() {
        List<RunningGuest> ended = guests.values().stream().filter(g -> g.state() != Guest.State.RUNNING).toList();
        for (int i = 0; i < ended.size() - config.ended_guests_kept(); i++) {
            guests.remove(ended.get(i).id());
        }
    }

    @Override
    public List<Guest> guests() {
        return List.copyOf(guests.values());
    }

    @Override
    public Optional<Guest> guest(int id) {
        return Optional.ofNullable(guests.get(id));
    }

    @Override
    public List<String> images() {
        return catalog.names();
    }
}
