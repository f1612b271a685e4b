package org.lguest.cpu.x86.internal.unicorn;

import static java.lang.foreign.ValueLayout.JAVA_BYTE;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;

import org.junit.jupiter.api.Test;

class BlockBoundaryStopsTest {

    @Test
    void theFlagIsFoundInTheLibrarysCodeAndConfirmedByTheProbe() {
        BlockBoundaryStops stops = BlockBoundaryStops.calibrate(Unicorn.load());
        assertTrue(stops.flagOffset() > 0);
        assertEquals(stops, BlockBoundaryStops.calibrate(Unicorn.load()), "the same library gives the same offset");
    }

    @Test
    void codeThatDoesNotLookLikeUnicorn201IsRefusedWithAReason() {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment other = arena.allocate(16);
            other.fill((byte) 0x90);
            IllegalStateException e = assertThrows(IllegalStateException.class, () -> BlockBoundaryStops.locate(other));
            assertTrue(e.getMessage().contains("run twice"), e.getMessage());
            assertThrows(IllegalStateException.class, () -> BlockBoundaryStops.locate(MemorySegment.NULL));
        }
    }

    @Test
    void theOffsetIsTheSecondInstructionsDisplacement() {
        try (Arena arena = Arena.ofConfined()) {
            byte[] code = {0x48, (byte) 0x8B, (byte) 0x87, 0x70, (byte) 0x99, 0, 0, // mov 0x9970(%rdi),%rax
                    (byte) 0x80, (byte) 0xB8, (byte) 0x8A, 0x07, 0, 0, 0,          // cmpb $0,0x78a(%rax)
                    0x74, 0x08};                                                      // je
            MemorySegment segment = arena.allocateFrom(JAVA_BYTE, code);
            assertEquals(0x78A, BlockBoundaryStops.locate(segment));
        }
    }
}
