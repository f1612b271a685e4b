package org.lguest.api.cpu;

import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.MethodHandle;

/**
 * Zeroed memory that costs the host only the pages that are touched: an
 * anonymous private mapping ({@code mmap}), whose pages the kernel backs on
 * first use. An arena's own {@code allocate} would not do: it zeroes what
 * it hands out, and so touches every page. Guest RAM (a 128 MiB guest that
 * touches 2 MiB holds about 2 MiB) and each guest's {@link HostArea} come
 * from here. Linux only. Stateless, so safe from any thread.
 *
 * @since 1.3
 */
public final class AnonymousMemory {
    private static final int PAGE = 4096;
    private static final int PROT_READ_WRITE = 1 | 2;
    /** MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE: no swap is set aside; the pages are only promised, as lguest's were. */
    private static final int MAP_PRIVATE_ANONYMOUS_NORESERVE = 0x02 | 0x20 | 0x4000;
    private static final long MAP_FAILED = -1;
    private static final MethodHandle MMAP;
    private static final MethodHandle MUNMAP;
    private static final MethodHandle MINCORE;

    static {
        Linker linker = Linker.nativeLinker();
        var libc = linker.defaultLookup();
        MMAP = linker.downcallHandle(libc.find("mmap").orElseThrow(), FunctionDescriptor.of(ValueLayout.ADDRESS, ValueLayout.ADDRESS,
            ValueLayout.JAVA_LONG, ValueLayout.JAVA_INT, ValueLayout.JAVA_INT, ValueLayout.JAVA_INT, ValueLayout.JAVA_LONG));
        MUNMAP = linker.downcallHandle(libc.find("munmap").orElseThrow(),
            FunctionDescriptor.of(ValueLayout.JAVA_INT, ValueLayout.ADDRESS, ValueLayout.JAVA_LONG));
        MINCORE = linker.downcallHandle(libc.find("mincore").orElseThrow(),
            FunctionDescriptor.of(ValueLayout.JAVA_INT, ValueLayout.ADDRESS, ValueLayout.JAVA_LONG, ValueLayout.ADDRESS));
    }

    private AnonymousMemory() {
    }

    /**
     * {@code bytes} of zero memory, page-aligned, unmapped when {@code arena}
     * closes (the segment then reads as closed).
     *
     * @throws OutOfMemoryError when the kernel refuses the mapping
     */
    public static MemorySegment map(Arena arena, long bytes) {
        if (bytes <= 0) {
            throw new IllegalArgumentException("a mapping of " + bytes + " bytes");
        }
        MemorySegment address;
        try {
            address = (MemorySegment) MMAP.invokeExact(MemorySegment.NULL, bytes, PROT_READ_WRITE, MAP_PRIVATE_ANONYMOUS_NORESERVE,
                -1, 0L);
        } catch (Throwable e) {
            throw new IllegalStateException("mmap failed", e);
        }
        if (address.address() == MAP_FAILED) {
            throw new OutOfMemoryError("mmap of " + bytes + " bytes refused");
        }
        // SAFETY: the mapping is this segment's alone, and only the arena's close unmaps it, after which the segment is dead.
        return address.reinterpret(bytes, arena, AnonymousMemory::unmap);
    }

    /**
     * How many bytes of a page-aligned mapping the host backs now
     * ({@code mincore}); the whole size when it cannot tell.
     */
    public static long resident(MemorySegment mapping) {
        long pages = (mapping.byteSize() + PAGE - 1) / PAGE;
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment vector = arena.allocate(pages);
            /*
             * SAFETY: mincore reads no byte of the range, only the kernel's record of which pages are backed. It
             * gets the bare address, so the call does not hold the owner's arena open: a guest ending on another
             * thread must be able to close it (an admission check counting the running guests once made that
             * close fail). A range unmapped meanwhile makes mincore fail with ENOMEM: the whole size is answered.
             */
            int rc = (int) MINCORE.invokeExact(MemorySegment.ofAddress(mapping.address()), mapping.byteSize(), vector);
            if (rc != 0) {
                return mapping.byteSize();
            }
            long resident = 0;
            for (long i = 0; i < pages; i++) {
                resident += vector.get(ValueLayout.JAVA_BYTE, i) & 1;
            }
            return resident * PAGE;
        } catch (Throwable e) {
            return mapping.byteSize();
        }
    }

    private static void unmap(MemorySegment mapping) {
        try {
            int ignored = (int) MUNMAP.invokeExact(mapping, mapping.byteSize());
        } catch (Throwable e) {
            // Nothing to do at teardown: the address range is only lost until the JVM exits.
        }
    }
}
