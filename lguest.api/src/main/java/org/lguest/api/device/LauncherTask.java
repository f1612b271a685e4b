package org.lguest.api.device;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CopyOnWriteArrayList;

import org.lguest.api.cpu.AnonymousMemory;

/**
 * What the Host knows of a Launcher: the guest memory it owns (its address
 * space, against which {@code LHREQ_INITIALIZE} checks base and page-frame
 * limit) and its {@link DescriptorTable}. Safe for use from many threads.
 * <p>
 * Guest memory comes from {@link #allocate}: the task owns it and hands the
 * Launcher a view it cannot free. The seed's kernel held the Launcher's
 * address space until the file was closed; the task does the same, so a
 * Launcher that lets go early ({@link #close}) cannot pull RAM out from
 * under a running guest. Memory the Launcher owns itself ({@link #map})
 * is not accepted as guest RAM: its owner could free it at any time.
 */
public final class LauncherTask implements AutoCloseable {
    private final List<MemorySegment> memory = new CopyOnWriteArrayList<>();
    private final List<Allocation> allocations = new ArrayList<>();
    private final DescriptorTable descriptors = new DescriptorTable();
    private boolean closed;

    /**
     * Hands a native segment to the task. Since 1.2 such memory is only
     * looked up by {@link #resolve}: the Host never runs a guest on it, and
     * {@code LHREQ_INITIALIZE} over it answers {@code EFAULT}.
     *
     * @deprecated use {@link #allocate}; the Host cannot keep a Launcher's own segment alive
     */
    @Deprecated
    public void map(MemorySegment segment) {
        if (!segment.isNative()) {
            throw new IllegalArgumentException("only native memory can be guest memory: " + segment);
        }
        memory.add(segment);
    }

    /** Takes a mapped segment back. */
    @Deprecated
    public void unmap(MemorySegment segment) {
        memory.removeIf(s -> s.address() == segment.address() && s.byteSize() == segment.byteSize());
    }

    /**
     * The part of the task's memory at {@code address} of {@code length}
     * bytes, or empty when no single segment (allocated or mapped) holds all
     * of it (the seed's EFAULT).
     */
    public Optional<MemorySegment> resolve(long address, long length) {
        if (length < 0) {
            return Optional.empty();
        }
        synchronized (allocations) {
            for (Allocation a : allocations) {
                if (a.holds > 0 && a.contains(address, length)) {
                    return Optional.of(a.segment.asSlice(address - a.segment.address(), length));
                }
            }
        }
        for (MemorySegment segment : memory) {
            if (contains(segment, address, length)) {
                return Optional.of(segment.asSlice(address - segment.address(), length));
            }
        }
        return Optional.empty();
    }

    /**
     * {@code bytes} of zeroed, page-aligned guest memory owned by the task:
     * an anonymous mapping whose pages the kernel supplies on first touch.
     * It stays mapped until the task is closed and every {@link Hold} on it
     * is closed; the returned segment then reads as closed.
     *
     * @throws IllegalStateException after {@link #close}
     * @throws OutOfMemoryError when the host refuses the mapping
     * @since 1.2
     */
    public MemorySegment allocate(long bytes) {
        if (bytes <= 0) {
            throw new IllegalArgumentException("guest memory must be at least one byte: " + bytes);
        }
        synchronized (allocations) {
            if (closed) {
                throw new IllegalStateException("the task is closed");
            }
            Arena arena = Arena.ofShared();
            MemorySegment segment;
            try {
                segment = AnonymousMemory.map(arena, bytes);
            } catch (RuntimeException | OutOfMemoryError e) {
                arena.close();
                throw e;
            }
            allocations.add(new Allocation(arena, segment));
            return segment;
        }
    }

    /**
     * A hold on allocated memory at {@code address} of {@code length} bytes,
     * or empty when no single allocation of this open task holds all of it.
     * The memory stays mapped until the hold is closed, whatever the
     * Launcher does meanwhile. The Host takes one at {@code LHREQ_INITIALIZE}
     * and closes it with the file.
     *
     * @since 1.2
     */
    public Optional<Hold> hold(long address, long length) {
        if (length < 0) {
            return Optional.empty();
        }
        synchronized (allocations) {
            if (closed) {
                return Optional.empty();
            }
            for (Allocation a : allocations) {
                if (a.holds > 0 && a.contains(address, length)) {
                    a.holds++;
                    return Optional.of(new Hold(a, a.segment.asSlice(address - a.segment.address(), length)));
                }
            }
        }
        return Optional.empty();
    }

    /**
     * The Launcher lets go of its memory: each allocation is unmapped now,
     * or when the last hold on it (a file still open) is closed. Idempotent.
     */
    @Override
    public void close() {
        synchronized (allocations) {
            if (closed) {
                return;
            }
            closed = true;
            for (Allocation a : List.copyOf(allocations)) {
                release(a);
            }
        }
    }

    public DescriptorTable descriptors() {
        return descriptors;
    }

    private void release(Allocation a) {
        synchronized (allocations) {
            if (--a.holds == 0) {
                allocations.remove(a);
                a.arena.close();
            }
        }
    }

    private static boolean contains(MemorySegment segment, long address, long length) {
        long offset = address - segment.address();
        return offset >= 0 && offset <= segment.byteSize() && length <= segment.byteSize() - offset;
    }

    /** Allocated memory kept mapped until this is closed; close it exactly once (more is harmless). */
    public final class Hold implements AutoCloseable {
        private final Allocation allocation;
        private final MemorySegment segment;
        private boolean released;

        private Hold(Allocation allocation, MemorySegment segment) {
            this.allocation = allocation;
            this.segment = segment;
        }

        /** The held range, valid until {@link #close}. */
        public MemorySegment segment() {
            return segment;
        }

        @Override
        public void close() {
            synchronized (allocations) {
                if (released) {
                    return;
                }
                released = true;
                release(allocation);
            }
        }
    }

    private static final class Allocation {
        final Arena arena;
        final MemorySegment segment;
        /** The task's own (until close) and each Hold's. */
        int holds = 1;

        Allocation(Arena arena, MemorySegment segment) {
            this.arena = arena;
            this.segment = segment;
        }

        boolean contains(long address, long length) {
            return LauncherTask.contains(segment, address, length);
        }
    }
}
