package org.lguest.webconsole.internal;

import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.function.Supplier;
import java.util.function.ToLongFunction;

import org.lguest.api.abi.Lhcall;
import org.lguest.api.guest.Guest;
import org.lguest.api.virtio.Virtio;
import org.lguest.api.virtio.DeviceFault;
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
        hostMetrics(snapshots);
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
        CounterWithCallback.builder().name("lguest_device_errors_total")
            .help("Times the device was marked broken, by the fault that broke it (org.lguest.api.virtio.DeviceFault,"
                + " in lower case)")
            .labelNames("guest", "slot", "type", "name", "kind")
            .callback(cb -> snapshots.get().guests().forEach(row -> row.slots().forEach(slot -> {
                Map<DeviceFault, Long> byKind = row.faultsOf(slot);
                for (DeviceFault kind : DeviceFault.values()) {
                    cb.call(byKind.getOrDefault(kind, 0L), withLast(deviceLabels(row.guest(), slot), kindLabel(kind)));
                }
            })))
            .register(registry);
        queueGauge(snapshots, "lguest_device_queue_waiting",
            "Chains the driver made available that the device has not taken yet", VirtioBus.QueueDepth::waiting);
        queueGauge(snapshots, "lguest_device_queue_in_flight", "Chains the device took and has not given back yet",
            VirtioBus.QueueDepth::inFlight);
        queueGauge(snapshots, "lguest_device_queue_size", "The ring size the driver chose", VirtioBus.QueueDepth::size);
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

    /** The label of a fault kind: every kind is listed for every device, so a rate starts at zero. */
    static String kindLabel(DeviceFault kind) {
        return kind.name().toLowerCase(java.util.Locale.ROOT);
    }

    /** What the Host counted for each guest (Guest.hostCounters()). */
    private void hostMetrics(Supplier<Snapshot> snapshots) {
        GaugeWithCallback.builder().name("lguest_guest_host_counting")
            .help("1 while the Host counts for the guest (the Host core's countPerGuest setting)")
            .labelNames("guest", "image")
            .callback(cb -> snapshots.get().guests().forEach(row -> cb.call(row.host().counting() ? 1 : 0,
                id(row.guest()), row.guest().image())))
            .register(registry);
        CounterWithCallback.builder().name("lguest_guest_host_exits_total")
            .help("Times the guest left the CPU, by kind, as the Host handled them (inside the engine or not)")
            .labelNames("guest", "image", "kind")
            .callback(cb -> snapshots.get().guests().forEach(row -> new TreeMap<>(row.host().exits()).forEach(
                (kind, n) -> cb.call(n, id(row.guest()), row.guest().image(), kind))))
            .register(registry);
        CounterWithCallback.builder().name("lguest_guest_hypercalls_total")
            .help("Hypercalls done, by number and name (the ring's included)").labelNames("guest", "image", "call", "name")
            .callback(cb -> snapshots.get().guests().forEach(row -> new TreeMap<>(row.host().hypercalls()).forEach(
                (call, n) -> cb.call(n, id(row.guest()), row.guest().image(), Integer.toString(call),
                    java.util.Objects.requireNonNullElse(Lhcall.name(call), "unknown")))))
            .register(registry);
        CounterWithCallback.builder().name("lguest_guest_page_faults_total")
            .help("Page faults: filled by the Host (the guest never saw them) or reflected to the guest's handler")
            .labelNames("guest", "image", "outcome")
            .callback(cb -> snapshots.get().guests().forEach(row -> {
                cb.call(row.host().faultsFilled(), id(row.guest()), row.guest().image(), "filled");
                cb.call(row.host().faultsReflected(), id(row.guest()), row.guest().image(), "reflected");
            }))
            .register(registry);
        CounterWithCallback.builder().name("lguest_guest_interrupts_delivered_total")
            .help("Interrupts pushed onto the guest's stack for its handler").labelNames("guest", "image")
            .callback(cb -> snapshots.get().guests().forEach(row -> cb.call(row.host().interruptsDelivered(),
                id(row.guest()), row.guest().image())))
            .register(registry);
        CounterWithCallback.builder().name("lguest_guest_running_seconds_total")
            .help("Time the guest's CPUs ran guest code").labelNames("guest", "image")
            .callback(cb -> snapshots.get().guests().forEach(row -> cb.call(row.host().runningNanos() / 1e9,
                id(row.guest()), row.guest().image())))
            .register(registry);
        CounterWithCallback.builder().name("lguest_guest_halted_seconds_total")
            .help("Time the guest's CPUs slept halted, waiting for an interrupt").labelNames("guest", "image")
            .callback(cb -> snapshots.get().guests().forEach(row -> cb.call(row.host().haltedNanos() / 1e9,
                id(row.guest()), row.guest().image())))
            .register(registry);
    }

    private void queueGauge(Supplier<Snapshot> snapshots, String name, String help,
            ToLongFunction<VirtioBus.QueueDepth> value) {
        GaugeWithCallback.builder().name(name).help(help).labelNames("guest", "slot", "type", "name", "queue")
            .callback(cb -> snapshots.get().guests().forEach(row -> row.slots().forEach(slot -> {
                for (VirtioBus.QueueDepth q : row.queuesOf(slot)) {
                    cb.call(value.applyAsLong(q), withLast(deviceLabels(row.guest(), slot), Integer.toString(q.queue())));
                }
            })))
            .register(registry);
    }

    private static String[] withLast(String[] labels, String last) {
        String[] all = java.util.Arrays.copyOf(labels, labels.length + 1);
        all[labels.length] = last;
        return all;
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
