package org.lguest.virtio.testkit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

import org.junit.jupiter.api.Test;

class GuardedRamTest {

    @Test
    void writesInsideLeaveTheGuardsAndWritesOutsideShow() {
        try (GuardedRam memory = new GuardedRam(1 << 16)) {
            memory.ram().fill((byte) 0x5A);
            assertEquals(0, memory.changedGuardBytes());
            assertEquals(1 << 16, memory.guestRam().size());
            MemorySegment whole = MemorySegment.ofAddress(memory.ram().address() - GuardedRam.GUARD)
                .reinterpret((1 << 16) + 2L * GuardedRam.GUARD);
            whole.set(ValueLayout.JAVA_BYTE, GuardedRam.GUARD - 1, (byte) 0);
            whole.set(ValueLayout.JAVA_BYTE, GuardedRam.GUARD + (1 << 16), (byte) 0);
            whole.set(ValueLayout.JAVA_BYTE, GuardedRam.GUARD + (1 << 16) + 1, (byte) 0);
            assertEquals(3, memory.changedGuardBytes());
        }
    }

    @Test
    void theGuestSeesNothingPastItsRam() {
        try (GuardedRam memory = new GuardedRam(4096)) {
            assertThrows(IndexOutOfBoundsException.class, () -> memory.guestRam().memory().get(ValueLayout.JAVA_BYTE, 4096));
        }
    }
}
