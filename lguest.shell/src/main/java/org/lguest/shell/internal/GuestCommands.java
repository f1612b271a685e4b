package org.lguest.shell.internal;

import java.io.FileDescriptor;
import java.io.FileOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.util.Collection;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Objects;
import java.util.TreeMap;
import java.util.concurrent.SubmissionPublisher;
import java.util.function.Function;

import org.apache.felix.service.command.CommandSession;
import org.apache.felix.service.command.Descriptor;
import org.lguest.api.abi.Lhcall;
import org.lguest.api.abi.PtRegs;
import org.lguest.api.device.GuestCounters;
import org.lguest.api.guest.Guest;
import org.lguest.api.guest.GuestManager;
import org.lguest.api.guest.LaunchException;
import org.lguest.api.virtio.DeviceFault;
import org.lguest.api.virtio.Virtio;
import org.lguest.api.virtio.VirtioBus;
import org.osgi.framework.BundleContext;
import org.osgi.framework.InvalidSyntaxException;
import org.osgi.framework.ServiceReference;
import org.osgi.service.component.annotations.Activate;
import org.osgi.service.component.annotations.Component;
import org.osgi.service.component.annotations.Reference;
import org.osgi.service.component.annotations.ReferenceCardinality;
import org.osgi.service.component.annotations.ReferencePolicy;

/**
 * The {@code lguest:} Gogo commands: a thin layer over the Launcher's
 * {@link GuestManager}, as the Launcher's command line was over lguest.
 */
@Component(service = GuestCommands.class, property = {
    "osgi.command.scope=lguest",
    "osgi.command.function=launch",
    "osgi.command.function=list",
    "osgi.command.function=stop",
    "osgi.command.function=regs",
    "osgi.command.function=irq",
    "osgi.command.function=images",
    "osgi.command.function=devices",
    "osgi.command.function=stats",
    "osgi.command.function=console",
    "osgi.command.function=attach",
    "osgi.command.function=demo"
})
public class GuestCommands {
    /** The variable Gogo's JLine shell keeps a session's terminal in. */
    static final String SESSION_TERMINAL = ".terminal";
    /** Guest consoles write to the process's own standard output, not a command's short-lived stream. */
    static final OutputStream CONSOLE = new FileOutputStream(FileDescriptor.out);
    /**
     * The property the Launcher puts the guest's number in on the services it
     * registers for a running guest (its {@link VirtioBus} and the {@link
     * SubmissionPublisher} of its console input).
     */
    static final String GUEST_ID = "lguest.guest.id";

    @Reference(cardinality = ReferenceCardinality.OPTIONAL, policy = ReferencePolicy.DYNAMIC)
    private volatile GuestManager launcher;

    @Reference(cardinality = ReferenceCardinality.OPTIONAL, policy = ReferencePolicy.DYNAMIC)
    private volatile GuestStarter starter;

    private BundleContext context;

    @Activate
    void activate(BundleContext context) {
        this.context = context;
    }

    @Descriptor("boot a guest with its devices; its console output goes to this terminal (lguest:attach ID to type at"
        + " it). Arguments: " + LaunchRequest.SYNTAX + ". IMAGE is a bundled image (lguest:images), a vmlinux (ELF32"
        + " i386) or a bzImage; --initrd loads FILE at the top of RAM; --append gives the kernel command line (quote it;"
        + " default: the image name); --name gives the guest a name of its own (default: the image's), which device"
        + " configurations select guests by, so two guests of one image can have a disk each; --memory defaults to 128 MiB (untouched RAM costs nothing); --disk FILE:ro or"
        + " --disk-ro FILE for a read-only disk; --net NAME puts a card on the in-JVM switch NAME")
    public String launch(@Descriptor("IMAGE and options") String[] arguments) throws LaunchException {
        /*C:010
         * The journey starts at the shell. The command only parses its words into a LaunchRequest; the launch
         * itself is GuestStarter's, which './lguest run' reaches the same way from CommandLine.
         */
        LaunchRequest request = LaunchRequest.parse(List.of(arguments));
        Guest guest = starter().launch(request, CONSOLE);
        return "guest " + guest.id() + " started: " + guest.image()
            + (guest.name().equals(guest.image()) ? "" : " as " + guest.name());
    }

