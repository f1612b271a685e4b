package org.lguest.api.abi;

/**
 * Hypercalls ({@code asm/lguest_hcall.h}) as Linux 4.9 makes them. A guest
 * makes one with {@code int $0x1F}: EAX holds the call, EBX, ECX, EDX and
 * ESI its arguments 1 to 4. No call writes a register: EAX still holds the
 * call number afterwards. The numbers are 4.9's, plus one of ours,
 * {@link #NOTIFY}.
 */
public final class Lhcall {
    public static final int FLUSH_ASYNC = 0;
    public static final int LGUEST_INIT = 1;
    public static final int SHUTDOWN = 2;
    public static final int NEW_PGTABLE = 4;
    public static final int FLUSH_TLB = 5;
    public static final int LOAD_IDT_ENTRY = 6;
    public static final int SET_STACK = 7;
    /** Linux 4.9 only (4.13 dropped it): arg1 is the guest's CR0.TS bit (8 or 0). */
    public static final int TS = 8;
    public static final int SET_CLOCKEVENT = 9;
    public static final int HALT = 10;
    public static final int SET_PMD = 13;
    public static final int SET_PTE = 14;
    public static final int SET_PGD = 15;
    public static final int LOAD_TLS = 16;
    /**
     * Our extension, absent from Linux 4.x (whose guests notify devices by an
     * MMIO write): arg1 is an address the Host hands to the Launcher, or to
     * the eventfd registered for it with {@link Lhreq#EVENTFD}. Our images'
     * early console is a NOTIFY of a NUL-terminated line. A 4.x guest never
     * makes it.
     */
    public static final int NOTIFY = 17;
    public static final int LOAD_GDT_ENTRY = 18;
    public static final int SEND_INTERRUPTS = 19;

    /** The software interrupt a hypercall uses ({@code LGUEST_TRAP_ENTRY}). */
    public static final int TRAP_ENTRY = 0x1F;
    /** Slots in the asynchronous hypercall ring ({@code LHCALL_RING_SIZE}). */
    public static final int RING_SIZE = 64;
    /** {@code LGUEST_SHUTDOWN_POWEROFF}: the second argument of SHUTDOWN. */
    public static final int SHUTDOWN_POWEROFF = 1;
    /** {@code LGUEST_SHUTDOWN_RESTART}. */
    public static final int SHUTDOWN_RESTART = 2;
    /**
     * How the Host words the death of a guest that asked to shut down: lguest
     * kills it with {@code "CRASH: "} and the guest's own message. Every other
     * reason is the Host's verdict on a guest that broke a rule.
     */
    public static final String SHUTDOWN_REASON_PREFIX = "CRASH: ";

    private Lhcall() {
    }

    /** The call's name without prefix ("NOTIFY"), or null for a number lguest never used. */
    public static String name(long call) {
        return switch ((int) call) {
            case FLUSH_ASYNC -> "FLUSH_ASYNC";
            case LGUEST_INIT -> "LGUEST_INIT";
            case SHUTDOWN -> "SHUTDOWN";
            case NEW_PGTABLE -> "NEW_PGTABLE";
            case FLUSH_TLB -> "FLUSH_TLB";
            case LOAD_IDT_ENTRY -> "LOAD_IDT_ENTRY";
            case SET_STACK -> "SET_STACK";
            case TS -> "TS";
            case SET_CLOCKEVENT -> "SET_CLOCKEVENT";
            case HALT -> "HALT";
            case SET_PMD -> "SET_PMD";
            case SET_PTE -> "SET_PTE";
            case SET_PGD -> "SET_PGD";
            case LOAD_TLS -> "LOAD_TLS";
            case NOTIFY -> "NOTIFY";
            case LOAD_GDT_ENTRY -> "LOAD_GDT_ENTRY";
            case SEND_INTERRUPTS -> "SEND_INTERRUPTS";
            default -> null;
        };
    }
}
