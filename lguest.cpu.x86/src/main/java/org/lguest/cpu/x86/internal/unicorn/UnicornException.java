package org.lguest.cpu.x86.internal.unicorn;

/** A Unicorn call failed; the message names the call and gives Unicorn's own text. */
public final class UnicornException extends RuntimeException {
    private static final long serialVersionUID = 1L;

    private final int error;

    UnicornException(String message) {
        this(message, 0);
    }

    UnicornException(String message, int error) {
        super(message);
        this.error = error;
    }

    private UnicornException(String message, Throwable cause) {
        super(message, cause);
        this.error = 0;
    }

    /** Unicorn's uc_err code, or 0 when the failure was not Unicorn's. */
    public int error() {
        return error;
    }

    static UnicornException wrap(String call, Throwable t) {
        if (t instanceof UnicornException u) {
            return u;
        }
        if (t instanceof Error e) {
            throw e;
        }
        return new UnicornException(call + ": " + t, t);
    }
}
