package org.lguest.cpu.x86.internal.unicorn;

import static java.lang.foreign.ValueLayout.ADDRESS;
import static java.lang.foreign.ValueLayout.JAVA_BOOLEAN;
import static java.lang.foreign.ValueLayout.JAVA_BYTE;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;
import static java.lang.foreign.ValueLayout.JAVA_SHORT;

import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.MemorySegment;
import java.lang.invoke.MethodHandles;
import java.lang.invoke.MethodType;

import org.lguest.api.cpu.PortIo;

/**
 * One Unicorn engine in 32-bit x86 mode, with an interrupt hook that stops
 * emulation at every interrupt and exception, and port I/O handed to a
 * {@link PortIo} as it happens. Driven by one thread at a time; only
 * {@link #stop} may come from another.
 */
public final class Engine implements AutoCloseable {
    private static final int MAX_BATCH = 32;
    /** Emulation never gets a time or instruction limit: the guest runs until it traps or is stopped. */
    private static final long NO_TIMEOUT = 0, NO_COUNT = 0;
    private static final long CR0_PG = 1L << 31;

    private final Unicorn unicorn;
    private final Arena arena = Arena.ofShared();
    private final MemorySegment handle;
    private final MemorySegment scratch;
    private final MemorySegment batchIds;
    private final MemorySegment batchPointers;
    private final MemorySegment batchValues;
    private final Object lifecycle = new Object();
    private MemorySegment context;
    private MemorySegment contextBytes;
    private boolean closed;
    /** The vector the hook saw during the current run, or -1. Written on the running thread. */
    private int interrupt = -1;
    private Throwable hookFailure;
    private long unmappedAddress = -1;
    /** Where in/out go; null: no device anywhere. Set and used on the running thread. */
    private PortIo portIo;

