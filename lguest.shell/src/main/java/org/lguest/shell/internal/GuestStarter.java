package org.lguest.shell.internal;

import java.io.OutputStream;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.atomic.AtomicInteger;

import org.lguest.api.guest.Guest;
import org.lguest.api.guest.GuestManager;
import org.lguest.api.guest.LaunchCommand;
import org.lguest.api.guest.LaunchException;
import org.osgi.framework.BundleContext;
import org.osgi.service.component.annotations.Activate;
import org.osgi.service.component.annotations.Component;
import org.osgi.service.component.annotations.Reference;
import org.osgi.service.cm.ConfigurationAdmin;

/**
 * Launches guests with the devices they ask for: the disks and network cards
 * become device configurations for the guest, the launch waits until they are
 * devices, and they are deleted when the guest ends.
 * <p>
 * The configurations name the guest by its name (the image), because a guest's
 * number is not known before the Launcher starts it. So a second guest of the
 * same image started while the first runs gets the same devices too.
 */
@Component(service = {GuestStarter.class, LaunchCommand.class})
public class GuestStarter implements LaunchCommand {
    /** How long a launch waits for its devices to appear. */
    static final Duration DEVICE_WAIT = Duration.ofSeconds(10);

    private final GuestManager launcher;
    private final ConfigurationAdmin configurations;
    private final BundleContext context;
    private final AtomicInteger launches = new AtomicInteger();

    @Activate
    public GuestStarter(@Reference GuestManager launcher, @Reference ConfigurationAdmin configurations,
            BundleContext context) {
        this.launcher = launcher;
        this.configurations = configurations;
        this.context = context;
    }

    GuestManager launcher() {
        return launcher;
    }

    /** Waits until the platform has a device of each type (virtio id to what it is called in an error). */
    void awaitDevices(Map<Integer, String> types) throws LaunchException {
        DeviceConfigurations.awaitTypes(context, DEVICE_WAIT, types);
    }

    /** lguest:launch's words for any client (the web page): the same parse and launch as the shell's. */
    @Override
    public Guest launch(List<String> words, OutputStream console) throws LaunchException {
        return launch(LaunchRequest.parse(words), console);
    }

    /** Boots the guest with its console on {@code console}; returns once it runs. */
    Guest launch(LaunchRequest request, OutputStream console) throws LaunchException {
        /*C:020
         * Disks and network cards asked for on the command line become Configuration Admin entries first, and
         * the launch waits until their devices are registered; only then is the Launcher's GuestManager
         * called.
         */
        if (!request.hasDevices()) {
            return launcher.launch(request.options(console));
        }
        // One at a time: the devices of a launch must not be taken up by another one of the same name.
        synchronized (this) {
            DeviceConfigurations devices = DeviceConfigurations.create(configurations, request.guestName(),
                "launch" + launches.incrementAndGet(), request);
            try {
                devices.await(context, DEVICE_WAIT);
                Guest guest = launcher.launch(request.options(console));
                // Whoever waits for this guest's end also waits for its devices to go.
                CompletionStage<Guest.Outcome> ended = guest.outcome().whenComplete((outcome, failure) -> devices.delete());
                return new EndsAfterCleanUp(guest, ended);
            } catch (LaunchException | RuntimeException e) {
                devices.delete();
                throw e;
            }
        }
    }

    /** A launched guest whose outcome completes once its launch's device configurations are deleted. */
    private record EndsAfterCleanUp(Guest guest, CompletionStage<Guest.Outcome> outcome) implements Guest {
        @Override
        public int id() {
            return guest.id();
        }

        @Override
        public String image() {
            return guest.image();
        }

        @Override
        public String name() {
            return guest.name();
        }

        @Override
        public State state() {
            return guest.state();
        }

        @Override
        public long exits() {
            return guest.exits();
        }

        @Override
        public Duration cpuTime() {
            return guest.cpuTime();
        }

        @Override
        public long register(String name) throws LaunchException {
            return guest.register(name);
        }

        @Override
        public void interrupt(int irq) throws LaunchException {
            guest.interrupt(irq);
        }

        @Override
        public void stop() {
            guest.stop();
        }

        @Override
        public Map<String, Long> exitsByKind() {
            return guest.exitsByKind();
        }

        @Override
        public org.lguest.api.device.GuestCounters hostCounters() {
            return guest.hostCounters();
        }

        @Override
        public long memoryBytes() {
            return guest.memoryBytes();
        }

        @Override
        public long residentBytes() {
            return guest.residentBytes();
        }

        @Override
        public java.util.List<String> consoleTail() {
            return guest.consoleTail();
        }
    }
}
