package org.lguest.shell.internal;

import java.io.IOException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Dictionary;
import java.util.Hashtable;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

import org.lguest.api.guest.LaunchException;
import org.lguest.api.virtio.VirtioBusFactory;
import org.lguest.api.virtio.VirtioDevice;
import org.osgi.framework.BundleContext;
import org.osgi.framework.InvalidSyntaxException;
import org.osgi.framework.ServiceReference;
import org.osgi.service.cm.Configuration;
import org.osgi.service.cm.ConfigurationAdmin;

/**
 * The disks and network cards of one launch, as factory configurations of
 * the device bundles ({@value #BLOCK_PID}, {@value #NET_PID}) whose {@code
 * guests} name the guest. A guest's bus is built once, from the devices
 * present when it starts (there is no hot plug), so the launch waits until
 * every one is a service the virtio platform has taken up; the
 * configurations are deleted when the guest ends.
 */
final class DeviceConfigurations {
    static final String BLOCK_PID = "org.lguest.virtio.block";
    static final String NET_PID = "org.lguest.virtio.net";
    /** Any bundle may take the configuration: the device bundle, not us. */
    private static final String ANY_LOCATION = "?";
    private static final long POLL_MILLIS = 20;

    /** Each configuration and what it is, for messages. */
    private final Map<Configuration, String> configurations;
    /** The guest's name, which the devices' configurations name. */
    private final String guest;

    private DeviceConfigurations(Map<Configuration, String> configurations, String guest) {
        this.configurations = configurations;
        this.guest = guest;
    }

    /**
     * Creates the configurations for the guest named {@code guest}.
     *
     * @param tag distinguishes this launch's configurations from every other's
     */
    static DeviceConfigurations create(ConfigurationAdmin admin, String guest, String tag, LaunchRequest request)
            throws LaunchException {
        Map<Configuration, String> created = new LinkedHashMap<>();
        DeviceConfigurations devices = new DeviceConfigurations(created, guest);
        try {
            for (int i = 0; i < request.disks().size(); i++) {
                LaunchRequest.Disk disk = request.disks().get(i);
                Dictionary<String, Object> properties = common(guest, "disk" + i);
                properties.put("image", disk.file().toString());
                properties.put("read.only", disk.readOnly());
                created.put(configure(admin, BLOCK_PID, tag + "-disk" + i, properties),
                    "disk " + disk.file() + (disk.readOnly() ? " (read-only)" : ""));
            }
            for (int i = 0; i < request.switches().size(); i++) {
                Dictionary<String, Object> properties = common(guest, "net" + i);
                properties.put("backend", "switch");
                properties.put("switch.name", request.switches().get(i));
                created.put(configure(admin, NET_PID, tag + "-net" + i, properties),
                    "network card on switch " + request.switches().get(i));
            }
            return devices;
        } catch (IOException | RuntimeException e) {
            devices.delete();
            throw new LaunchException("cannot configure the guest's devices through Configuration Admin: " + e, e);
        }
    }

    private static Dictionary<String, Object> common(String guest, String name) {
        Dictionary<String, Object> properties = new Hashtable<>();
        properties.put("name", name);
        properties.put(VirtioDevice.GUESTS, new String[] {guest});
        return properties;
    }

    private static Configuration configure(ConfigurationAdmin admin, String factoryPid, String alias,
            Dictionary<String, Object> properties) throws IOException {
        Configuration configuration = admin.getFactoryConfiguration(factoryPid, alias, ANY_LOCATION);
        configuration.update(properties);
        return configuration;
    }

    /**
     * Waits until each configuration is a {@link VirtioDevice} service that the
     * bundle building buses uses, i.e. the next bus built has it.
     *
     * @throws LaunchException naming the devices that did not come, and where to look
     */
    void await(BundleContext context, Duration timeout) throws LaunchException {
        List<String> missing = awaitNoneMissing(timeout, () -> missing(context));
        if (!missing.isEmpty()) {
            throw new LaunchException("no device came up within " + timeout.toSeconds() + " s for: "
                + String.join("; ", missing) + ". Are lguest.virtio and its device bundles active ('lb lguest')?"
                + " A disk whose file cannot be opened says why in the log.");
        }
    }

