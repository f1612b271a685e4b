package org.lguest.api.cpu;

import org.osgi.annotation.versioning.ConsumerType;

/**
 * One guest CPU on a backend's engine. All calls but {@link #kick} come from
 * the CPU's owner thread.
 */
@ConsumerType
public interface Vcpu extends AutoCloseable {

    /**
     * Loads the registers from the {@link VcpuState}, enters the guest at
     * its privilege level, runs until the next interrupt, exception or kick,
     * and stores the registers back.
     *
     * @throws VcpuException when the engine fails (not when the guest does)
     */
    VcpuExit run() throws VcpuException;

    /** From any thread: make a running or the next {@link #run} return promptly with a kick. */
    void kick();

    /**
     * The page-directory entry that maps the switcher's pages at
     * {@link GuestMachine#SWITCHER_ADDRESS}; every shadow directory must hold
     * it (see {@code GuestPageTables#setSwitcherEntry}).
     */
    int switcherEntry();

    /** The shadow page tables or their root changed: drop every cached translation before running. */
    void flushTlb();

    /**
     * The shadow entry for the page at {@code vaddr} was filled: the backend
     * makes that one mapping effective (cheaper than {@link #flushTlb()}).
     */
    default void pageFilled(long vaddr) {
        flushTlb();
    }

    /**
     * The host wrote guest memory that may hold code the CPU already ran
     * (the Launcher loading an image, a device's DMA): forget its translations.
     */
    void invalidateCode(long guestPhysical, long length);

    /**
     * Where this CPU's port I/O goes when the engine does not trap it (see
     * {@link PortIo}); null for none, so every port reads all ones. Called on
     * the owner thread between runs. A backend that traps {@code in} and
     * {@code out} (general protection, as lguest's Host does) has no use for
     * it and keeps this default.
     *
     * @since 1.1
     */
    default void portIo(PortIo handler) {
    }

    /**
     * Exits the Host core can settle without leaving the engine go to
     * {@code handler} first, from inside {@link #run()} (see
     * {@link ExitHandler}); null for none. Called on the owner thread
     * between runs. A backend that must stop for every exit keeps this
     * default and simply returns each one from {@code run()}.
     *
     * @since 1.2
     */
    default void exitHandler(ExitHandler handler) {
    }

    /**
     * Checks a GDT entry the guest loads ({@code LHCALL_LOAD_GDT_ENTRY}) by
     * lguest's rules, adjusts it as lguest does, and installs it in the state.
     *
     * @return null, or the reason the guest must die
     */
    String loadGdtEntry(int index, long descriptor);

    /** As {@link #loadGdtEntry} for the three thread-local-storage entries ({@code LHCALL_LOAD_TLS}). */
    String loadTls(long[] descriptors);

    /**
     * Releases the engine; the state stays with the Host core. May come from
     * any thread (a backend going away), but never while {@link #run} runs.
     */
    @Override
    void close();
}
