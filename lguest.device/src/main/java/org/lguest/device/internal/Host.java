package org.lguest.device.internal;

import java.lang.System.Logger.Level;
import java.time.Clock;
import java.util.List;
import java.util.Objects;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ScheduledThreadPoolExecutor;
import java.util.concurrent.ThreadFactory;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.locks.ReentrantLock;

import org.lguest.api.cpu.VcpuBackend;
import org.lguest.api.device.LauncherTask;
import org.lguest.api.device.LguestDevice;
import org.lguest.api.device.LguestFile;
import org.lguest.api.paging.PageTableManager;

/*H:000
 * The Host side starts here.
 *
 * This is the Host core without OSGi around it: the device's open files,
 * the services guests run on (a vCPU backend and a page-table manager,
 * either of which may come and go), the Host's clock-event scheduler, and
 * the one Host-wide lock (lguestLock) that serialises initialization,
 * eventfd attachment and teardown. {@link LguestDeviceComponent} wires it
 * into the framework; tests use it directly.
 */
final class Host implements LguestDevice, AutoCloseable {
    private static final System.Logger LOG = System.getLogger("org.lguest.device");

    /**
     * The Host's tunables.
     *
     * @param tscKhz the value written to lguest_data.tsc_khz (0: the guest must not trust its TSC)
     * @param syscallVector a system-call vector guests may use besides 0x80 (lguest's syscall_vector)
     * @param hostAreaPages native pages per guest for shadow page tables and the switcher
     */
    record Settings(int tscKhz, int syscallVector, int hostAreaPages) {
        static final Settings DEFAULTS = new Settings(0, Abi.SYSCALL_VECTOR, 1024);

        Settings {
            if (hostAreaPages <= 0 || hostAreaPages > org.lguest.api.cpu.GuestMachine.HOST_AREA_PAGES) {
                throw new IllegalArgumentException("hostAreaPages must be 1 to "
                    + org.lguest.api.cpu.GuestMachine.HOST_AREA_PAGES + ": " + hostAreaPages);
            }
        }
    }

    /* lguest_lock: serialises INITIALIZE, eventfd attachment and close() across all files. */
    final ReentrantLock lguestLock = new ReentrantLock();

    final Allocator allocator;
    final Core core = new Core(this);
    final Hypercalls hypercalls = new Hypercalls(this);
    final Interrupts interrupts = new Interrupts(this);
    final Traps traps = new Traps(this);
    /** Every guest CPU's clock event device runs on this one thread. */
    final ScheduledThreadPoolExecutor timers;

    private final Clock clock;
    private final Set<LguestFileImpl> files = ConcurrentHashMap.newKeySet();
    private volatile Settings settings;
    /** HostConfig.countPerGuest: whether CPUs made from now on keep CpuCounters. Set by the component. */
    volatile boolean countPerGuest = true;
    private volatile VcpuBackend backend;
    private volatile PageTableManager pageTableManager;

    Host(Settings settings) {
        this(settings, Allocator.DEFAULT, Clock.systemUTC());
    }

    Host(Settings settings, Allocator allocator, Clock clock) {
        this.settings = Objects.requireNonNull(settings);
        this.allocator = Objects.requireNonNull(allocator);
        this.clock = Objects.requireNonNull(clock);
        this.timers = new ScheduledThreadPoolExecutor(1, clockThreads());
        this.timers.setRemoveOnCancelPolicy(true);
    }

    private static ThreadFactory clockThreads() {
        AtomicInteger n = new AtomicInteger();
        return task -> {
            Thread t = new Thread(task, "lguest-clock-" + n.incrementAndGet());
            t.setDaemon(true);
            return t;
        };
    }

    @Override
    public LguestFile open(LauncherTask task) {
        LguestFileImpl file = new LguestFileImpl(this, Objects.requireNonNull(task, "task"));
        files.add(file);
        return file;
    }

    /** Called by a file's close(). */
    void forget(LguestFileImpl file) {
        files.remove(file);
    }

    /** The open files, for tests and the component. */
    List<LguestFileImpl> openFiles() {
        return List.copyOf(files);
    }

    Settings settings() {
        return settings;
    }

    void settings(Settings newSettings) {
        this.settings = Objects.requireNonNull(newSettings);
    }

    Clock clock() {
        return clock;
    }

    VcpuBackend backend() {
        return backend;
    }

    PageTableManager pageTableManager() {
        return pageTableManager;
    }

    /** A (better) backend arrived: CPUs without an engine take it at their next run. */
    void bindBackend(VcpuBackend newBackend) {
        backend = newBackend;
        LOG.log(Level.INFO, "lguest: vCPU backend " + newBackend.name() + " bound");
    }

    /**
     * A backend is going away: every engine it made is closed while its CPU
     * is out of the guest; the CPU makes a new one (with whatever backend is
     * current) when it runs next, from the state the Host core keeps.
     */
    void unbindBackend(VcpuBackend gone) {
        if (backend == gone) {
            backend = null;
        }
        for (LguestFileImpl file : files) {
            Guest lg = file.guest();
            if (lg == null) {
                continue;
            }
            for (int i = 0; i < lg.nrCpus; i++) {
                Cpu cpu = lg.cpus[i];
                boolean its;
                cpu.lock.lock();
                try {
                    its = cpu.vcpuFrom == gone;
                } finally {
                    cpu.lock.unlock();
                }
                if (!its) {
                    continue;
                }
                Core.paused(cpu, () -> {
                    if (cpu.vcpu != null && cpu.vcpuFrom == gone) {
                        Core.closeVcpu(cpu);
                    }
                });
            }
        }
        LOG.log(Level.INFO, "lguest: vCPU backend " + gone.name() + " unbound");
    }

    void bindPageTableManager(PageTableManager manager) {
        pageTableManager = manager;
    }

    /**
     * A page-table manager is going away: the shadows it keeps are closed
     * while no CPU runs on them; the next run makes them again.
     */
    void unbindPageTableManager(PageTableManager gone) {
        if (pageTableManager == gone) {
            pageTableManager = null;
        }
        for (LguestFileImpl file : files) {
            Guest lg = file.guest();
            if (lg == null) {
                continue;
            }
            pauseAll(lg, () -> {
                if (lg.pageTables != null && lg.pageTablesFrom == gone) {
                    lg.pageTables.close();
                    lg.pageTables = null;
                    lg.pageTablesFrom = null;
                }
            });
        }
    }

    /** Runs {@code action} with every CPU of the guest out of the guest. */
    private static void pauseAll(Guest lg, Runnable action) {
        pauseFrom(lg, 0, action);
    }

    private static void pauseFrom(Guest lg, int i, Runnable action) {
        if (i >= lg.nrCpus) {
            action.run();
        } else {
            Core.paused(lg.cpus[i], () -> pauseFrom(lg, i + 1, action));
        }
    }

    /** The device goes away: every guest is torn down, the clock thread ends. */
    @Override
    public void close() {
        for (LguestFileImpl file : files) {
            file.close();
        }
        timers.shutdownNow();
    }
}
