package org.lguest.cpu.x86.internal.unicorn;

import static java.lang.foreign.ValueLayout.ADDRESS;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;

import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.SymbolLookup;
import java.lang.invoke.MethodHandle;

/**
 * The one place that binds libunicorn.so.2 (Unicorn 2.1 or newer) with FFM:
 * only the functions the backend uses. Constants come from
 * /usr/include/unicorn/unicorn.h and x86.h. Every failure carries Unicorn's
 * own message ({@code uc_strerror}).
 */
public final class Unicorn {
    public static final String LIBRARY = "libunicorn.so.2";
    static final String INSTALL_HINT = "install Unicorn 2.1.1, Debian 13's package libunicorn2t64 (apt-get install libunicorn2t64; "
            + "./test or ./lguest installs it when run as root)";
    /** The oldest Unicorn that translates x86 virtual addresses through the page tables (unicorn issue #1953). */
    static final int MINIMUM_MAJOR = 2, MINIMUM_MINOR = 1;

    static final int UC_ARCH_X86 = 4;
    static final int UC_MODE_32 = 4;
    static final int UC_HOOK_INTR = 1;
    /** UC_HOOK_MEM_READ_UNMAPPED | UC_HOOK_MEM_WRITE_UNMAPPED | UC_HOOK_MEM_FETCH_UNMAPPED */
    static final int UC_HOOK_MEM_UNMAPPED = 0x70;
    static final int UC_HOOK_INSN = 2;
    static final int UC_HOOK_CODE = 4;
    static final int UC_X86_INS_IN = 218, UC_X86_INS_OUT = 500;
    public static final int UC_PROT_ALL = 7;

    // x86.h uc_x86_reg
    public static final int EAX = 19, EBP = 20, EBX = 21, ECX = 22, EDI = 23, EDX = 24, EFLAGS = 25, EIP = 26,
            ES = 28, ESI = 29, ESP = 30, FS = 32, GS = 33, SS = 49, CS = 11, DS = 17,
            CR0 = 50, CR2 = 52, CR3 = 53, CR4 = 54, IDTR = 242, GDTR = 243, LDTR = 244, TR = 245;

    final MethodHandle open;
    final MethodHandle close;
    final MethodHandle strerror;
    final MethodHandle memMapPtr;
    final MethodHandle regRead;
    final MethodHandle regWrite;
    final MethodHandle regReadBatch;
    final MethodHandle regWriteBatch;
    final MethodHandle hookAdd;
    final MethodHandle hookAddInstruction;
    final MethodHandle emuStart;
    final MethodHandle emuStop;
    final MethodHandle contextAlloc;
    final MethodHandle contextSave;
    final MethodHandle contextRestore;
    final MethodHandle contextFree;
    final MethodHandle contextSize;
    final MethodHandle version;
    final MethodHandle ctlRemoveCache;
    final MethodHandle ctlNoArguments;
    final MethodHandle ctlWriteInt;
    final MethodHandle ctlReadPointer;
    /**
     * UC_CTL_WRITE(UC_CTL_TB_REMOVE_CACHE, 2), UC_CTL_WRITE(UC_CTL_TB_FLUSH, 0) and
     * UC_CTL_WRITE(UC_CTL_TLB_FLUSH, 0) from unicorn.h (the last one is new in 2.1).
     */
    static final int CTL_REMOVE_CACHE = 0x4800_0009, CTL_FLUSH_CODE = 0x4000_000A, CTL_FLUSH_TLB = 0x4000_000B;
    /**
     * UC_CTL_WRITE(UC_CTL_TCG_BUFFER_SIZE, 1) and UC_CTL_READ(UC_CTL_TCG_BUFFER_SIZE, 1): the translation cache's size
     * in bytes, a uint32_t; written before the engine's first use, which is when Unicorn maps the cache.
     */
    static final int CTL_SET_CODE_CACHE = 0x4400_000D, CTL_GET_CODE_CACHE = 0x8400_000D;
    final Linker linker = Linker.nativeLinker();
    /** The machine code of Unicorn's exit-check generator, read by {@link BlockBoundaryStops}; NULL when not exported. */
    final MemorySegment exitCheckCode;

