package org.lguest.device.internal;

import java.lang.System.Logger.Level;
import java.util.concurrent.atomic.AtomicReference;

import org.lguest.api.abi.Errno;
import org.lguest.api.cpu.GuestMachine;
import org.lguest.api.cpu.HostArea;
import org.lguest.api.cpu.PortIo;
import org.lguest.api.paging.GuestPageTables;
import org.lguest.api.paging.PageTableManager;

/**
 * Our struct lguest: one Guest as the Host tracks it. Its memory, its
 * CPUs, the eventfd map, the address of its lguest_data, and its death
 * (if any) with the reason.
 */
final class Guest {
    private static final System.Logger LOG = System.getLogger("org.lguest.device");

    final Host host;
    /** mem_base and pfn_limit: the guest's RAM, checked on every access. */
    final GuestMemory memory;
    /** Keeps the task's RAM mapped until close(), whatever the Launcher does (set at INITIALIZE). */
    org.lguest.api.device.LauncherTask.Hold ramHold;
    final Cpu[] cpus = new Cpu[Abi.MAX_CPUS];
    volatile int nrCpus;

    /** The eventfd map: replaced whole, never changed (see {@link EventfdMap}). */
    volatile EventfdMap eventfds;

    /** lg->dead: null while alive, then why it died. */
    private final AtomicReference<DeathReason> dead = new AtomicReference<>();

    /** Set once by close(): everything below is being torn down. */
    volatile boolean closed;

    /** Its struct lguest_data: null until LHCALL_LGUEST_INIT. */
    volatile LguestDataPage lguestData;
    /** The address of the guest's interrupt-return iret, from LGUEST_INIT. */
    long noirqIret;
    /** Where the guest kernel's virtual addresses start (page_table_guest_data_init). */
    long kernelAddress;
    /** Kernel stack pages SET_STACK told us about (one or two). */
    int stackPages;

    /** The native pages of this guest's shadow page tables and switcher. */
    HostArea hostArea;
    GuestMachine machine;
    /**
     * The shadow page tables and the manager that made them; null while no
     * manager is present (after it went away). Calls are made under a CPU's
     * lock; with one CPU per guest that serializes them per guest, as the
     * SPI asks.
     */
    volatile GuestPageTables pageTables;
    PageTableManager pageTablesFrom;
    /** The Launcher's port handler (LguestFile.portIo), handed to each CPU's engine before it runs; null for none. */
    volatile PortIo portIo;

    Guest(Host host, GuestMemory memory) {
        this.host = host;
        this.memory = memory;
    }

    /*L:035
     * A Guest that breaks the rules (a bad hypercall argument, memory out of
     * range) is stopped, not argued with: it is marked dead with a message
     * for the Launcher. Callers may carry on afterwards, since the run loop
     * checks for death before every entry. The first reason wins.
     */
    void kill(String reason) {
        if (dead.compareAndSet(null, new DeathReason.Killed(reason))) {
            LOG.log(Level.INFO, "lguest: guest killed: {0}", reason.strip());
        }
    }

    /**
     * A shutdown with the restart flag: the Launcher is to boot again. It
     * replaces any reason already there, since the guest asked for this
     * last.
     */
    void restart(String message) {
        dead.set(new DeathReason.RestartRequested(message));
        LOG.log(Level.INFO, "lguest: guest asked to be restarted: {0}", message.strip());
    }

    boolean isDead() {
        return dead.get() != null;
    }

    /** Why the guest died, or null while it lives. */
    DeathReason dead() {
        return dead.get();
    }

    /** close() frees the reason along with everything else. */
    void forgetDeath() {
        dead.set(null);
    }

    boolean initialized() {
        return lguestData != null;
    }
}
