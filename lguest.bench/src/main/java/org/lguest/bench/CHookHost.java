package org.lguest.bench;

import static java.lang.foreign.ValueLayout.ADDRESS;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.SymbolLookup;
import java.lang.invoke.MethodHandle;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;

/**
 * The C in-hook host ({@code bare_hook.c}, next to this class on the
 * classpath), compiled with gcc against libunicorn.so.2 the first time a
 * floor needs it, into a temporary directory, and called through FFM only
 * at NOTIFY and SHUTDOWN: between those, every hypercall is handled in C
 * inside Unicorn's interrupt hook.
 */
final class CHookHost {
    private static CHookHost loaded;

    private final MethodHandle open, next, close;

    private CHookHost(Path library) {
        Linker linker = Linker.nativeLinker();
        SymbolLookup lib = SymbolLookup.libraryLookup(library, Arena.global());
        open = linker.downcallHandle(lib.find("bare_open").orElseThrow(), FunctionDescriptor.of(ADDRESS, ADDRESS, JAVA_LONG, ADDRESS,
            JAVA_LONG, JAVA_LONG, JAVA_INT, JAVA_LONG, JAVA_LONG, JAVA_INT, JAVA_INT, JAVA_INT));
        next = linker.downcallHandle(lib.find("bare_next").orElseThrow(), FunctionDescriptor.of(JAVA_LONG, ADDRESS, ADDRESS));
        close = linker.downcallHandle(lib.find("bare_close").orElseThrow(), FunctionDescriptor.ofVoid(ADDRESS));
    }

    /** Compiles and loads the C host once per JVM; a missing gcc or a failed build is an exception saying so. */
    static synchronized CHookHost load() {
        if (loaded == null) {
            loaded = new CHookHost(compile());
        }
        return loaded;
    }

    private static Path compile() {
        try {
            Path dir = Files.createTempDirectory("lguest-bench-c");
            Path source = dir.resolve("bare_hook.c"), library = dir.resolve("bare_hook.so");
            try (InputStream in = CHookHost.class.getResourceAsStream("bare_hook.c")) {
                if (in == null) {
                    throw new IllegalStateException("bare_hook.c is not on the classpath (rebuild lguest.bench)");
                }
                Files.copy(in, source);
            }
            Process gcc = new ProcessBuilder("gcc", "-O2", "-shared", "-fPIC", "-o", library.toString(), source.toString(),
                "-l:libunicorn.so.2").redirectErrorStream(true).start();
            String output = new String(gcc.getInputStream().readAllBytes());
            if (!gcc.waitFor(60, TimeUnit.SECONDS) || gcc.exitValue() != 0) {
                throw new IllegalStateException("gcc could not build the C floor (bare_hook.c): " + output);
            }
            library.toFile().deleteOnExit();
            source.toFile().deleteOnExit();
            dir.toFile().deleteOnExit();
            return library;
        } catch (IOException e) {
            throw new UncheckedIOException("building the C floor needs gcc (apt-get install gcc)", e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException(e);
        }
    }

    /** One engine: RAM at 0, the host page at its address; handle for {@link #next}. */
    MemorySegment open(MemorySegment ram, MemorySegment host, long hostAddress, long gdt, int gdtLimit, long begin, long until,
            int trapEntry, int notify, int shutdown) {
        try {
            // SAFETY: the C host keeps both pointers until bare_close; BareRun closes it before freeing them.
            MemorySegment b = (MemorySegment) open.invokeExact(ram, ram.byteSize(), host, hostAddress, gdt, gdtLimit, begin, until,
                trapEntry, notify, shutdown);
            if (b.equals(MemorySegment.NULL)) {
                throw new IllegalStateException("the C floor could not open or set up its Unicorn engine");
            }
            return b;
        } catch (Throwable t) {
            throw t instanceof RuntimeException r ? r : new IllegalStateException(t);
        }
    }

    /** Runs to the next NOTIFY or SHUTDOWN: the call, with EBX in {@code arg}; negative on anything else. */
    long next(MemorySegment bare, MemorySegment arg) {
        try {
            return (long) next.invokeExact(bare, arg);
        } catch (Throwable t) {
            throw t instanceof RuntimeException r ? r : new IllegalStateException(t);
        }
    }

    void close(MemorySegment bare) {
        try {
            close.invokeExact(bare);
        } catch (Throwable t) {
            throw t instanceof RuntimeException r ? r : new IllegalStateException(t);
        }
    }
}
