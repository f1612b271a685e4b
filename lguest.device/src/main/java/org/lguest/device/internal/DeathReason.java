package org.lguest.device.internal;

import java.util.Objects;

/**
 * Why a Guest is dead: our form of lguest's {@code lg->dead}, which held
 * either an error pointer or a message. Once set, the Guest never runs
 * again; read() answers from it until close().
 */
sealed interface DeathReason {
    /**
     * The Guest broke a rule or shut down: the read() it died in answers
     * ENOENT, and every later read() copies {@code reason} out.
     */
    record Killed(String reason) implements DeathReason {
        public Killed {
            Objects.requireNonNull(reason, "reason");
        }
    }

    /**
     * LHCALL_SHUTDOWN with the restart flag: every read() answers ERESTART,
     * which tells the Launcher to boot the guest again. {@code message} is
     * the guest's shutdown text, kept for the log.
     */
    record RestartRequested(String message) implements DeathReason {
        public RestartRequested {
            Objects.requireNonNull(message, "message");
        }
    }
}
