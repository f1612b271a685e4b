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
 * "struct lguest" contains all we (the Host) know about a Guest: its
 * memory, its CPUs, the eventfd map, where its lguest_data lives, and
 * whether (and why) it is dead.
 */
final class Guest {
    private static final System.Logger LOG = System.getLogger("org.lguest.device");

    final Host host;
    /** mem_base and pfn_limit: the guest's RAM, checked on every access. */
    final GuestMemory memory;
    final Cpu[] cpus = new Cpu[Abi.MAX_CPUS];
    volatile int nrCpus;

    /** The eventfd map: replaced whole, never changed (see {@link EventfdMap}). */
    volatile EventfdMap eventfds;

    /** Null while alive; then the reason string or an Integer errno (the seed's ERR_PTR). */
    private final AtomicReference<Object> dead = new AtomicReference<>();

    /** Set once by close(): everything below is being torn down. */
    volatile boolean closed;

    /** Its struct lguest_data: null until LHCALL_LGUEST_INIT. */
    volatile LguestDataPage lguestData;
    /** The interrupt-free window the guest gave us at LGUEST_INIT. */
    long noirqStart;
    long noirqEnd;
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
     * There are many cases where the Guest can do something invalid, like
     * pass crap to a hypercall. It's quite acceptable to simply terminate
     * the Guest and give the Launcher a nicely formatted reason. Only the
     * first reason is remembered; the Guest never runs again.
     */
    void kill(String reason) {
        if (dead.compareAndSet(null, reason)) {
            LOG.log(Level.INFO, "lguest: guest killed: {0}", reason.strip());
        }
    }

    /** LGUEST_SHUTDOWN_RESTART: dead, but wants a reboot. */
    void restart() {
        dead.set(-Errno.ERESTART);
    }

    boolean isDead() {
        return dead.get() != null;
    }

    /** The reason (String), the errno (negative Integer), or null. */
    Object dead() {
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
