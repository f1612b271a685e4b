package org.lguest.launcher.internal;

import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ConcurrentSkipListMap;
import java.util.concurrent.atomic.AtomicInteger;

import org.lguest.api.device.LguestDevice;
import org.lguest.api.guest.Guest;
import org.lguest.api.guest.GuestManager;
import org.lguest.api.guest.LaunchException;
import org.lguest.api.guest.LaunchOptions;
import org.lguest.api.virtio.VirtioBusFactory;
import org.osgi.framework.BundleContext;
import org.osgi.service.component.annotations.Activate;
import org.osgi.service.component.annotations.Component;
import org.osgi.service.component.annotations.Deactivate;
import org.osgi.service.component.annotations.Reference;
import org.osgi.service.metatype.annotations.AttributeDefinition;
import org.osgi.service.metatype.annotations.Designate;
import org.osgi.service.metatype.annotations.ObjectClassDefinition;

/**
 * The Launcher: lguest's {@code tools/lguest/lguest.c} as a service. It
 * boots images through the {@link LguestDevice} exactly as a Launcher
 * process drove {@code /dev/lguest}, puts each guest's virtio bus on it (the
 * devices configured for it when it starts), and keeps the guests it started.
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

    private final LguestDevice device;
    private final VirtioBusFactory virtio;
    private final BundleContext context;
    private final ImageCatalog catalog;
    private final Config config;
    private final AtomicInteger ids = new AtomicInteger();
    private final Map<Integer, RunningGuest> guests = new ConcurrentSkipListMap<>();

    /** @param virtio the platform that builds each guest's bus; null (outside the framework) for guests without devices */
    @Activate
    public Launcher(@Reference LguestDevice device, @Reference VirtioBusFactory virtio, BundleContext context,
            Config config) {
        this.device = device;
        this.virtio = virtio;
        this.context = context;
        this.config = config;
        this.catalog = new ImageCatalog(context);
        catalog.open();
    }

    @Deactivate
    void deactivate() {
        guests.values().forEach(RunningGuest::stop);
        catalog.close();
    }

    @Override
    public Guest launch(LaunchOptions options) throws LaunchException {
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
                guest = new RunningGuest(ids.incrementAndGet(), options.image(), boot, options.console(), device, virtio);
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
        forgetOldGuests();
        return guest;
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
