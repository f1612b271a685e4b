package org.lguest.api.cpu;

/**
 * Why a guest CPU stopped running. Registers are in {@link VcpuState} when
 * it is returned.
 *
 * @param kind what happened
 * @param vector the x86 vector for {@link Kind#TRAP} (0-255), else -1
 * @param errorCode the error code x86 pushed for that vector, or 0
 * @param cr2 the faulting address for a page fault (vector 14), else 0
 * @param eip where the guest was: at the faulting instruction, or after an {@code int n}
 */
public record VcpuExit(Kind kind, int vector, int errorCode, long cr2, long eip) {

    public enum Kind {
        /** An interrupt or exception left the guest: a hypercall is vector 0x1F. */
        TRAP,
        /** {@link Vcpu#kick()} asked the run to return. */
        KICKED
    }

    public static VcpuExit trap(int vector, int errorCode, long cr2, long eip) {
        return new VcpuExit(Kind.TRAP, vector, errorCode, cr2, eip);
    }

    public static VcpuExit kicked(long eip) {
        return new VcpuExit(Kind.KICKED, -1, 0, 0, eip);
    }

    public boolean isTrap(int v) {
        return kind == Kind.TRAP && vector == v;
    }
}
