package org.lguest.shell.internal;

import java.io.IOException;
import java.util.function.BooleanSupplier;

/**
 * Keystrokes to a guest's console, one read at a time, until the leaving key,
 * the end of the input, or the guest's end. The guest's output needs nothing
 * from here: it goes to the terminal as the guest writes it.
 */
final class ConsoleLink {
    /** Ctrl-], as virsh console and telnet use: a key no shell or editor wants. */
    static final int LEAVE_KEY = 0x1D;
    static final String LEAVE_KEY_NAME = "Ctrl-]";
    /** How often a wait for a key looks whether the guest is still there. */
    static final long POLL_MILLIS = 100;

    enum End {
        /** The leaving key was typed. */
        LEFT,
        /** The keys ran out (the terminal closed). */
        INPUT_ENDED,
        /** The guest stopped running. */
        GUEST_ENDED
    }

    /** What is typed, a byte at a time. */
    interface Keys {
        int EOF = -1;
        int TIMEOUT = -2;

        /** The next byte (0-255), {@link #EOF}, or {@link #TIMEOUT} when none came within {@code millis}. */
        int read(long millis) throws IOException;
    }

    /** Where the keys go: the guest's console input. */
    interface Sink {
        /** False when the guest's console took nothing (it has none, or it has ended). */
        boolean send(byte[] bytes);
    }

    private ConsoleLink() {
    }

    static End pump(Keys keys, Sink guest, BooleanSupplier guestRunning) throws IOException {
        while (guestRunning.getAsBoolean()) {
            int key = keys.read(POLL_MILLIS);
            if (key == Keys.TIMEOUT) {
                continue;
            }
            if (key == Keys.EOF) {
                return End.INPUT_ENDED;
            }
            if (key == LEAVE_KEY) {
                return End.LEFT;
            }
            if (!guest.send(new byte[] {(byte) key}) && !guestRunning.getAsBoolean()) {
                return End.GUEST_ENDED;
            }
        }
        return End.GUEST_ENDED;
    }
}
