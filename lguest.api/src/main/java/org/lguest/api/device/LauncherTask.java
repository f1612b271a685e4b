package org.lguest.api.device;

import java.lang.foreign.MemorySegment;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CopyOnWriteArrayList;

/**
 * What the Host knows of a Launcher: the native memory it owns (its address
 * space, against which {@code LHREQ_INITIALIZE} checks base and page-frame
 * limit) and its {@link DescriptorTable}. Safe for use from many threads.
 */
public final class LauncherTask {
    private final List<MemorySegment> memory = new CopyOnWriteArrayList<>();
    private final DescriptorTable descriptors = new DescriptorTable();

    /** Hands a native segment to the task: the Host may reach it through this task's files. */
    public void map(MemorySegment segment) {
        if (!segment.isNative()) {
            throw new IllegalArgumentException("only native memory can be guest memory: " + segment);
        }
        memory.add(segment);
    }

    /** Takes a segment back; guests already initialized over it keep their reference. */
    public void unmap(MemorySegment segment) {
        memory.removeIf(s -> s.address() == segment.address() && s.byteSize() == segment.byteSize());
    }

    /**
     * The part of the task's memory at {@code address} of {@code length}
     * bytes, or empty when no single mapped segment holds all of it (the
     * seed's EFAULT).
     */
    public Optional<MemorySegment> resolve(long address, long length) {
        if (length < 0) {
            return Optional.empty();
        }
        for (MemorySegment segment : memory) {
            long offset = address - segment.address();
            if (offset >= 0 && offset <= segment.byteSize() && length <= segment.byteSize() - offset) {
                return Optional.of(segment.asSlice(offset, length));
            }
        }
        return Optional.empty();
    }

    public DescriptorTable descriptors() {
        return descriptors;
    }
}
