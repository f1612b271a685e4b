package org.lguest.cpu.x86.internal;

import static java.lang.foreign.ValueLayout.JAVA_INT;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import java.util.HashMap;
import java.util.Map;
import java.util.WeakHashMap;

import org.lguest.api.cpu.GuestMachine;
import org.lguest.api.cpu.HostArea;
import org.lguest.api.cpu.Vcpu;
import org.lguest.api.cpu.VcpuBackend;
import org.lguest.api.cpu.VcpuException;
import org.lguest.api.cpu.VcpuState;
import org.lguest.cpu.x86.internal.unicorn.BlockBoundaryStops;
import org.lguest.cpu.x86.internal.unicorn.Unicorn;
import org.lguest.cpu.x86.internal.unicorn.UnicornException;
import org.osgi.service.component.annotations.Activate;
import org.osgi.service.component.annotations.Component;

/**
 * Guest CPUs on Unicorn. Activation binds libunicorn.so.2 and calibrates the
 * fix for unicorn issue #1883 and the flag that keeps kicks at block
 * boundaries; any of them failing stops the component with one line saying
 * why.
 */
@Component(service = VcpuBackend.class)
public final class UnicornBackend implements VcpuBackend {
    /** A page table entry as the emulated MMU reads it: little-endian whatever the host's order. */
    private static final ValueLayout.OfInt PTE = JAVA_INT.withOrder(ByteOrder.LITTLE_ENDIAN);
    private static final int PAGE = 4096;
    private static final int PDE_PRESENT_WRITABLE_USER = 7;

    private final Unicorn unicorn;
    private final ContextLayout layout;
    private final BlockBoundaryStops stops;
    /** Per guest: the page table that maps the switcher pages of all its CPUs. */
    private final Map<HostArea, GuestSwitchers> guests = new WeakHashMap<>();

    @Activate
    public UnicornBackend() {
        this(Unicorn.load());
    }

    UnicornBackend(Unicorn unicorn) {
        this.unicorn = unicorn;
        this.layout = ContextLayout.calibrate(unicorn);
        this.stops = BlockBoundaryStops.calibrate(unicorn);
    }

    @Override
    public String name() {
        return "unicorn";
    }

    /** "unicorn" and the version of the library in use. */
    @Override
    public String description() {
        return name() + " " + unicorn.version();
    }

    /** What calibration found; for diagnostics. */
    String describe() {
        return String.format("Unicorn %s, uc_context offsets: old_exception %d, error_code %d, exception_is_int %d; "
                + "exit-request flag at %#x", unicorn.version(), layout.oldException(), layout.errorCode(), layout.exceptionIsInt(),
                stops.flagOffset());
    }

    @Override
    public Vcpu create(GuestMachine machine, VcpuState state) throws VcpuException {
        try {
            /*S:010
             * A guest CPU on Unicorn: the switcher pages of this guest's host area are shared by its CPUs,
             * and each CPU gets its own engine over the Host's VcpuState, so a replacement backend carries on
             * from the same registers.
             */
            GuestSwitchers switchers;
            Switcher switcher;
            synchronized (guests) {
                switchers = guests.computeIfAbsent(machine.hostArea(), GuestSwitchers::new);
                switcher = switchers.forCpu(state.id());
            }
            return new UnicornVcpu(unicorn, layout, stops, machine, state, switcher, switchers.entry);
        } catch (UnicornException | IllegalArgumentException | IllegalStateException e) {
            throw new VcpuException("cannot create guest CPU " + state.id() + ": " + e.getMessage(), e);
        }
    }

    /**
     * One guest's switcher pages and the page table, in its host area, that
     * maps them (and nothing else) in the top 4 MiB; every CPU of the guest
     * shares that table, so one page-directory entry serves all shadows. A
     * CPU's pages are kept for the guest's life and reused when the CPU gets a
     * new engine: a freed page could still be in another engine's TLB.
     */
    private static final class GuestSwitchers {
        private final HostArea area;
        private final MemorySegment table;
        private final Map<Integer, Switcher> cpus = new HashMap<>();
        final int entry;

        GuestSwitchers(HostArea area) {
            this.area = area;
            long address = area.allocatePage();
            this.table = area.page(address);
            this.entry = (int) address | PDE_PRESENT_WRITABLE_USER;
        }

        Switcher forCpu(int cpu) {
            Switcher old = cpus.get(cpu);
            Switcher fresh = old == null ? Switcher.allocate(area) : new Switcher(area, old.code, old.tables, old.stack);
            for (int which = 0; which < Switcher.PAGES; which++) {
                long page = fresh.page(which);
                table.setAtIndex(PTE, (page - area.base()) / PAGE, (int) page | Switcher.pteFlags(which));
            }
            cpus.put(cpu, fresh);
            return fresh;
        }
    }
}