    private Engine(Unicorn unicorn, long codeCacheBytes) {
        this.unicorn = unicorn;
        MemorySegment opened = MemorySegment.NULL;
        try {
            MemorySegment out = arena.allocate(ADDRESS);
            unicorn.check("uc_open(X86, MODE_32)", (int) unicorn.open.invokeExact(Unicorn.UC_ARCH_X86, Unicorn.UC_MODE_32, out));
            opened = out.get(ADDRESS, 0);
            handle = opened;
            if (codeCacheBytes != DEFAULT_CODE_CACHE) {
                // A small cache is for paying only for what is translated: no huge page may back it all at once.
                HostMemory.noHugePages();
                // Before anything below: the first hook makes Unicorn set itself up, and map the cache at the size it has then.
                unicorn.check("uc_ctl(UC_CTL_TCG_BUFFER_SIZE, " + codeCacheBytes + ")",
                        (int) unicorn.ctlWriteInt.invokeExact(handle, Unicorn.CTL_SET_CODE_CACHE, (int) codeCacheBytes));
            }
            scratch = arena.allocate(64, 8);
            batchIds = arena.allocate(JAVA_INT, MAX_BATCH);
            batchValues = arena.allocate(JAVA_LONG, MAX_BATCH);
            batchPointers = arena.allocate(ADDRESS, MAX_BATCH);
            for (int i = 0; i < MAX_BATCH; i++) {
                batchPointers.setAtIndex(ADDRESS, i, batchValues.asSlice(8L * i, 8));
            }
            // SAFETY: every upcall stub below lives in this engine's arena, which close() frees only after uc_close, so
            // Unicorn never calls a freed stub; it calls them only inside uc_emu_start, on the thread running it. A
            // construction that fails closes the half-built engine before the arena too.
            var target = MethodHandles.lookup()
                    .findVirtual(Engine.class, "onInterrupt", MethodType.methodType(void.class, MemorySegment.class, int.class, MemorySegment.class))
                    .bindTo(this);
            MemorySegment stub = unicorn.linker.upcallStub(target, FunctionDescriptor.ofVoid(ADDRESS, JAVA_INT, ADDRESS), arena);
            MemorySegment hook = arena.allocate(JAVA_LONG);
            // begin > end: the hook covers every address.
            unicorn.check("uc_hook_add(UC_HOOK_INTR)",
                    (int) unicorn.hookAdd.invokeExact(handle, hook, Unicorn.UC_HOOK_INTR, stub, MemorySegment.NULL, 1L, 0L));
            var unmapped = MethodHandles.lookup()
                    .findVirtual(Engine.class, "onUnmapped", MethodType.methodType(boolean.class, MemorySegment.class, int.class,
                            long.class, int.class, long.class, MemorySegment.class))
                    .bindTo(this);
            // SAFETY: in the engine's arena, like the stub above; freed only after uc_close.
            MemorySegment unmappedStub = unicorn.linker.upcallStub(unmapped,
                    FunctionDescriptor.of(JAVA_BOOLEAN, ADDRESS, JAVA_INT, JAVA_LONG, JAVA_INT, JAVA_LONG, ADDRESS), arena);
            unicorn.check("uc_hook_add(UC_HOOK_MEM_UNMAPPED)",
                    (int) unicorn.hookAdd.invokeExact(handle, hook, Unicorn.UC_HOOK_MEM_UNMAPPED, unmappedStub, MemorySegment.NULL, 1L, 0L));
            // Unicorn runs every in/out at any privilege and cannot stop at one precisely: each is done here, synchronously.
            var in = MethodHandles.lookup().findVirtual(Engine.class, "onIn",
                    MethodType.methodType(int.class, MemorySegment.class, int.class, int.class, MemorySegment.class)).bindTo(this);
            // SAFETY: in the engine's arena, like the stubs above; freed only after uc_close.
            MemorySegment inStub = unicorn.linker.upcallStub(in, FunctionDescriptor.of(JAVA_INT, ADDRESS, JAVA_INT, JAVA_INT, ADDRESS), arena);
            unicorn.check("uc_hook_add(UC_HOOK_INSN, IN)", (int) unicorn.hookAddInstruction.invokeExact(handle, hook, Unicorn.UC_HOOK_INSN,
                    inStub, MemorySegment.NULL, 1L, 0L, Unicorn.UC_X86_INS_IN));
            var outTarget = MethodHandles.lookup().findVirtual(Engine.class, "onOut",
                    MethodType.methodType(void.class, MemorySegment.class, int.class, int.class, int.class, MemorySegment.class)).bindTo(this);
            // SAFETY: in the engine's arena, like the stubs above; freed only after uc_close.
            MemorySegment outStub = unicorn.linker.upcallStub(outTarget, FunctionDescriptor.ofVoid(ADDRESS, JAVA_INT, JAVA_INT, JAVA_INT, ADDRESS),
                    arena);
            unicorn.check("uc_hook_add(UC_HOOK_INSN, OUT)", (int) unicorn.hookAddInstruction.invokeExact(handle, hook, Unicorn.UC_HOOK_INSN,
                    outStub, MemorySegment.NULL, 1L, 0L, Unicorn.UC_X86_INS_OUT));
        } catch (Throwable t) {
            if (!opened.equals(MemorySegment.NULL)) {
                try {
                    int ignored = (int) unicorn.close.invokeExact(opened);
                } catch (Throwable closing) {
                    t.addSuppressed(closing);
                }
            }
            arena.close();
            throw UnicornException.wrap("uc_open", t);
        }
    }

    /** Unicorn's own size for the translation cache (1 GiB in 2.1: reserved whole, backed as code is translated). */
    public static final long DEFAULT_CODE_CACHE = 0;
    /** The bounds Unicorn takes for the cache: QEMU's smallest, and what a uint32_t holds. */
    public static final long MIN_CODE_CACHE = 1L << 20, MAX_CODE_CACHE = 0xFFFF_F000L;

    /** An engine whose translation cache has Unicorn's default size. */
    public static Engine open(Unicorn unicorn) {
        return new Engine(unicorn, DEFAULT_CODE_CACHE);
    }

    /**
     * An engine whose translation cache holds {@code codeCacheBytes}
     * ({@link #DEFAULT_CODE_CACHE}: Unicorn's size). The cache is mapped
     * whole and backed only as code is translated; when it fills, Unicorn
     * drops all translated code and starts again, so a small cache costs
     * retranslation, never correctness.
     */
    public static Engine open(Unicorn unicorn, long codeCacheBytes) {
        if (codeCacheBytes != DEFAULT_CODE_CACHE && (codeCacheBytes < MIN_CODE_CACHE || codeCacheBytes > MAX_CODE_CACHE)) {
            throw new IllegalArgumentException("a translation cache of " + codeCacheBytes + " bytes: it takes "
                    + MIN_CODE_CACHE + " to " + MAX_CODE_CACHE);
        }
        return new Engine(unicorn, codeCacheBytes);
    }

