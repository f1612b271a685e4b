package org.lguest.api.abi;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.lang.foreign.MemorySegment;

import org.junit.jupiter.api.Test;

/** struct lguest_pending: twelve little-endian bytes, the same on both ends. */
class LguestPendingTest {
    private static final byte[] MOV = {(byte) 0x8b, 0x02, 0x11, 0x22, 0x33, 0x44, 0x55};

    @Test
    void encodeLaysOutTrapInstructionAndAddress() {
        byte[] bytes = new LguestPending(LguestPending.PAGE_FAULT, MOV, 0xC000_1234L).encode();
        assertArrayEquals(new byte[] {14, (byte) 0x8b, 0x02, 0x11, 0x22, 0x33, 0x44, 0x55, 0x34, 0x12, 0x00, (byte) 0xC0},
            bytes);
    }

    @Test
    void decodeGivesBackTheRecordEncodeMade() {
        LguestPending trap = new LguestPending(LguestPending.GENERAL_PROTECTION, new byte[] {(byte) 0xed}, 0);
        LguestPending back = LguestPending.decode(MemorySegment.ofArray(trap.encode()));
        assertEquals(trap, back);
        assertArrayEquals(new byte[] {(byte) 0xed, 0, 0, 0, 0, 0, 0}, back.insn(), "short instructions are padded");
    }

    @Test
    void theAddressIsUnsigned() {
        byte[] bytes = new LguestPending(LguestPending.PAGE_FAULT, MOV, 0xFFFF_FFFFL).encode();
        assertEquals(0xFFFF_FFFFL, LguestPending.decode(MemorySegment.ofArray(bytes)).address());
    }

    @Test
    void theRecordKeepsItsOwnCopyOfTheInstruction() {
        byte[] insn = MOV.clone();
        LguestPending trap = new LguestPending(LguestPending.PAGE_FAULT, insn, 0);
        insn[0] = 0;
        trap.insn()[1] = 0;
        assertArrayEquals(MOV, trap.insn());
    }

    @Test
    void fieldsTheRecordCannotHoldAreRefused() {
        assertThrows(IllegalArgumentException.class, () -> new LguestPending(256, MOV, 0));
        assertThrows(IllegalArgumentException.class, () -> new LguestPending(-1, MOV, 0));
        assertThrows(IllegalArgumentException.class, () -> new LguestPending(13, new byte[8], 0));
        assertThrows(IllegalArgumentException.class, () -> new LguestPending(14, MOV, 0x1_0000_0000L));
        assertThrows(IllegalArgumentException.class, () -> LguestPending.decode(MemorySegment.ofArray(new byte[11])));
    }
}
