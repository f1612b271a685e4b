package org.lguest.api.cpu;

/**
 * Why a guest CPU stopped running. Registers are in {@link VcpuState} when
 * it is returned.
 *
 * @param kind what happened
 * @param vector the x86 vector for {@link Kind#TRAP} (0-255), {@link #SWITCHER_FAILED}, or -1
 * @param errorCode the error code x86 pushed for that vector, or 0
 * @param cr2 the faulting address for a page fault (vector 14), else 0
 * @param eip where the guest was: at the faulting instruction, or after an {@code int n}
 * @param softwareInterrupt true when the guest executed {@code int n} (no error code; EIP is past it)
 */
public record VcpuExit(Kind kind, int vector, int errorCode, long cr2, long eip, boolean softwareInterrupt) {
    /**
     * The switcher could not load the guest's registers (a bad selector or
     * descriptor): lguest's "unhandled trap 256". {@code errorCode} holds the
     * real vector in its upper half and that vector's error code below.
     */
    public static final int SWITCHER_FAILED = 256;

    public enum Kind {
        /** An interrupt or exception left the guest: a hypercall is vector 0x1F. */
        TRAP,
        /** {@link Vcpu#kick()} asked the run to return. */
        KICKED
    }

    /** A fault or exception raised by the CPU. */
    public static VcpuExit trap(int vector, int errorCode, long cr2, long eip) {
        return new VcpuExit(Kind.TRAP, vector, errorCode, cr2, eip, false);
    }

    /** An {@code int n} the guest executed; {@code eip} is past the instruction. */
    public static VcpuExit softwareInterrupt(int vector, long eip) {
        return new VcpuExit(Kind.TRAP, vector, 0, 0, eip, true);
    }

    public static VcpuExit kicked(long eip) {
        return new VcpuExit(Kind.KICKED, -1, 0, 0, eip, false);
    }

    public boolean isTrap(int v) {
        return kind == Kind.TRAP && vector == v;
    }
}