    /** The translation cache's size as Unicorn reports it (UC_CTL_TCG_BUFFER_SIZE), in bytes. */
    public long codeCacheBytes() {
        try {
            // SAFETY: scratch lives in this engine's arena, open while the engine is; Unicorn writes its 4 bytes during the call only.
            unicorn.check("uc_ctl(UC_CTL_TCG_BUFFER_SIZE)", (int) unicorn.ctlReadPointer.invokeExact(handle, Unicorn.CTL_GET_CODE_CACHE,
                    scratch));
            return Integer.toUnsignedLong(scratch.get(JAVA_INT, 0));
        } catch (Throwable t) {
            throw UnicornException.wrap("uc_ctl", t);
        }
    }

    /**
     * Decides, inside the interrupt hook, whether the run goes on: the
     * vector is handled and emulation continues (at the faulting instruction
     * again, or past an {@code int n}), or the run ends with it.
     */
    @FunctionalInterface
    public interface InterruptHandler {
        /** @return true: handled, keep running; false: stop and let {@link #run} return the vector */
        boolean handled(int vector);
    }

    /** Asked about every interrupt before the run is stopped for it; null: stop for all. Owner thread, between runs. */
    private InterruptHandler inHook;

    /** Called by Unicorn on the running thread; never lets an exception escape into native code. */
    private void onInterrupt(MemorySegment uc, int vector, MemorySegment user) {
        /*S:040
         * Unicorn never delivers an interrupt or exception through the guest's IDT: every one lands here. The
         * Host may settle it while the engine keeps running; otherwise the run stops and returns the vector.
         */
        interrupt = vector;
        InterruptHandler handler = inHook;
        if (handler != null && hookFailure == null) {
            try {
                if (handler.handled(vector)) {
                    interrupt = -1;
                    return;
                }
            } catch (Throwable t) {
                hookFailure = t;
            }
        }
        try {
            int ignored = (int) unicorn.emuStop.invokeExact(uc);
        } catch (Throwable t) {
            hookFailure = t;
        }
    }

    /** Who may settle interrupts without stopping the run; null for nobody. Only between runs, on the running thread. */
    public void inHook(InterruptHandler handler) {
        this.inHook = handler;
    }

    /**
     * An {@code in}, on the running thread: the handler's answer, or all
     * ones where no device is. Unicorn stores only the low {@code size} bytes
     * in EAX and keeps the rest. A handler that throws ends the run.
     */
    private int onIn(MemorySegment uc, int port, int size, MemorySegment user) {
        /*S:070
         * Port I/O happens inside the instruction: Unicorn runs in and out itself and calls us, and the
         * PortIo handler the Host passed down (the Launcher's) answers on this same thread.
         */
        port &= 0xFFFF;
        try {
            PortIo handler = portIo;
            if (handler != null && handler.owns(port)) {
                return handler.in(port, size) & sizeMask(size);
            }
        } catch (Throwable t) {
            portFailure("in", port, size, t);
        }
        return sizeMask(size);
    }

    /** An {@code out}, on the running thread; dropped where no device is. */
    private void onOut(MemorySegment uc, int port, int size, int value, MemorySegment user) {
        port &= 0xFFFF;
        try {
            PortIo handler = portIo;
            if (handler != null && handler.owns(port)) {
                handler.out(port, size, value & sizeMask(size));
            }
        } catch (Throwable t) {
            portFailure("out", port, size, t);
        }
    }

    private void portFailure(String instruction, int port, int size, Throwable t) {
        hookFailure = new IllegalStateException(String.format("the port handler failed on a %d-byte %s at port %#x: %s", size,
                instruction, port, t), t);
        try {
            int ignored = (int) unicorn.emuStop.invokeExact(handle);
        } catch (Throwable ignored) {
            // The failure is reported when the run ends, which it does at the latest at the next exit.
        }
    }

    private static int sizeMask(int size) {
        return size >= 4 ? -1 : (1 << size * 8) - 1;
    }

    /**
     * Unicorn 2.1 walks the page tables first and looks for memory at the
     * physical address that comes out: an access that lands here went
     * through a present shadow entry to a frame the engine has no memory
     * for. The run then ends with UC_ERR_*_UNMAPPED and the message names
     * the physical address.
     */
    private boolean onUnmapped(MemorySegment uc, int type, long address, int size, long value, MemorySegment user) {
        unmappedAddress = address;
        return false;
    }