    @Descriptor("list the guests this runtime runs and those that ended lately: id, name, image, state, exits, CPU"
        + " time, and for an ended guest why")
    public String list() {
        GuestManager manager = launcher;
        if (manager == null) {
            return "no Launcher is running: guests running: none";
        }
        List<Guest> guests = manager.guests();
        if (guests.isEmpty()) {
            return "guests running: none";
        }
        StringBuilder table = new StringBuilder(String.format("%-4s %-16s %-24s %-12s %12s %12s  %s%n",
            "ID", "NAME", "IMAGE", "STATE", "EXITS", "CPU-MS", "ENDED"));
        for (Guest guest : guests) {
            table.append(String.format("%-4d %-16s %-24s %-12s %12d %12d  %s%n", guest.id(), guest.name(), guest.image(),
                guest.state(), guest.exits(), guest.cpuTime().toMillis(), ended(guest)));
        }
        return table.toString().stripTrailing();
    }

    /** Why a guest ended, or nothing while it runs. */
    static String ended(Guest guest) {
        var outcome = guest.outcome().toCompletableFuture();
        return outcome.isDone() && !outcome.isCompletedExceptionally() ? "ended: " + outcome.join().reason() : "";
    }

    @Descriptor("list a running guest's virtio devices: PCI slot, type, name, irq, BAR0, attached, status, why broken")
    public String devices(@Descriptor("the guest's id (see lguest:list)") int id) throws LaunchException {
        List<VirtioBus.Slot> slots = withGuestService(VirtioBus.class, id, VirtioBus::slots);
        if (slots.isEmpty()) {
            return "guest " + id + " has no virtio devices";
        }
        StringBuilder table = new StringBuilder(String.format("%-4s %-8s %-12s %4s %-10s %-8s %-6s %s%n",
            "SLOT", "TYPE", "NAME", "IRQ", "BAR0", "ATTACHED", "STATUS", "BROKEN"));
        for (VirtioBus.Slot slot : slots) {
            table.append(String.format("%-4d %-8s %-12s %4d 0x%08x %-8s 0x%02x   %s%n", slot.slot(),
                Virtio.typeName(slot.type()), slot.name(), slot.irq(), slot.bar0(), slot.attached() ? "yes" : "no",
                slot.status(), slot.broken() == null ? "-" : slot.broken()));
        }
        return table.toString().stripTrailing();
    }

    @Descriptor("a guest's figures, as /metrics gives them under ./lguest --web: state, exits, CPU time, memory, the"
        + " Host's counters (time running and halted, interrupts, page faults, exits by kind, hypercalls by number),"
        + " and per device attached, status, broken, counters, errors by kind and queue depths"
        + " (qN=waiting/in flight/size)")
    public String stats(@Descriptor("the guest's id (see lguest:list)") int id) throws LaunchException {
        Guest guest = guest(id);
        StringBuilder text = new StringBuilder(String.format(
            "guest %d (%s)%nstate       %s%nexits       %d%ncpu-ms      %d%nmemory-mib  %d%n", guest.id(), guest.image(),
            guest.state(), guest.exits(), guest.cpuTime().toMillis(), guest.memoryBytes() >> 20));
        guest.exitsByKind().forEach((kind, n) -> text.append(String.format("exits %-6s %d%n", kind, n)));
        hostCounters(text, guest.hostCounters());
        List<VirtioBus.QueueDepth> queues = guest.state() == Guest.State.RUNNING
            ? withGuestService(VirtioBus.class, id, VirtioBus::queueDepths) : List.of();
        List<VirtioBus.Slot> slots = guest.state() == Guest.State.RUNNING
            ? withGuestService(VirtioBus.class, id, VirtioBus::slots) : List.of();
        Map<Integer, Map<DeviceFault, Long>> faults = guest.state() == Guest.State.RUNNING
            ? withGuestService(VirtioBus.class, id, bus -> faultsBySlot(bus, slots)) : Map.of();
        List<VirtioBus.Counters> counters = guest.state() == Guest.State.RUNNING
            ? withGuestService(VirtioBus.class, id, VirtioBus::counters) : List.of();
        for (VirtioBus.Slot slot : slots) {
            text.append(String.format("device %d %-8s %-10s attached=%s status=0x%02x broken=%s", slot.slot(),
                Virtio.typeName(slot.type()), slot.name(), slot.attached() ? "yes" : "no", slot.status(),
                slot.broken() == null ? "-" : slot.broken()));
            for (VirtioBus.Counters c : counters) {
                if (c.slot() == slot.slot()) {
                    text.append(String.format(" notifications=%d chains=%d bytes-in=%d bytes-out=%d errors=%d busy-ms=%d",
                        c.notifications(), c.chains(), c.bytesRead(), c.bytesWritten(), c.errors(),
                        c.busyNanos() / 1_000_000));
                }
            }
            faults.getOrDefault(slot.slot(), Map.of()).forEach((kind, n) -> text.append(" errors-").append(kind.name().toLowerCase(Locale.ROOT)).append('=').append(n));
            for (VirtioBus.QueueDepth q : queues) {
                if (q.slot() == slot.slot()) {
                    text.append(String.format(" q%d=%d/%d/%d", q.queue(), q.waiting(), q.inFlight(), q.size()));
                }
            }
            text.append(System.lineSeparator());
        }
        return text.toString().stripTrailing();
    }

