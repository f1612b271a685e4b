package org.lguest.virtio.testkit;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

import org.lguest.api.virtio.GuestRam;

/**
 * Guest RAM in a native segment with guard bytes on both sides: anything
 * written outside the RAM shows up as a changed guard.
 */
public final class GuardedRam implements AutoCloseable {
    public static final int GUARD = 64 * 1024;
    private static final byte PATTERN = (byte) 0xA5;

    private final Arena arena = Arena.ofShared();
    private final MemorySegment whole;
    private final MemorySegment ram;
    private final GuestRam guestRam;

    public GuardedRam(long size) {
        whole = arena.allocate(size + 2L * GUARD, 4096);
        whole.fill(PATTERN);
        ram = whole.asSlice(GUARD, size);
        ram.fill((byte) 0);
        guestRam = new GuestRam(ram, size);
    }

    public GuestRam guestRam() {
        return guestRam;
    }

    public MemorySegment ram() {
        return ram;
    }

    /** Bytes of the guards that changed: 0 when nothing was written outside the RAM. */
    public long changedGuardBytes() {
        long changed = 0;
        long size = ram.byteSize();
        for (long i = 0; i < GUARD; i++) {
            if (whole.get(ValueLayout.JAVA_BYTE, i) != PATTERN) {
                changed++;
            }
            if (whole.get(ValueLayout.JAVA_BYTE, GUARD + size + i) != PATTERN) {
                changed++;
            }
        }
        return changed;
    }

    @Override
    public void close() {
        arena.close();
    }
}
