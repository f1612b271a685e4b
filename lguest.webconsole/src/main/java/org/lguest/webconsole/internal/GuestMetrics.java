package org.lguest.webconsole.internal;

import java.util.function.Supplier;
import java.util.function.ToLongFunction;

import org.lguest.api.guest.Guest;
import org.lguest.api.virtio.Virtio;
import org.lguest.api.virtio.VirtioBus;

import io.prometheus.metrics.core.metrics.CounterWithCallback;
import io.prometheus.metrics.core.metrics.GaugeWithCallback;
import io.prometheus.metrics.model.registry.PrometheusRegistry;
import io.prometheus.metrics.model.snapshots.MetricSnapshots;

/**
 * The guests' and devices' figures as Prometheus metrics. Every metric is a
 * callback: a scrape reads the counters the Launcher and the bus already keep
 * (one {@link Snapshot} per metric family), so counting costs the hot paths
 * nothing beyond what they did before.
 */
final class GuestMetrics {
    private final PrometheusRegistry registry = new PrometheusRegistry();

    GuestMetrics(Supplier<Snapshot> snapshots) {
        CounterWithCallback.builder().name("lguest_guest_exits_total")
            .help("Times the guest left the CPU for the Host (all CPUs)").labelNames("guest", "image")
            .callback(cb -> snapshots.get().guests().forEach(row -> cb.call(row.guest().exits(),
                id(row.guest()), row.guest().image())))
            .register(registry);
        CounterWithCallback.builder().name("lguest_guest_launcher_exits_total")
            .help("Exits that reached the Launcher, by what they asked: notify, or trap N")
            .labelNames("guest", "image", "kind")
            .callback(cb -> snapshots.get().guests().forEach(row -> row.guest().exitsByKind().forEach((kind, n) ->
                cb.call(n, id(row.guest()), row.guest().image(), kind))))
            .register(registry);
        CounterWithCallback.builder().name("lguest_guest_cpu_seconds_total")
            .help("CPU time the guest's run threads have used").labelNames("guest", "image")
            .callback(cb -> snapshots.get().guests().forEach(row -> cb.call(row.guest().cpuTime().toNanos() / 1e9,
                id(row.guest()), row.guest().image())))
            .register(registry);
        GaugeWithCallback.builder().name("lguest_guest_memory_bytes").help("Guest RAM")
            .labelNames("guest", "image")
            .callback(cb -> snapshots.get().guests().forEach(row -> cb.call(row.guest().memoryBytes(),
                id(row.guest()), row.guest().image())))
            .register(registry);
        GaugeWithCallback.builder().name("lguest_guest_state")
            .help("1 for the state the guest is in (RUNNING, STOPPED, POWERED_OFF, RESTARTED, KILLED)")
            .labelNames("guest", "image", "state")
            .callback(cb -> snapshots.get().guests().forEach(row -> {
                for (Guest.State state : Guest.State.values()) {
                    cb.call(row.guest().state() == state ? 1 : 0, id(row.guest()), row.guest().image(), state.name());
                }
            }))
            .register(registry);
        GaugeWithCallback.builder().name("lguest_device_attached")
            .help("1 while a device service serves the slot").labelNames("guest", "slot", "type", "name")
            .callback(cb -> snapshots.get().guests().forEach(row -> row.slots().forEach(slot ->
                cb.call(slot.attached() ? 1 : 0, deviceLabels(row.guest(), slot)))))
            .register(registry);
        GaugeWithCallback.builder().name("lguest_device_broken")
            .help("1 when the device is marked broken").labelNames("guest", "slot", "type", "name")
            .callback(cb -> snapshots.get().guests().forEach(row -> row.slots().forEach(slot ->
                cb.call(slot.broken() == null ? 0 : 1, deviceLabels(row.guest(), slot)))))
            .register(registry);
        GaugeWithCallback.builder().name("lguest_device_status")
            .help("The device status byte the driver set").labelNames("guest", "slot", "type", "name")
            .callback(cb -> snapshots.get().guests().forEach(row -> row.slots().forEach(slot ->
                cb.call(slot.status(), deviceLabels(row.guest(), slot)))))
            .register(registry);
        deviceCounter(snapshots, "lguest_device_notifications_total",
            "Rounds in which the device thread served a queue", VirtioBus.Counters::notifications);
        deviceCounter(snapshots, "lguest_device_chains_total", "Descriptor chains taken from the guest",
            VirtioBus.Counters::chains);
        deviceCounter(snapshots, "lguest_device_read_bytes_total", "Bytes the chains offered the device",
            VirtioBus.Counters::bytesRead);
        deviceCounter(snapshots, "lguest_device_written_bytes_total", "Bytes the device wrote into chains",
            VirtioBus.Counters::bytesWritten);
        deviceCounter(snapshots, "lguest_device_errors_total", "Times the device was marked broken",
            VirtioBus.Counters::errors);
        CounterWithCallback.builder().name("lguest_device_busy_seconds_total")
            .help("Time the device thread spent serving queues").labelNames("guest", "slot", "type", "name")
            .callback(cb -> snapshots.get().guests().forEach(row -> row.slots().forEach(slot -> {
                VirtioBus.Counters c = row.countersOf(slot);
                if (c != null) {
                    cb.call(c.busyNanos() / 1e9, deviceLabels(row.guest(), slot));
                }
            })))
            .register(registry);
    }

    private void deviceCounter(Supplier<Snapshot> snapshots, String name, String help,
            ToLongFunction<VirtioBus.Counters> value) {
        CounterWithCallback.builder().name(name).help(help).labelNames("guest", "slot", "type", "name")
            .callback(cb -> snapshots.get().guests().forEach(row -> row.slots().forEach(slot -> {
                VirtioBus.Counters c = row.countersOf(slot);
                if (c != null) {
                    cb.call(value.applyAsLong(c), deviceLabels(row.guest(), slot));
                }
            })))
            .register(registry);
    }

    MetricSnapshots scrape() {
        return registry.scrape();
    }

    private static String id(Guest guest) {
        return Integer.toString(guest.id());
    }

    private static String[] deviceLabels(Guest guest, VirtioBus.Slot slot) {
        return new String[] {id(guest), Integer.toString(slot.slot()), Virtio.typeName(slot.type()), slot.name()};
    }
}