    /** Where the guest's in/out go from now on; null for nowhere. Only between runs, on the running thread. */
    public void portIo(PortIo handler) {
        this.portIo = handler;
    }

    /** Stops the run when the guest is about to execute the instruction at {@code address} (a code hook; for probes). */
    public void stopAt(long address) {
        try {
            var target = MethodHandles.lookup()
                    .findVirtual(Engine.class, "onCode", MethodType.methodType(void.class, MemorySegment.class, long.class, int.class,
                            MemorySegment.class))
                    .bindTo(this);
            // SAFETY: the stub lives in the engine's arena, which close() frees only after uc_close: Unicorn cannot call it freed.
            MemorySegment stub = unicorn.linker.upcallStub(target, FunctionDescriptor.ofVoid(ADDRESS, JAVA_LONG, JAVA_INT, ADDRESS), arena);
            MemorySegment hook = arena.allocate(JAVA_LONG);
            unicorn.check("uc_hook_add(UC_HOOK_CODE)",
                    (int) unicorn.hookAdd.invokeExact(handle, hook, Unicorn.UC_HOOK_CODE, stub, MemorySegment.NULL, address, address));
        } catch (Throwable t) {
            throw UnicornException.wrap("uc_hook_add", t);
        }
    }

    private void onCode(MemorySegment uc, long address, int size, MemorySegment user) {
        try {
            int ignored = (int) unicorn.emuStop.invokeExact(uc);
        } catch (Throwable t) {
            hookFailure = t;
        }
    }

    /** Sets one byte of Unicorn's own engine structure; only {@link BlockBoundaryStops} knows which. */
    void setEngineByte(long offset, byte value) {
        // SAFETY: handle is Unicorn's uc_struct, alive until close() calls uc_close. The offset is one BlockBoundaryStops
        // read from this library's own code that tests that byte, and confirmed on a probe engine, so the write lands on a
        // one-byte flag inside the structure. The class is not exported: no other bundle can pass an offset.
        handle.reinterpret(offset + 1).set(JAVA_BYTE, offset, value);
    }

    /**
     * Maps native memory (page-aligned, whole pages) at an emulated address;
     * no copy is made. The caller keeps {@code memory} alive until this
     * engine is closed: Unicorn holds the raw pointer until then.
     */
    public void mapPointer(long address, MemorySegment memory) {
        try {
            // SAFETY: Unicorn reads and writes only inside [memory, memory + byteSize), the segment's own bounds, and keeps
            // the pointer until uc_close (nothing here unmaps). The caller's promise above keeps the memory alive that long;
            // each call site says who frees it and why that comes after close().
            unicorn.check(String.format("uc_mem_map_ptr(%#x, %#x bytes)", address, memory.byteSize()),
                    (int) unicorn.memMapPtr.invokeExact(handle, address, memory.byteSize(), Unicorn.UC_PROT_ALL, memory));
        } catch (Throwable t) {
            throw UnicornException.wrap("uc_mem_map_ptr", t);
        }
    }

    public long read(int reg) {
        try {
            scratch.set(JAVA_LONG, 0, 0);
            int error = (int) unicorn.regRead.invokeExact(handle, reg, scratch);
            if (error != 0) {
                unicorn.check("uc_reg_read(" + reg + ")", error); // the message is built only for a failure: hooks call this
            }
            return scratch.get(JAVA_LONG, 0);
        } catch (Throwable t) {
            throw UnicornException.wrap("uc_reg_read", t);
        }
    }

    public void write(int reg, long value) {
        try {
            scratch.set(JAVA_LONG, 0, value);
            int error = (int) unicorn.regWrite.invokeExact(handle, reg, scratch);
            if (error != 0) {
                unicorn.check("uc_reg_write(" + reg + ")", error);
            }
        } catch (Throwable t) {
            throw UnicornException.wrap("uc_reg_write", t);
        }
    }

    /** The id array whose ids {@link #batchIds} holds (callers pass constant arrays); null after a write batch. */
    private int[] lastReadIds;
    private final long[] batchLongs = new long[MAX_BATCH];