    private static Map<Integer, Map<DeviceFault, Long>> faultsBySlot(VirtioBus bus, List<VirtioBus.Slot> slots) {
        Map<Integer, Map<DeviceFault, Long>> faults = new HashMap<>();
        slots.forEach(slot -> faults.put(slot.slot(), bus.faults(slot.slot())));
        return faults;
    }

    /** The Host's counters for the guest, one figure a line (lguest:stats). */
    private static void hostCounters(StringBuilder text, GuestCounters host) {
        if (!host.counting()) {
            text.append(String.format("host        not counting%n"));
            return;
        }
        text.append(String.format("running-ms  %d%nhalted-ms   %d%ninterrupts  %d%nfaults filled %d%nfaults reflected %d%n",
            host.runningNanos() / 1_000_000, host.haltedNanos() / 1_000_000, host.interruptsDelivered(),
            host.faultsFilled(), host.faultsReflected()));
        new TreeMap<>(host.exits()).forEach((kind, n) -> text.append(String.format("host-exits %s %d%n", kind, n)));
        new TreeMap<>(host.hypercalls()).forEach((call, n) -> text.append(String.format("hypercall %d %s %d%n", call,
            Objects.requireNonNullElse(Lhcall.name(call), "unknown"), n)));
    }

    @Descriptor("type a line at a running guest's virtio console")
    public String console(@Descriptor("the guest's id (see lguest:list)") int id,
            @Descriptor("the text; a newline is added") String[] words) throws LaunchException {
        byte[] line = (String.join(" ", words) + "\n").getBytes(StandardCharsets.UTF_8);
        try (GuestConsoleInput input = GuestConsoleInput.find(context, id)) {
            if (!input.send(line)) {
                throw new LaunchException("guest " + id + "'s console took nothing: it has ended or reads no input");
            }
        }
        return line.length + " bytes sent to guest " + id + "'s console";
    }

    @Descriptor("connect this terminal to a running guest's virtio console: keys go to the guest as typed, its output"
        + " shows as it comes; " + ConsoleLink.LEAVE_KEY_NAME + " returns to the prompt and the guest keeps running")
    public String attach(CommandSession session, @Descriptor("the guest's id (see lguest:list)") int id)
            throws LaunchException, IOException {
        Guest guest = guest(id);
        RawTerminal terminal;
        try {
            terminal = RawTerminal.of(session.get(SESSION_TERMINAL));
        } catch (NoClassDefFoundError e) {
            terminal = null;
        }
        if (terminal == null) {
            throw new LaunchException("lguest:attach needs an interactive terminal (this session has none);"
                + " lguest:console " + id + " TEXT types a line instead");
        }
        ConsoleLink.End end;
        try (GuestConsoleInput input = GuestConsoleInput.find(context, id); RawTerminal raw = terminal) {
            raw.say("lguest: attached to guest " + id + " (" + guest.image() + "); " + ConsoleLink.LEAVE_KEY_NAME
                + " returns to the prompt");
            end = ConsoleLink.pump(raw.keys(), input, () -> guest.state() == Guest.State.RUNNING);
        }
        return switch (end) {
            case LEFT -> "detached from guest " + id + "; it keeps running";
            case INPUT_ENDED -> "the terminal closed; guest " + id + " keeps running";
            case GUEST_ENDED -> "guest " + id + " ended: " + guest.outcome().toCompletableFuture().join().reason();
        };
    }

