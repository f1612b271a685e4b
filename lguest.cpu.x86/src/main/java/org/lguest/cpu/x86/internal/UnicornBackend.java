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
import org.lguest.cpu.x86.internal.unicorn.Engine;
import org.lguest.cpu.x86.internal.unicorn.Unicorn;
import org.lguest.cpu.x86.internal.unicorn.UnicornException;
import org.osgi.service.component.annotations.Activate;
import org.osgi.service.component.annotations.Component;
import org.osgi.service.metatype.annotations.AttributeDefinition;
import org.osgi.service.metatype.annotations.Designate;
import org.osgi.service.metatype.annotations.ObjectClassDefinition;

/**
 * Guest CPUs on Unicorn. Activation binds libunicorn.so.2 and calibrates the
 * fix for unicorn issue #1883 and the flag that keeps kicks at block
 * boundaries; any of them failing stops the component with one line saying
 * why.
 * <p>
 * Each guest CPU's engine gets a translation cache of {@link
 * Config#code_cache_mib} (Unicorn's own default is 1 GiB). The cache is
 * reserved whole and backed by the host only as code is translated, so an
 * idle guest pays for the little it ran; a busy guest that fills it has
 * its code translated again, which costs time, never correctness.
 */
@Component(service = VcpuBackend.class, configurationPid = UnicornBackend.PID)
@Designate(ocd = UnicornBackend.Config.class)
public final class UnicornBackend implements VcpuBackend {
    /** A page table entry as the emulated MMU reads it: little-endian whatever the host's order. */
    private static final ValueLayout.OfInt PTE = JAVA_INT.withOrder(ByteOrder.LITTLE_ENDIAN);

    static final String PID = "org.lguest.cpu.x86";

    /** Configuration (PID {@value #PID}; {@code lguest:config set org.lguest.cpu.x86 code.cache.mib 64}). */
    @ObjectClassDefinition(name = "lguest Unicorn backend", description = "How guest CPUs run on Unicorn.")
    public @interface Config {
        @AttributeDefinition(name = "Translation cache per guest CPU (MiB)", description = "Address space each engine reserves for"
            + " translated code; only what is translated is backed by memory. Larger helps guests with much code (Linux);"
            + " a full cache is emptied and refilled.", min = "1", max = "4095")
        int code_cache_mib() default DEFAULT_CODE_CACHE_MIB;
    }

    /** Room for all our test guests' code many times over; a guest with much more code may want a larger one. */
    static final int DEFAULT_CODE_CACHE_MIB = 32;

    private static final int PAGE = 4096;
    private static final int PDE_PRESENT_WRITABLE_USER = 7;

    private final Unicorn unicorn;
    private final ContextLayout layout;
    private final BlockBoundaryStops stops;
    private final long codeCacheBytes;
    /** Per guest: the page table that maps the switcher pages of all its CPUs. */
    private final Map<HostArea, GuestSwitchers> guests = new WeakHashMap<>();

    @Activate
    public UnicornBackend(Config config) {
        this(Unicorn.load(), (long) config.code_cache_mib() << 20);
    }

    /** With the default configuration (for code that composes the backend without SCR). */
    public UnicornBackend() {
        this(Unicorn.load(), (long) DEFAULT_CODE_CACHE_MIB << 20);
    }

    UnicornBackend(Unicorn unicorn) {
        this(unicorn, (long) DEFAULT_CODE_CACHE_MIB << 20);
    }

    UnicornBackend(Unicorn unicorn, long codeCacheBytes) {
        if (codeCacheBytes < Engine.MIN_CODE_CACHE || codeCacheBytes > Engine.MAX_CODE_CACHE) {
            throw new IllegalArgumentException("code_cache_mib must be 1 to 4095, not " + (codeCacheBytes >> 20));
        }
        this.codeCacheBytes = codeCacheBytes;
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
            return new UnicornVcpu(unicorn, codeCacheBytes, layout, stops, machine, state, switcher, switchers.entry);
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
