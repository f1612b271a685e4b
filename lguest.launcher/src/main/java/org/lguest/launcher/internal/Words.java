package org.lguest.launcher.internal;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

import org.lguest.api.abi.Lhreq;
import org.lguest.api.device.LguestFile;

/** Writes requests to an {@link LguestFile} as the Launcher's {@code write()} of word arrays did. */
final class Words {
    private Words() {
    }

    /** Sends the words as one request on CPU {@code cpu}; the Host's answer (length or negated errno). */
    static long write(LguestFile file, long cpu, long... words) {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment request = arena.allocate((long) words.length * Lhreq.WORD, Lhreq.WORD);
            for (int i = 0; i < words.length; i++) {
                request.setAtIndex(ValueLayout.JAVA_LONG_UNALIGNED, i, words[i]);
            }
            return file.write(request, cpu);
        }
    }
}