    @Descriptor("run the demo: demo and demo-peer on the in-JVM switch 'demo', demo with a scratch disk; waits for it")
    public String demo() throws LaunchException {
        int status = new DemoScenario(starter(), CONSOLE, System.err).run();
        if (status != 0) {
            throw new LaunchException("the demo failed: see the lines above");
        }
        return "the demo powered off";
    }

    @Descriptor("stop a guest and release everything it holds")
    public String stop(@Descriptor("the guest's id (see lguest:list)") int id) throws LaunchException {
        Guest guest = guest(id);
        guest.stop();
        return "guest " + id + " stopped";
    }

    @Descriptor("show the registers of a guest's CPU 0, read with LHREQ_GETREG")
    public String regs(@Descriptor("the guest's id (see lguest:list)") int id) throws LaunchException {
        Guest guest = guest(id);
        // A stopped guest's registers would be stale: fail as the other commands do for a guest that has ended.
        if (guest.state() != Guest.State.RUNNING) {
            throw new LaunchException("guest " + id + " has ended (" + guest.state().name().toLowerCase(java.util.Locale.ROOT)
                + "): " + guest.outcome().toCompletableFuture().join().reason());
        }
        StringBuilder text = new StringBuilder();
        for (long selector = PtRegs.BX; selector <= PtRegs.SS; selector += 4) {
            if (selector == PtRegs.ORIG_AX) {
                continue;
            }
            String name = PtRegs.name(selector);
            text.append(String.format("%-5s %08x%n", name, guest.register(name)));
        }
        return text.toString().stripTrailing();
    }

    @Descriptor("raise an interrupt in a guest with LHREQ_IRQ")
    public String irq(@Descriptor("the guest's id (see lguest:list)") int id,
            @Descriptor("the irq: 0 to 31 (vector 32 + irq)") int irq) throws LaunchException {
        guest(id).interrupt(irq);
        return "irq " + irq + " sent to guest " + id;
    }

    @Descriptor("list the guest images the installed bundles ship")
    public List<String> images() throws LaunchException {
        return manager().images();
    }

    private GuestManager manager() throws LaunchException {
        GuestManager manager = launcher;
        if (manager == null) {
            throw new LaunchException("no Launcher is running: is the lguest.launcher bundle active? (try 'lb lguest')");
        }
        return manager;
    }

    private GuestStarter starter() throws LaunchException {
        GuestStarter current = starter;
        if (current == null) {
            throw new LaunchException("guests cannot be launched: the Launcher or Configuration Admin is not running"
                + " (try 'lb lguest' and 'lb configadmin')");
        }
        return current;
    }

    private Guest guest(int id) throws LaunchException {
        return manager().guest(id).orElseThrow(() -> new LaunchException("no guest " + id + ": see lguest:list"));
    }

    /** Applies {@code use} to the service the Launcher registered for running guest {@code id}. */
    private <S, R> R withGuestService(Class<S> type, int id, Function<S, R> use) throws LaunchException {
        Collection<ServiceReference<S>> found;
        try {
            found = context.getServiceReferences(type, "(" + GUEST_ID + "=" + id + ")");
        } catch (InvalidSyntaxException e) {
            throw new IllegalStateException(e);
        }
        for (ServiceReference<S> reference : found) {
            S service = context.getService(reference);
            if (service != null) {
                try {
                    return use.apply(service);
                } finally {
                    context.ungetService(reference);
                }
            }
        }
        throw new LaunchException("guest " + id + " has no virtio bus: it is not running (see lguest:list),"
            + " or the runtime has no virtio platform (try 'lb virtio')");
    }
}
