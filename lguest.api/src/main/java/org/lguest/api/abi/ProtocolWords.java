package org.lguest.api.abi;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.SegmentAllocator;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;

/**
 * The buffers of the {@code LguestFile} protocol, encoded in one place for
 * both ends: a request is an array of {@link Lhreq#WORD}-byte
 * little-endian words, the first being an {@link Lhreq} code; a
 * {@code read()} answers with one such word, a {@link LguestPending}
 * record, or a NUL-terminated reason. Every access to a caller's buffer
 * that cannot be made (too short, closed, read-only, confined to another
 * thread) is a {@link BadBuffer}, which the Host answers with
 * {@code -EFAULT}.
 */
public final class ProtocolWords {
    /** One protocol word: 64 bits, little-endian whatever the host's order, any alignment. */
    public static final ValueLayout.OfLong WORD_LAYOUT =
        ValueLayout.JAVA_LONG_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);

    private ProtocolWords() {
    }

    /** A buffer that cannot be read or written as asked; cheap to throw (no stack trace), as guests may provoke it. */
    public static final class BadBuffer extends Exception {
        private static final long serialVersionUID = 1L;

        /** A fault with no further detail: the Host's answer is always {@code -EFAULT}. */
        public BadBuffer() {
            super(null, null, false, false);
        }
    }

    /**
     * A request: {@code words} laid out in a segment from {@code allocator},
     * ready for {@code LguestFile.write}.
     */
    public static MemorySegment encode(SegmentAllocator allocator, long... words) {
        MemorySegment request = allocator.allocate((long) words.length * Lhreq.WORD, Lhreq.WORD);
        for (int i = 0; i < words.length; i++) {
            request.setAtIndex(WORD_LAYOUT, i, words[i]);
        }
        return request;
    }

    /** Word {@code index} of {@code buffer}. */
    public static long decode(MemorySegment buffer, int index) throws BadBuffer {
        long offset = (long) index * Lhreq.WORD;
        try {
            if (buffer == null || index < 0 || buffer.byteSize() - offset < Lhreq.WORD) {
                throw new BadBuffer();
            }
            return buffer.get(WORD_LAYOUT, offset);
        } catch (IllegalStateException | IllegalArgumentException | IndexOutOfBoundsException | WrongThreadException
                 | UnsupportedOperationException e) {
            throw new BadBuffer();
        }
    }

    /** Writes {@code value} as the one word at the start of {@code buffer}. */
    public static void put(MemorySegment buffer, long value) throws BadBuffer {
        try {
            if (buffer == null || buffer.byteSize() < Lhreq.WORD) {
                throw new BadBuffer();
            }
            buffer.set(WORD_LAYOUT, 0, value);
        } catch (IllegalStateException | IllegalArgumentException | IndexOutOfBoundsException | WrongThreadException
                 | UnsupportedOperationException e) {
            throw new BadBuffer();
        }
    }

    /** Copies the first {@code length} of {@code bytes} (an encoded record or reason) to the start of {@code buffer}. */
    public static void putBytes(MemorySegment buffer, byte[] bytes, int length) throws BadBuffer {
        try {
            if (buffer == null || length < 0 || buffer.byteSize() < length) {
                throw new BadBuffer();
            }
            MemorySegment.copy(bytes, 0, buffer, ValueLayout.JAVA_BYTE, 0, length);
        } catch (IllegalStateException | IllegalArgumentException | IndexOutOfBoundsException | WrongThreadException
                 | UnsupportedOperationException e) {
            throw new BadBuffer();
        }
    }

    /** The bytes {@code buffer} holds; 0 for none at all. */
    public static long size(MemorySegment buffer) {
        return buffer == null ? 0 : buffer.byteSize();
    }
}