    /** Reads registers in one call; 32-bit values, zero-extended (selectors come back as 16 bits). */
    public void readBatch(int[] regs, int[] out) {
        int n = regs.length;
        try {
            batchValues.fill((byte) 0); // selectors come back as 16 bits: the rest must read 0
            if (regs != lastReadIds) {
                MemorySegment.copy(regs, 0, batchIds, JAVA_INT, 0, n);
                lastReadIds = regs;
            }
            unicorn.check("uc_reg_read_batch", (int) unicorn.regReadBatch.invokeExact(handle, batchIds, batchPointers, n));
            MemorySegment.copy(batchValues, JAVA_LONG, 0, batchLongs, 0, n);
            for (int i = 0; i < n; i++) {
                out[i] = (int) batchLongs[i];
            }
        } catch (Throwable t) {
            throw UnicornException.wrap("uc_reg_read_batch", t);
        }
    }

    /** Writes the first {@code count} registers of {@code regs} in one call. */
    public void writeBatch(int[] regs, int[] values, int count) {
        lastReadIds = null; // the ids below overwrite the ones readBatch left
        try {
            for (int i = 0; i < count; i++) {
                batchIds.setAtIndex(JAVA_INT, i, regs[i]);
                batchValues.setAtIndex(JAVA_LONG, i, values[i] & 0xFFFF_FFFFL);
            }
            unicorn.check("uc_reg_write_batch", (int) unicorn.regWriteBatch.invokeExact(handle, batchIds, batchPointers, count));
        } catch (Throwable t) {
            throw UnicornException.wrap("uc_reg_write_batch", t);
        }
    }

    /** GDTR, IDTR, LDTR or TR as {@code uc_x86_mmr}; flags are QEMU's descriptor-cache flags. */
    public void writeTableRegister(int reg, int selector, long base, int limit, int flags) {
        try {
            scratch.fill((byte) 0);
            scratch.set(JAVA_SHORT, 0, (short) selector);
            scratch.set(JAVA_LONG, 8, base);
            scratch.set(JAVA_INT, 16, limit);
            scratch.set(JAVA_INT, 20, flags);
            unicorn.check("uc_reg_write(" + reg + ", mmr)", (int) unicorn.regWrite.invokeExact(handle, reg, scratch));
        } catch (Throwable t) {
            throw UnicornException.wrap("uc_reg_write", t);
        }
    }

    /** {@code UC_ERR_INSN_INVALID}: Unicorn (2.0.1 and 2.1.1) ends the run with it for #UD (ud2, an undefined opcode, int $6). */
    private static final int UC_ERR_INSN_INVALID = 10;
    /** The x86 vector of an invalid-opcode fault. */
    public static final int INVALID_OPCODE = 6;

    /**
     * Runs from {@code begin} until an interrupt or exception (its vector is
     * returned), a {@link #stop}, or {@code until} (both return -1).
     */
    public int run(long begin, long until) {
        interrupt = -1;
        unmappedAddress = -1;
        int error;
        try {
            error = (int) unicorn.emuStart.invokeExact(handle, begin, until, NO_TIMEOUT, NO_COUNT);
        } catch (Throwable t) {
            throw UnicornException.wrap("uc_emu_start", t);
        }
        if (hookFailure != null) {
            Throwable t = hookFailure;
            hookFailure = null;
            throw UnicornException.wrap("hook", t);
        }
        if (error != 0 && unmappedAddress >= 0) {
            throw new UnicornException(String.format("uc_emu_start(%#x): %s at physical %#x: a present shadow page-table entry "
                    + "points at a frame that is neither guest RAM nor the host area (corrupt shadow tables)", begin,
                    unicorn.message(error), unmappedAddress), error);
        }
        if (error == UC_ERR_INSN_INVALID && interrupt < 0) {
            // Unicorn ends the run for #UD instead of raising it to the hook: it is still a trap for the guest.
            return INVALID_OPCODE;
        }
        if (error != 0) {
            unicorn.check(String.format("uc_emu_start(%#x)", begin), error);
        }
        return interrupt;
    }

    /** From any thread: make the current run return. Ignored when the engine is closed. */
    public void stop() {
        synchronized (lifecycle) {
            if (closed) {
                return;
            }
            try {
                int ignored = (int) unicorn.emuStop.invokeExact(handle);
            } catch (Throwable t) {
                throw UnicornException.wrap("uc_emu_stop", t);
            }
        }
    }

