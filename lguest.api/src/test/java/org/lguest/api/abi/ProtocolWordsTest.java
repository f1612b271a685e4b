package org.lguest.api.abi;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

import org.junit.jupiter.api.Test;

/** The protocol's words: little-endian on every host, and every unusable buffer a BadBuffer. */
class ProtocolWordsTest {
    @Test
    void aRequestIsLittleEndianWordsWhateverTheHostOrder() {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment request = ProtocolWords.encode(arena, Lhreq.IRQ, 0x0102_0304_0506_0708L);
            assertEquals(2 * Lhreq.WORD, request.byteSize());
            byte[] bytes = request.toArray(ValueLayout.JAVA_BYTE);
            assertArrayEquals(new byte[] {2, 0, 0, 0, 0, 0, 0, 0, 8, 7, 6, 5, 4, 3, 2, 1}, bytes);
        }
    }

    @Test
    void decodeReadsBackWhatEncodeWrote() throws ProtocolWords.BadBuffer {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment request = ProtocolWords.encode(arena, Lhreq.INITIALIZE, 0x1000_0000L, 16, -1L);
            assertEquals(Lhreq.INITIALIZE, ProtocolWords.decode(request, 0));
            assertEquals(0x1000_0000L, ProtocolWords.decode(request, 1));
            assertEquals(16, ProtocolWords.decode(request, 2));
            assertEquals(-1L, ProtocolWords.decode(request, 3));
        }
    }

    @Test
    void aWordPastTheEndOrAtANegativeIndexIsABadBuffer() {
        MemorySegment twelve = MemorySegment.ofArray(new byte[12]);
        assertThrows(ProtocolWords.BadBuffer.class, () -> ProtocolWords.decode(twelve, 1));
        assertThrows(ProtocolWords.BadBuffer.class, () -> ProtocolWords.decode(twelve, -1));
        assertThrows(ProtocolWords.BadBuffer.class, () -> ProtocolWords.decode(null, 0));
    }

    @Test
    void putWritesOneLittleEndianWordAndRefusesAShortBuffer() throws ProtocolWords.BadBuffer {
        byte[] answer = new byte[8];
        ProtocolWords.put(MemorySegment.ofArray(answer), 0x1234);
        assertArrayEquals(new byte[] {0x34, 0x12, 0, 0, 0, 0, 0, 0}, answer);
        assertThrows(ProtocolWords.BadBuffer.class, () -> ProtocolWords.put(MemorySegment.ofArray(new byte[7]), 1));
    }

    @Test
    void aReadOnlyOrClosedBufferIsABadBufferNotAnUncheckedException() {
        MemorySegment readOnly = MemorySegment.ofArray(new byte[16]).asReadOnly();
        assertThrows(ProtocolWords.BadBuffer.class, () -> ProtocolWords.put(readOnly, 1));
        assertThrows(ProtocolWords.BadBuffer.class, () -> ProtocolWords.putBytes(readOnly, new byte[] {1}, 1));
        MemorySegment closed;
        try (Arena arena = Arena.ofConfined()) {
            closed = arena.allocate(16);
        }
        assertThrows(ProtocolWords.BadBuffer.class, () -> ProtocolWords.decode(closed, 0));
    }

    @Test
    void putBytesCopiesOnlyTheLengthAsked() throws ProtocolWords.BadBuffer {
        byte[] out = new byte[4];
        ProtocolWords.putBytes(MemorySegment.ofArray(out), new byte[] {9, 8, 7, 6}, 2);
        assertArrayEquals(new byte[] {9, 8, 0, 0}, out);
        assertThrows(ProtocolWords.BadBuffer.class,
            () -> ProtocolWords.putBytes(MemorySegment.ofArray(new byte[1]), new byte[] {1, 2}, 2));
    }
}
