package org.lguest.launcher.internal;

import java.lang.foreign.Arena;

import org.lguest.api.abi.ProtocolWords;
import org.lguest.api.device.LguestFile;

/** Sends requests to an {@link LguestFile} as the Launcher's {@code write()} of word arrays did. */
final class Requests {
    private Requests() {
    }

    /** Sends the words as one request on CPU {@code cpu}; the Host's answer (length or negated errno). */
    static long write(LguestFile file, long cpu, long... words) {
        try (Arena arena = Arena.ofConfined()) {
            return file.write(ProtocolWords.encode(arena, words), cpu);
        }
    }
}
