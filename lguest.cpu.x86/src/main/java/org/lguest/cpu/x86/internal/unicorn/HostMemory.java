package org.lguest.cpu.x86.internal.unicorn;

import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.MethodHandle;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;

/**
 * What Unicorn's engines cost the host process beyond their own
 * mappings, and giving it back.
 * <p>
 * An engine allocates megabytes from the C heap (its CPU state, TLBs,
 * the hash table of translated blocks). After {@code uc_close} glibc keeps
 * the freed memory in its arenas for reuse, and one arena per thread that
 * ran an engine: after a thousand guests stop, the process would keep
 * gigabytes it no longer uses. {@link #trimSoon} asks glibc
 * ({@code malloc_trim(0)}) to hand free pages back, on a virtual thread,
 * so that closing an engine does not wait for it.
 * <p>
 * Transparent huge pages: Unicorn advises the kernel to back its
 * translation cache with 2 MiB pages, so the first translated block of an
 * idle guest costs 2 MiB. {@link #noHugePages} turns them off for this
 * process ({@code prctl(PR_SET_THP_DISABLE)}), which only the cache asks
 * for: the JVM uses them only with {@code -XX:+UseTransparentHugePages}.
 * <p>
 * Without glibc (no {@code malloc_trim}) or without the prctl, each is
 * skipped and counted. Thread-safe: the state is atomic.
 */
public final class HostMemory {
    private static final int PR_SET_THP_DISABLE = 41;
    private static final MethodHandle MALLOC_TRIM;
    private static final MethodHandle PRCTL;
    private static final AtomicBoolean HUGE_PAGES_OFF = new AtomicBoolean();
    /** A trim is asked for and has not started yet: closes meanwhile share it. */
    private static final AtomicBoolean TRIM_PENDING = new AtomicBoolean();
    private static final AtomicLong TRIMS = new AtomicLong();
    /** Failure counters: a trim or a prctl that could not be made (missing from the C library, or refused). */
    private static final AtomicLong TRIM_FAILURES = new AtomicLong(), PRCTL_FAILURES = new AtomicLong();

    static {
        Linker linker = Linker.nativeLinker();
        var libc = linker.defaultLookup();
        MALLOC_TRIM = libc.find("malloc_trim")
                .map(f -> linker.downcallHandle(f, FunctionDescriptor.of(ValueLayout.JAVA_INT, ValueLayout.JAVA_LONG))).orElse(null);
        PRCTL = libc.find("prctl").map(f -> linker.downcallHandle(f, FunctionDescriptor.of(ValueLayout.JAVA_INT, ValueLayout.JAVA_INT,
                ValueLayout.JAVA_LONG, ValueLayout.JAVA_LONG, ValueLayout.JAVA_LONG, ValueLayout.JAVA_LONG),
                Linker.Option.firstVariadicArg(1))).orElse(null);
    }

    private HostMemory() {
    }

    /** Turns transparent huge pages off for this process, once. */
    static void noHugePages() {
        if (!HUGE_PAGES_OFF.compareAndSet(false, true)) {
            return;
        }
        try {
            if (PRCTL == null || (int) PRCTL.invokeExact(PR_SET_THP_DISABLE, 1L, 0L, 0L, 0L) != 0) {
                PRCTL_FAILURES.incrementAndGet();
            }
        } catch (Throwable t) {
            PRCTL_FAILURES.incrementAndGet();
        }
    }

    /** Whether {@link #noHugePages} has turned them off for this process. */
    public static boolean hugePagesOff() {
        return HUGE_PAGES_OFF.get() && PRCTL_FAILURES.get() == 0;
    }

    /** A trim on a virtual thread; asks made while one is pending share it. */
    static void trimSoon() {
        if (TRIM_PENDING.compareAndSet(false, true)) {
            Thread.ofVirtual().name("lguest-heap-trim").start(() -> {
                TRIM_PENDING.set(false);
                trim();
            });
        }
    }

    /**
     * {@code malloc_trim(0)} now: free C-heap pages go back to the system.
     *
     * @return whether glibc gave any back
     */
    public static boolean trim() {
        if (MALLOC_TRIM == null) {
            TRIM_FAILURES.incrementAndGet();
            return false;
        }
        try {
            TRIMS.incrementAndGet();
            return (int) MALLOC_TRIM.invokeExact(0L) != 0;
        } catch (Throwable t) {
            TRIM_FAILURES.incrementAndGet();
            return false;
        }
    }

    /** Trims made so far (each may have served many closed engines). */
    public static long trims() {
        return TRIMS.get();
    }

    /** Trims and prctls that could not be made. */
    public static long failures() {
        return TRIM_FAILURES.get() + PRCTL_FAILURES.get();
    }
}
