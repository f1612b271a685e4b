package org.lguest.api.abi;

/**
 * Requests: the first word of every write to an {@code LguestFile}
 * ({@code enum lguest_req} in lguest_launcher.h).
 */
public final class Lhreq {
    /** base, pfnlimit, start: set up the guest and its CPU 0. */
    public static final long INITIALIZE = 0;
    /** Retired. */
    public static final long GETDMA = 1;
    /** irq: mark an interrupt pending. */
    public static final long IRQ = 2;
    /** Retired. */
    public static final long BREAK = 3;
    /**
     * address, eventfd descriptor: the Host signals the eventfd itself, without
     * a return to the Launcher, for an {@code LHCALL_NOTIFY} of that value and
     * (our extension, KVM's ioeventfd) for a guest store to that guest-physical
     * address in device memory, which it then steps over.
     */
    public static final long EVENTFD = 4;
    /** register selector: the next read returns that register. */
    public static final long GETREG = 5;
    /** register selector, value: write a register the Launcher may change. */
    public static final long SETREG = 6;
    /** trap number: deliver a trap to the guest (later lguest). */
    public static final long TRAP = 7;

    /** Bytes in one protocol word: the seed's {@code unsigned long} on this 64-bit host. */
    public static final int WORD = Long.BYTES;

    private Lhreq() {
    }
}
