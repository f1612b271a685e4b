package org.lguest.device.internal;

import java.lang.System.Logger.Level;
import java.util.concurrent.atomic.AtomicReference;

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

    // Fixed when made.
    final Host host;
    /** mem_base and pfn_limit: the guest's RAM, checked on every access. */
    final GuestMemory memory;
    /** cpus: filled in by INITIALIZE before any CPU can run. */
    final Cpu[] cpus = new Cpu[Abi.MAX_CPUS];

    // Under host.lguestLock (INITIALIZE, LHREQ_EVENTFD, close()); volatile where CPUs read them without it.
    /** nr_cpus. */
    volatile int nrCpus;
    /** Keeps the task's RAM mapped until close(), whatever the Launcher does. */
    org.lguest.api.device.LauncherTask.Hold ramHold;
    /** eventfds: replaced whole, never changed (see {@link EventfdMap}). */
    volatile EventfdMap eventfds;
    /** The native pages of this guest's shadow page tables and switcher, and the machine they describe. */
    HostArea hostArea;
    GuestMachine machine;
    /** Set once by close(): everything below is being torn down. */
    volatile boolean closed;

    // Lock-free.
    /** dead: null while alive, then why it died; the first kill wins, a restart request replaces it. */
    private final AtomicReference<DeathReason> dead = new AtomicReference<>();
    /** The Launcher's port handler (LguestFile.portIo), set from its thread, handed to each engine before it runs. */
    volatile PortIo portIo;

    // Written by the CPU's owner under its lock, in the hypercalls that set them.
    /** lguest_data: the guest's struct lguest_data, null until LHCALL_LGUEST_INIT. */
    volatile LguestDataPage lguestData;
    /** noirq_iret: the address of the guest's interrupt-return iret, from LGUEST_INIT. */
    long noirqIret;
    /** kernel_address: where the guest kernel's virtual addresses start (page_table_guest_data_init). */
    long kernelAddress;
    /** stack_pages: kernel stack pages SET_STACK told us about (one or two). */
    int stackPages;

    // Under a CPU's lock: made at INITIALIZE, made again by the owner, dropped by a departing manager or close().
    /**
     * Our pgdirs: the shadow page tables and the manager that made them;
     * null while no manager is present. With one CPU per guest, the CPU's
     * lock serializes every call on them, as the SPI asks.
     */
    volatile GuestPageTables pageTables;
    PageTableManager pageTablesFrom;

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
