package org.lguest.launcher.internal;

import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.MethodHandle;

/**
 * Guest RAM as an anonymous private mapping of its own: the kernel hands out
 * its pages on first touch, so RAM a guest never uses costs nothing (a
 * 128 MiB guest that touches 2 MiB holds about 2 MiB). An arena's own
 * {@code allocate} would not do: it zeroes what it allocates, touching every
 * page. The mapping is undone when the arena closes.
 */
final class GuestMemory {
    private static final int PROT_READ = 1;
    private static final int PROT_WRITE = 2;
    private static final int MAP_PRIVATE = 0x02;
    private static final int MAP_ANONYMOUS = 0x20;
    /** No swap is reserved up front: the pages are only promised, as lguest's zero-mapped RAM was. */
    private static final int MAP_NORESERVE = 0x4000;
    private static final long MAP_FAILED = -1;

    private static final MethodHandle MMAP;
    private static final MethodHandle MUNMAP;

    static {
        Linker linker = Linker.nativeLinker();
        MMAP = linker.downcallHandle(linker.defaultLookup().find("mmap").orElseThrow(),
            FunctionDescriptor.of(ValueLayout.ADDRESS, ValueLayout.ADDRESS, ValueLayout.JAVA_LONG, ValueLayout.JAVA_INT,
                ValueLayout.JAVA_INT, ValueLayout.JAVA_INT, ValueLayout.JAVA_LONG));
        MUNMAP = linker.downcallHandle(linker.defaultLookup().find("munmap").orElseThrow(),
            FunctionDescriptor.of(ValueLayout.JAVA_INT, ValueLayout.ADDRESS, ValueLayout.JAVA_LONG));
    }

    private GuestMemory() {
    }

    /**
     * {@code bytes} of zero memory, page-aligned, released when {@code arena} closes.
     *
     * @throws OutOfMemoryError when the mapping is refused
     */
    static MemorySegment map(Arena arena, long bytes) {
        MemorySegment address;
        try {
            address = (MemorySegment) MMAP.invokeExact(MemorySegment.NULL, bytes, PROT_READ | PROT_WRITE,
                MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0L);
        } catch (Throwable e) {
            throw new IllegalStateException("mmap failed", e);
        }
        if (address.address() == MAP_FAILED) {
            throw new OutOfMemoryError("mmap of " + bytes + " bytes refused");
        }
        return address.reinterpret(bytes, arena, GuestMemory::unmap);
    }

    private static void unmap(MemorySegment mapping) {
        try {
            int ignored = (int) MUNMAP.invokeExact(mapping, mapping.byteSize());
        } catch (Throwable e) {
            // Nothing to do at teardown: the address space is only lost until the JVM exits.
        }
    }
}