    /**
     * Drops translated code for the memory Unicorn has at {@code [begin, end)}
     * (Unicorn addresses, whole pages): memory the host writes directly, or
     * that a mapping change brings under an address, is not watched for code.
     * <p>
     * {@code UC_CTL_TB_REMOVE_CACHE} looks {@code begin} up through the page
     * tables, at the CPU's current privilege. A walk that fails there leaves
     * a swallowed #PF behind (CR2 changed, and Unicorn's last-exception
     * field set, so the guest's next fault arrives as a double fault). With
     * CR0.PG cleared for the call the lookup is the identity, so the range is
     * physical and cannot fault; pages with no memory are skipped.
     * Translated code is keyed by the physical page, so this drops what was
     * translated from that memory through any virtual address.
     */
    public void invalidateCode(long begin, long end) {
        long cr0 = read(Unicorn.CR0);
        write(Unicorn.CR0, cr0 & ~CR0_PG);
        try {
            unicorn.check(String.format("uc_ctl(UC_CTL_TB_REMOVE_CACHE, %#x, %#x)", begin, end),
                    (int) unicorn.ctlRemoveCache.invokeExact(handle, Unicorn.CTL_REMOVE_CACHE, begin, end));
        } catch (Throwable t) {
            throw UnicornException.wrap("uc_ctl", t);
        } finally {
            write(Unicorn.CR0, cr0);
        }
    }

    /**
     * Drops every cached address translation ({@code UC_CTL_TLB_FLUSH},
     * new in 2.1): the next access walks the page tables again. No walk
     * happens here, so nothing can fault.
     */
    public void flushTlb() {
        try {
            unicorn.check("uc_ctl(UC_CTL_TLB_FLUSH)", (int) unicorn.ctlNoArguments.invokeExact(handle, Unicorn.CTL_FLUSH_TLB));
        } catch (Throwable t) {
            throw UnicornException.wrap("uc_ctl", t);
        }
    }

    /** Drops all translated code. */
    public void invalidateAllCode() {
        try {
            unicorn.check("uc_ctl(UC_CTL_TB_FLUSH)", (int) unicorn.ctlNoArguments.invokeExact(handle, Unicorn.CTL_FLUSH_CODE));
        } catch (Throwable t) {
            throw UnicornException.wrap("uc_ctl", t);
        }
    }

    /** Saves the CPU state into this engine's context buffer and returns the buffer's bytes. */
    public MemorySegment saveContext() {
        try {
            if (context == null) {
                MemorySegment out = arena.allocate(ADDRESS);
                unicorn.check("uc_context_alloc", (int) unicorn.contextAlloc.invokeExact(handle, out));
                context = out.get(ADDRESS, 0);
                // SAFETY: uc_context_alloc made uc_context_size bytes, freed by uc_context_free in close(). The view
                // belongs to the engine's arena, closed right after that, so a caller that keeps it gets an exception,
                // not freed memory.
                contextBytes = context.reinterpret((long) unicorn.contextSize.invokeExact(handle), arena, null);
            }
            unicorn.check("uc_context_save", (int) unicorn.contextSave.invokeExact(handle, context));
            return contextBytes;
        } catch (Throwable t) {
            throw UnicornException.wrap("uc_context_save", t);
        }
    }

    /** Loads the CPU state from the context buffer (as changed since {@link #saveContext}). */
    public void restoreContext() {
        try {
            unicorn.check("uc_context_restore", (int) unicorn.contextRestore.invokeExact(handle, context));
        } catch (Throwable t) {
            throw UnicornException.wrap("uc_context_restore", t);
        }
    }

    /** A copy of the saved context's bytes, for calibration. */
    public byte[] snapshot() {
        return saveContext().toArray(JAVA_BYTE);
    }

    @Override
    public void close() {
        synchronized (lifecycle) {
            if (closed) {
                return;
            }
            closed = true;
            try {
                if (context != null) {
                    unicorn.check("uc_context_free", (int) unicorn.contextFree.invokeExact(context));
                }
                unicorn.check("uc_close", (int) unicorn.close.invokeExact(handle));
            } catch (Throwable t) {
                throw UnicornException.wrap("uc_close", t);
            } finally {
                arena.close();
                // What uc_close freed stays in the C heap until trimmed; a guest that stopped should give it back.
                HostMemory.trimSoon();
            }
        }
    }
}
