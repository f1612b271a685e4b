package org.lguest.virtio.internal;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;

/** Little-endian, unaligned accessors: virtio structures are little-endian whatever the host. */
final class Le {
    static final ValueLayout.OfShort U16 = ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    static final ValueLayout.OfInt U32 = ValueLayout.JAVA_INT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    static final ValueLayout.OfLong U64 = ValueLayout.JAVA_LONG_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);

    private Le() {
    }

    static int u16(MemorySegment segment, long offset) {
        return Short.toUnsignedInt(segment.get(U16, offset));
    }

    static long u32(MemorySegment segment, long offset) {
        return Integer.toUnsignedLong(segment.get(U32, offset));
    }

    static long u64(MemorySegment segment, long offset) {
        return segment.get(U64, offset);
    }

    static void put16(MemorySegment segment, long offset, int value) {
        segment.set(U16, offset, (short) value);
    }

    static void put32(MemorySegment segment, long offset, long value) {
        segment.set(U32, offset, (int) value);
    }

    /** The mask of a {@code size}-byte access. */
    static long mask(int size) {
        return size >= 8 ? -1L : (1L << (8 * size)) - 1;
    }

    /** Bytes {@code [offset, offset + size)} of {@code value}, as the little-endian access would see them. */
    static long extract(long value, int offset, int size) {
        return (value >>> (8 * offset)) & mask(size);
    }

    /** {@code value} with bytes {@code [offset, offset + size)} replaced by {@code part}. */
    static long insert(long value, int offset, int size, long part) {
        long m = mask(size) << (8 * offset);
        return (value & ~m) | ((part << (8 * offset)) & m);
    }
}
