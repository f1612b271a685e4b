package org.lguest.device.internal;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;

/**
 * get_user() and put_user() for the protocol: the caller's buffers are
 * {@link MemorySegment}s of little-endian 64-bit words (the seed's
 * {@code unsigned long} on this 64-bit host). Anything that goes wrong
 * touching the caller's memory (too short, closed, read-only, owned by
 * another thread) is the seed's failed copy: {@link UserFault}, which the
 * caller turns into {@code -EFAULT}.
 */
final class Words {
    /** Bytes in one protocol word. */
    static final int WORD = Long.BYTES;

    private static final ValueLayout.OfLong LE_WORD =
        ValueLayout.JAVA_LONG_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);

    private Words() {
    }

    /** The copy to or from the caller's memory failed: the seed's non-zero get_user()/put_user(). */
    static final class UserFault extends Exception {
        private static final long serialVersionUID = 1L;

        UserFault() {
            super(null, null, false, false);
        }
    }

    /** get_user(): word {@code index} of {@code in}. */
    static long get(MemorySegment in, int index) throws UserFault {
        long offset = (long) index * WORD;
        try {
            if (in == null || offset < 0 || in.byteSize() - offset < WORD) {
                throw new UserFault();
            }
            return in.get(LE_WORD, offset);
        } catch (IllegalStateException | IllegalArgumentException | IndexOutOfBoundsException | WrongThreadException
                 | UnsupportedOperationException e) {
            throw new UserFault();
        }
    }

    /** put_user() of one word at the start of {@code out}. */
    static void put(MemorySegment out, long value) throws UserFault {
        try {
            if (out == null || out.byteSize() < WORD) {
                throw new UserFault();
            }
            out.set(LE_WORD, 0, value);
        } catch (IllegalStateException | IllegalArgumentException | IndexOutOfBoundsException | WrongThreadException
                 | UnsupportedOperationException e) {
            throw new UserFault();
        }
    }

    /** copy_to_user() of the first {@code length} bytes of {@code bytes}. */
    static void copyOut(MemorySegment out, byte[] bytes, int length) throws UserFault {
        try {
            if (out == null || out.byteSize() < length) {
                throw new UserFault();
            }
            MemorySegment.copy(bytes, 0, out, ValueLayout.JAVA_BYTE, 0, length);
        } catch (IllegalStateException | IllegalArgumentException | IndexOutOfBoundsException | WrongThreadException
                 | UnsupportedOperationException e) {
            throw new UserFault();
        }
    }

    /** The size of the caller's buffer, or 0 when it cannot be used at all. */
    static long size(MemorySegment buffer) {
        return buffer == null ? 0 : buffer.byteSize();
    }
}
