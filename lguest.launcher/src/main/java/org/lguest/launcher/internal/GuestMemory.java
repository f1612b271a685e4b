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
 * page. The mapping is undone when the arena closes. Public for the
 * benchmarks' floors, which must get their RAM the same way.
 */
public final class GuestMemory {
    private static final int PROT_READ = 1;
    private static final int PROT_WRITE = 2;
    private static final int MAP_PRIVATE = 0x02;
    private static final int MAP_ANONYMOUS = 0x20;
    /** No swap is reserved up front: the pages are only promised, as lguest's zero-mapped RAM was. */
    private static final int MAP_NORESERVE = 0x4000;
    private static final long MAP_FAILED = -1;

    private static final MethodHandle MMAP;
    private static final MethodHandle MUNMAP;
    private static final MethodHandle MINCORE;

    static {
        Linker linker = Linker.nativeLinker();
        MMAP = linker.downcallHandle(linker.defaultLookup().find("mmap").orElseThrow(),
            FunctionDescriptor.of(ValueLayout.ADDRESS, ValueLayout.ADDRESS, ValueLayout.JAVA_LONG, ValueLayout.JAVA_INT,
                ValueLayout.JAVA_INT, ValueLayout.JAVA_INT, ValueLayout.JAVA_LONG));
        MUNMAP = linker.downcallHandle(linker.defaultLookup().find("munmap").orElseThrow(),
            FunctionDescriptor.of(ValueLayout.JAVA_INT, ValueLayout.ADDRESS, ValueLayout.JAVA_LONG));
        MINCORE = linker.downcallHandle(linker.defaultLookup().find("mincore").orElseThrow(),
            FunctionDescriptor.of(ValueLayout.JAVA_INT, ValueLayout.ADDRESS, ValueLayout.JAVA_LONG, ValueLayout.ADDRESS));
    }

    /**
     * How many bytes of a page-aligned mapping the host has backed so far
     * (mincore), for admission control; the whole size when it cannot tell.
     */
    public static long resident(MemorySegment mapping) {
        long pages = (mapping.byteSize() + 4095) / 4096;
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment vector = arena.allocate(pages);
            // SAFETY: the caller keeps the mapping alive across the call (it is the scope of the segment passed).
            int rc = (int) MINCORE.invokeExact(mapping, mapping.byteSize(), vector);
            if (rc != 0) {
                return mapping.byteSize();
            }
            long resident = 0;
            for (long i = 0; i < pages; i++) {
                resident += vector.get(ValueLayout.JAVA_BYTE, i) & 1;
            }
            return resident * 4096;
        } catch (Throwable e) {
            return mapping.byteSize();
        }
    }

    private GuestMemory() {
    }

    /**
     * {@code bytes} of zero memory, page-aligned, released when {@code arena} closes.
     *
     * @throws OutOfMemoryError when the mapping is refused
     */
    public static MemorySegment map(Arena arena, long bytes) {
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
        // SAFETY: mmap gave exactly these bytes; the view is bounded to them and owned by arena, which unmaps them once,
        // when it closes. Whoever maps the view into an engine closes that engine before the arena (BareRun does).
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
