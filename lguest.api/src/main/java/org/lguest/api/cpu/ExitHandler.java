package org.lguest.api.cpu;

import org.osgi.annotation.versioning.ConsumerType;

/**
 * The Host core's "handle this now": a backend that can keep its engine
 * running across an exit hands the exit here first, on the CPU's owner
 * thread, from inside {@link Vcpu#run()}, with the registers already in
 * {@link VcpuState} as if {@code run()} had returned. Stopping and
 * re-entering an engine is most of what an exit costs; exits the Host
 * settles by itself (hypercalls, shadow fills, traps it reflects) need not
 * pay it.
 *
 * @since 1.2
 */
@ConsumerType
@FunctionalInterface
public interface ExitHandler {

    /** What the backend does after {@link #handleNow}. */
    enum Action {
        /**
         * Handled; keep running. The backend takes the registers, the page
         * table root and any TLB flush from the state and the calls made
         * meanwhile, and goes on. If some change cannot be made without
         * leaving the engine, it returns from {@code run()} with a
         * {@link VcpuExit.Kind#KICKED} exit instead: the exit is handled.
         */
        RESUME,
        /** Handled, but the Host's loop has work: {@code run()} returns a {@link VcpuExit.Kind#KICKED} exit. */
        STOP,
        /** Not handled: {@code run()} returns this exit, as without a handler. */
        DECLINE
    }

    /**
     * Handles {@code exit} now if the Host can. Must not throw; must not call
     * {@link Vcpu#run()}.
     */
    Action handleNow(VcpuExit exit);
}
