package org.lguest.shell.internal;

import java.io.FileDescriptor;
import java.io.FileOutputStream;
import java.io.OutputStream;
import java.util.List;

import org.apache.felix.service.command.Descriptor;
import org.apache.felix.service.command.Parameter;
import org.lguest.api.abi.PtRegs;
import org.lguest.api.guest.Guest;
import org.lguest.api.guest.GuestManager;
import org.lguest.api.guest.LaunchException;
import org.lguest.api.guest.LaunchOptions;
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
    "osgi.command.function=images"
})
public class GuestCommands {
    /** Guest consoles write to the process's own standard output, not a command's short-lived stream. */
    private static final OutputStream CONSOLE = new FileOutputStream(FileDescriptor.out);

    @Reference(cardinality = ReferenceCardinality.OPTIONAL, policy = ReferencePolicy.DYNAMIC)
    private volatile GuestManager launcher;

    @Descriptor("boot a guest; its console goes to this terminal")
    public String launch(
            @Descriptor("guest RAM in MiB") @Parameter(names = {"-m", "--memory"}, absentValue = "0") int memoryMiB,
            @Descriptor("a bundled image name (see lguest:images) or the path of an ELF32 i386 file") String image)
            throws LaunchException {
        int memory = memoryMiB == 0 ? LaunchOptions.DEFAULT_MEMORY_MIB : memoryMiB;
        Guest guest = manager().launch(new LaunchOptions(image, memory, CONSOLE));
        return "guest " + guest.id() + " started: " + guest.image();
    }

    @Descriptor("list the guests this runtime runs: id, image, state, exits, CPU time")
    public String list() {
        GuestManager manager = launcher;
        if (manager == null) {
            return "no Launcher is running: guests running: none";
        }
        List<Guest> guests = manager.guests();
        if (guests.isEmpty()) {
            return "guests running: none";
        }
        StringBuilder table = new StringBuilder(String.format("%-4s %-24s %-12s %12s %12s%n",
            "ID", "IMAGE", "STATE", "EXITS", "CPU-MS"));
        for (Guest guest : guests) {
            table.append(String.format("%-4d %-24s %-12s %12d %12d%n", guest.id(), guest.image(),
                guest.state(), guest.exits(), guest.cpuTime().toMillis()));
        }
        return table.toString().stripTrailing();
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
            @Descriptor("the irq: 0 to 223 (vector 32 + irq)") int irq) throws LaunchException {
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

    private Guest guest(int id) throws LaunchException {
        return manager().guest(id).orElseThrow(() -> new LaunchException("no guest " + id + ": see lguest:list"));
    }
}
