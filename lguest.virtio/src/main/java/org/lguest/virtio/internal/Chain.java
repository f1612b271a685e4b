package org.lguest.virtio.internal;

import java.lang.foreign.MemorySegment;
import java.util.List;

import org.lguest.api.virtio.DescriptorChain;

/** A descriptor chain whose buffers were all checked to lie in guest RAM. */
final class Chain implements DescriptorChain {
    final SplitVirtqueue queue;
    final long generation;
    private final int head;
    private final List<MemorySegment> readable;
    private final List<MemorySegment> writable;
    private final long readableLength;
    private final long writableLength;
    boolean completed;

    Chain(SplitVirtqueue queue, long generation, int head, List<MemorySegment> readable, List<MemorySegment> writable,
            long readableLength, long writableLength) {
        this.queue = queue;
        this.generation = generation;
        this.head = head;
        this.readable = List.copyOf(readable);
        this.writable = List.copyOf(writable);
        this.readableLength = readableLength;
        this.writableLength = writableLength;
    }

    @Override
    public int head() {
        return head;
    }

    @Override
    public List<MemorySegment> readable() {
        return readable;
    }

    @Override
    public List<MemorySegment> writable() {
        return writable;
    }

    @Override
    public long readableLength() {
        return readableLength;
    }

    @Override
    public long writableLength() {
        return writableLength;
    }

    @Override
    public long read(long offset, MemorySegment destination) {
        return copy(readable, offset, destination, true);
    }

    @Override
    public long write(long offset, MemorySegment source) {
        return copy(writable, offset, source, false);
    }

    private static long copy(List<MemorySegment> buffers, long offset, MemorySegment other, boolean fromBuffers) {
        if (offset < 0) {
            throw new IllegalArgumentException("negative offset " + offset);
        }
        long done = 0;
        long want = other.byteSize();
        long skip = offset;
        for (MemorySegment buffer : buffers) {
            if (done == want) {
                break;
            }
            long size = buffer.byteSize();
            if (skip >= size) {
                skip -= size;
                continue;
            }
            long n = Math.min(size - skip, want - done);
            if (fromBuffers) {
                MemorySegment.copy(buffer, skip, other, done, n);
            } else {
                MemorySegment.copy(other, done, buffer, skip, n);
            }
            done += n;
            skip = 0;
        }
        return done;
    }

    @Override
    public String toString() {
        return "chain " + head + " (" + readableLength + " readable, " + writableLength + " writable)";
    }
}
