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
    void codeWithoutTheLoadAndTestIsRefusedWithAReason() {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment other = arena.allocate(16);
            other.fill((byte) 0x90);
            IllegalStateException e = assertThrows(IllegalStateException.class, () -> BlockBoundaryStops.locate(other));
            assertTrue(e.getMessage().contains("run twice"), e.getMessage());
            assertThrows(IllegalStateException.class, () -> BlockBoundaryStops.locate(MemorySegment.NULL));
        }
    }

    @Test
    void thePairIsFoundAfterEndbr64AndAPrologueWithAnyRegister() {
        try (Arena arena = Arena.ofConfined()) {
            byte[] code = {(byte) 0xF3, 0x0F, 0x1E, (byte) 0xFA,                       // endbr64
                    0x41, 0x56, 0x55, 0x53, 0x48, (byte) 0x83, (byte) 0xEC, 0x30,       // push %r14; push %rbp; push %rbx; sub $0x30,%rsp
                    0x48, (byte) 0x8B, (byte) 0xB7, 0x70, (byte) 0x99, 0, 0,            // mov 0x9970(%rdi),%rsi
                    (byte) 0x80, (byte) 0xBE, (byte) 0xF2, 0x07, 0, 0, 0,               // cmpb $0,0x7f2(%rsi)
                    0x74, 0x26};                                                        // je
            assertEquals(0x7F2, BlockBoundaryStops.locate(arena.allocateFrom(JAVA_BYTE, code)));
        }
    }

    @Test
    void aCompareOfAnotherRegisterIsNotThePair() {
        try (Arena arena = Arena.ofConfined()) {
            byte[] code = {0x48, (byte) 0x8B, (byte) 0xB7, 0x70, (byte) 0x99, 0, 0,   // mov 0x9970(%rdi),%rsi
                    (byte) 0x80, (byte) 0xB8, (byte) 0xF2, 0x07, 0, 0, 0,              // cmpb $0,0x7f2(%rax)
                    0x74, 0x26};
            assertThrows(IllegalStateException.class, () -> BlockBoundaryStops.locate(arena.allocateFrom(JAVA_BYTE, code)));
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