    /** What is still missing, looked at again until nothing is or the time is up. */
    private interface Missing {
        List<String> now() throws LaunchException;
    }

    private static List<String> awaitNoneMissing(Duration timeout, Missing missing) throws LaunchException {
        long deadline = System.nanoTime() + timeout.toNanos();
        List<String> left = missing.now();
        while (!left.isEmpty() && System.nanoTime() < deadline) {
            try {
                Thread.sleep(POLL_MILLIS);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new LaunchException("interrupted while waiting for the guest's devices");
            }
            left = missing.now();
        }
        return left;
    }

    /*
     * A device counts once the platform offers it to the guest: the service
     * being registered, or even held by the platform, comes a moment before
     * the platform has taken it in, and a bus built in between lacks it.
     */
    private List<String> missing(BundleContext context) throws LaunchException {
        ServiceReference<VirtioBusFactory> reference = context.getServiceReference(VirtioBusFactory.class);
        VirtioBusFactory platform = reference == null ? null : context.getService(reference);
        try {
            Set<String> offered = platform == null ? Set.of() : platform.offeredTo(guest);
            List<String> missing = new ArrayList<>();
            for (Map.Entry<Configuration, String> entry : configurations.entrySet()) {
                Object name = entry.getKey().getProperties() == null ? null : entry.getKey().getProperties().get("name");
                if (!offered.contains(String.valueOf(name))) {
                    missing.add(entry.getValue() + " (configuration " + entry.getKey().getPid() + ")");
                }
            }
            return missing;
        } finally {
            if (platform != null) {
                context.ungetService(reference);
            }
        }
    }

    /**
     * Waits until the platform has a device of each type that every guest
     * gets (the console and the rng need no configuration, but their services
     * come up with their bundles, which may be after the shell's).
     *
     * @throws LaunchException naming the types that did not come
     */
    static void awaitTypes(BundleContext context, Duration timeout, Map<Integer, String> types) throws LaunchException {
        List<String> missing = awaitNoneMissing(timeout, () -> missingTypes(context, types));
        if (!missing.isEmpty()) {
            throw new LaunchException("no " + String.join(" or ", missing) + " device came up within " + timeout.toSeconds()
                + " s. Are lguest.virtio and its device bundles active ('lb lguest')?");
        }
    }

    private static List<String> missingTypes(BundleContext context, Map<Integer, String> types) throws LaunchException {
        ServiceReference<VirtioBusFactory> reference = context.getServiceReference(VirtioBusFactory.class);
        VirtioBusFactory platform = reference == null ? null : context.getService(reference);
        try {
            // Devices every guest gets are offered to any name; "" is nobody's.
            Set<String> offered = platform == null ? Set.of() : platform.offeredTo("");
            List<String> missing = new ArrayList<>();
            for (Map.Entry<Integer, String> type : types.entrySet()) {
                if (!offersType(context, offered, type.getKey())) {
                    missing.add(type.getValue());
                }
            }
            return missing;
        } finally {
            if (platform != null) {
                context.ungetService(reference);
            }
        }
    }

    /** Whether one of the {@code offered} device names is a device of {@code type}. */
    private static boolean offersType(BundleContext context, Set<String> offered, int type) {
        try {
            for (ServiceReference<VirtioDevice> reference : context.getServiceReferences(VirtioDevice.class, null)) {
                VirtioDevice device = context.getService(reference);
                if (device != null) {
                    try {
                        if (device.type() == type && offered.contains(device.name())) {
                            return true;
                        }
                    } finally {
                        context.ungetService(reference);
                    }
                }
            }
            return false;
        } catch (InvalidSyntaxException e) {
            throw new IllegalStateException(e); // no filter was given
        }
    }

    /** Deletes every configuration: their devices leave. Idempotent. */
    void delete() {
        for (Configuration configuration : configurations.keySet()) {
            try {
                configuration.delete();
            } catch (IOException | IllegalStateException e) {
                // Already deleted, or Configuration Admin went away and took it along.
            }
        }
    }
}