    private Unicorn(SymbolLookup lib) {
        open = bind(lib, "uc_open", FunctionDescriptor.of(JAVA_INT, JAVA_INT, JAVA_INT, ADDRESS));
        close = bind(lib, "uc_close", FunctionDescriptor.of(JAVA_INT, ADDRESS));
        strerror = bind(lib, "uc_strerror", FunctionDescriptor.of(ADDRESS, JAVA_INT));
        memMapPtr = bind(lib, "uc_mem_map_ptr", FunctionDescriptor.of(JAVA_INT, ADDRESS, JAVA_LONG, JAVA_LONG, JAVA_INT, ADDRESS));
        // Short calls that never call back into Java: skip the thread-state transition.
        regRead = bind(lib, "uc_reg_read", FunctionDescriptor.of(JAVA_INT, ADDRESS, JAVA_INT, ADDRESS), Linker.Option.critical(false));
        regWrite = bind(lib, "uc_reg_write", FunctionDescriptor.of(JAVA_INT, ADDRESS, JAVA_INT, ADDRESS), Linker.Option.critical(false));
        regReadBatch = bind(lib, "uc_reg_read_batch", FunctionDescriptor.of(JAVA_INT, ADDRESS, ADDRESS, ADDRESS, JAVA_INT),
                Linker.Option.critical(false));
        regWriteBatch = bind(lib, "uc_reg_write_batch", FunctionDescriptor.of(JAVA_INT, ADDRESS, ADDRESS, ADDRESS, JAVA_INT),
                Linker.Option.critical(false));
        // uc_hook_add is variadic after its seventh argument; UC_HOOK_INTR passes nothing there.
        hookAdd = bind(lib, "uc_hook_add", FunctionDescriptor.of(JAVA_INT, ADDRESS, ADDRESS, JAVA_INT, ADDRESS, ADDRESS, JAVA_LONG, JAVA_LONG),
                Linker.Option.firstVariadicArg(7));
        hookAddInstruction = bind(lib, "uc_hook_add",
                FunctionDescriptor.of(JAVA_INT, ADDRESS, ADDRESS, JAVA_INT, ADDRESS, ADDRESS, JAVA_LONG, JAVA_LONG, JAVA_INT),
                Linker.Option.firstVariadicArg(7));
        emuStart = bind(lib, "uc_emu_start", FunctionDescriptor.of(JAVA_INT, ADDRESS, JAVA_LONG, JAVA_LONG, JAVA_LONG, JAVA_LONG));
        emuStop = bind(lib, "uc_emu_stop", FunctionDescriptor.of(JAVA_INT, ADDRESS));
        contextAlloc = bind(lib, "uc_context_alloc", FunctionDescriptor.of(JAVA_INT, ADDRESS, ADDRESS));
        contextSave = bind(lib, "uc_context_save", FunctionDescriptor.of(JAVA_INT, ADDRESS, ADDRESS));
        contextRestore = bind(lib, "uc_context_restore", FunctionDescriptor.of(JAVA_INT, ADDRESS, ADDRESS));
        contextFree = bind(lib, "uc_context_free", FunctionDescriptor.of(JAVA_INT, ADDRESS));
        contextSize = bind(lib, "uc_context_size", FunctionDescriptor.of(JAVA_LONG, ADDRESS));
        version = bind(lib, "uc_version", FunctionDescriptor.of(JAVA_INT, ADDRESS, ADDRESS));
        // uc_ctl is variadic after the control word.
        ctlRemoveCache = bind(lib, "uc_ctl", FunctionDescriptor.of(JAVA_INT, ADDRESS, JAVA_INT, JAVA_LONG, JAVA_LONG),
                Linker.Option.firstVariadicArg(2));
        ctlNoArguments = bind(lib, "uc_ctl", FunctionDescriptor.of(JAVA_INT, ADDRESS, JAVA_INT), Linker.Option.firstVariadicArg(2));
        ctlWriteInt = bind(lib, "uc_ctl", FunctionDescriptor.of(JAVA_INT, ADDRESS, JAVA_INT, JAVA_INT), Linker.Option.firstVariadicArg(2));
        ctlReadPointer = bind(lib, "uc_ctl", FunctionDescriptor.of(JAVA_INT, ADDRESS, JAVA_INT, ADDRESS),
                Linker.Option.firstVariadicArg(2));
        exitCheckCode = lib.find(BlockBoundaryStops.SYMBOL).orElse(MemorySegment.NULL);
    }

    /** Binds {@link #LIBRARY}; the library stays loaded for the life of the JVM (it cannot be unloaded safely). */
    public static Unicorn load() {
        return load(LIBRARY);
    }

    /** Binds the named library; a missing or too old one fails with one line that says what to install. */
    public static Unicorn load(String library) {
        SymbolLookup lib;
        try {
            lib = SymbolLookup.libraryLookup(library, Arena.global());
        } catch (IllegalArgumentException e) {
            throw new UnicornException("Unicorn is missing: cannot load " + library + "; " + INSTALL_HINT);
        }
        Unicorn unicorn = new Unicorn(lib);
        requireSupported(unicorn.versionCode());
        return unicorn;
    }

    /**
     * Refuses a Unicorn older than 2.1: 2.0 walks the page tables only for
     * permissions and then uses the virtual address as the physical one, and
     * the backend no longer works around that.
     */
    static void requireSupported(int versionCode) {
        int major = versionCode >>> 24, minor = versionCode >>> 16 & 0xFF;
        if (major < MINIMUM_MAJOR || major == MINIMUM_MAJOR && minor < MINIMUM_MINOR) {
            throw new UnicornException("Unicorn " + versionText(versionCode) + " is too old (it does not translate guest addresses); "
                    + INSTALL_HINT);
        }
    }

    private MethodHandle bind(SymbolLookup lib, String name, FunctionDescriptor descriptor, Linker.Option... options) {
        MemorySegment symbol = lib.find(name).orElseThrow(
                () -> new UnicornException("Unicorn library has no " + name + ": it must be Unicorn 2; " + INSTALL_HINT));
        return linker.downcallHandle(symbol, descriptor, options);
    }

    /** "major.minor.patch" of the loaded library. */
    public String version() {
        return versionText(versionCode());
    }

    /** {@code uc_version}'s answer: major, minor, patch and extra, a byte each from the top. */
    int versionCode() {
        try {
            // NULL out-parameters: Unicorn then only returns the combined number.
            return (int) version.invokeExact(MemorySegment.NULL, MemorySegment.NULL);
        } catch (Throwable t) {
            throw UnicornException.wrap("uc_version", t);
        }
    }

    static String versionText(int code) {
        return (code >>> 24) + "." + (code >>> 16 & 0xFF) + "." + (code >>> 8 & 0xFF);
    }

    /** Unicorn's own text for an error code. */
    public String message(int error) {
        try {
            MemorySegment text = (MemorySegment) strerror.invokeExact(error);
            // SAFETY: uc_strerror answers a constant string in the library's read-only data, loaded for as long as this
            // Unicorn is; only read, and 200 bytes only bound the search for its NUL (Unicorn's messages are shorter).
            return text.reinterpret(200).getString(0);
        } catch (Throwable t) {
            return "Unicorn error " + error;
        }
    }

    void check(String call, int error) {
        if (error != 0) {
            throw new UnicornException(call + ": " + message(error), error);
        }
    }
}
