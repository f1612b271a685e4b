package org.lguest.cpu.x86.internal;

import java.lang.foreign.MemorySegment;
import java.util.Arrays;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.locks.LockSupport;

import org.lguest.api.abi.Lguest;
import org.lguest.api.cpu.ExitHandler;
import org.lguest.api.cpu.GuestMachine;
import org.lguest.api.cpu.LguestRegs;
import org.lguest.api.cpu.PortIo;
import org.lguest.api.cpu.Reg;
import org.lguest.api.cpu.Vcpu;
import org.lguest.api.cpu.VcpuException;
import org.lguest.api.cpu.VcpuExit;
import org.lguest.api.cpu.VcpuState;
import org.lguest.cpu.x86.internal.unicorn.BlockBoundaryStops;
import org.lguest.cpu.x86.internal.unicorn.Engine;
import org.lguest.cpu.x86.internal.unicorn.Unicorn;
import org.lguest.cpu.x86.internal.unicorn.UnicornException;

/**
 * One guest CPU on its own Unicorn engine. Guest RAM and the host area are
 * the machine's segments, mapped without copies; the switcher pages are
 * this CPU's own.
 * <p>
 * After an exit the engine still holds the guest's state at the guest's
 * ring, so a run that changes no segment or GDT entry resumes with
 * {@code uc_emu_start} at EIP after writing the registers the Host changed
 * (and CR3, or a TLB flush, when those changed). Everything else goes
 * through the switcher, which loads the whole register file: the first run,
 * a new engine resuming a {@link VcpuState}, a change of ring or segment.
 * <p>
 * Unicorn (2.1 and later) translates through the shadow page tables as a
 * real MMU does, so guest RAM is mapped once at physical 0 and the host area
 * at its own base, and nothing changes in the engine's memory map while the
 * engine lives: mapping or unmapping under a guest with paging on can plant
 * a double fault (README.md). A TLB flush or a new root is a
 * {@code uc_ctl} or CR3 write between runs; only the first entry, a ring or
 * segment change and a new GDT need the switcher.
 */
final class UnicornVcpu implements Vcpu {
    /** Registers as Unicorn names them, in {@link #GUEST_REGS} order. */
    private static final Reg[] GUEST_REGS = { Reg.EBX, Reg.ECX, Reg.EDX, Reg.ESI, Reg.EDI, Reg.EBP, Reg.EAX,
            Reg.GS, Reg.FS, Reg.DS, Reg.ES, Reg.EIP, Reg.CS, Reg.EFLAGS, Reg.ESP, Reg.SS };
    private static final int[] UNICORN_IDS = { Unicorn.EBX, Unicorn.ECX, Unicorn.EDX, Unicorn.ESI, Unicorn.EDI, Unicorn.EBP,
            Unicorn.EAX, Unicorn.GS, Unicorn.FS, Unicorn.DS, Unicorn.ES, Unicorn.EIP, Unicorn.CS, Unicorn.EFLAGS, Unicorn.ESP,
            Unicorn.SS };
    private static final Reg[] SEGMENTS = { Reg.CS, Reg.SS, Reg.DS, Reg.ES, Reg.FS, Reg.GS };
    private static final int[] SEGMENT_INDEXES = Arrays.stream(SEGMENTS).mapToInt(UnicornVcpu::indexOf).toArray();
    private static final int CS_INDEX = indexOf(Reg.CS), EIP_INDEX = indexOf(Reg.EIP);
    private static final int CR0_PE = 1, CR0_MP = 1 << 1, CR0_ET = 1 << 4, CR0_NE = 1 << 5, CR0_WP = 1 << 16,
            CR0_PG = 1 << 31;
    /*
     * A Linux 4.x guest cannot set CR4 and runs with the Host's, which has
     * FXSAVE and SSE exceptions enabled: its CPUID promises SSE, so its user
     * space uses it. MP and NE in CR0 as a Linux Host has them.
     */
    private static final int CR4_OSFXSR = 1 << 9, CR4_OSXMMEXCPT = 1 << 10;
    /** EFLAGS bits a guest may hold: arithmetic flags, TF, IF, DF, AC, ID; never IOPL, NT, VM, VIF, VIP. */
    private static final int EFLAGS_GUEST_MASK = 0x0024_0FD5;
    private static final int EFLAGS_FIXED = 0x2;
    private static final int GENERAL_PROTECTION = 13, PAGE_FAULT = 14;
    /** Exceptions the CPU raises end at 19 (#XM); 20-31 are reserved and 32 up external. */
    private static final int FIRST_RESERVED_VECTOR = 20;
    /** {@code int imm8}: opcode and vector. */
    private static final int INT_N_LENGTH = 2;
    private static final int KICK_RETRY_NANOS = 20_000, KICK_RETRIES = 5_000;

    private static final System.Logger LOG = System.getLogger("org.lguest.cpu.x86");

    private final Engine engine;
    private final Switcher switcher;
    private final ContextLayout layout;
    private final VcpuState state;
    private final int switcherEntry;
    private final long ramBytes;

    /** The guest registers the engine holds now (valid when {@link #engineAtRing0} is false). */
    private final int[] inEngine = new int[GUEST_REGS.length];
    private final int[] current = new int[GUEST_REGS.length];
    private final int[] changedIds = new int[GUEST_REGS.length];
    private final int[] changedValues = new int[GUEST_REGS.length];
    /** The guest GDT as the real GDT holds it since the last switcher entry. */
    private long[] loadedGdt;
    private long loadedRoot;
    /** Cached translations must go before the next run: set by {@link #flushTlb}, and after a stop inside the switcher. */
    private boolean flushPending;
    /** A fresh engine, or one stopped inside the switcher: the next entry starts from ring 0. */
    private boolean engineAtRing0 = true;

    /** The Host's "handle this now", asked from the interrupt hook; null: every exit ends the run. */
    private ExitHandler exitHandler;
    /** What the current run returns after the hook settled its exit and stopped; null otherwise. */
    private VcpuExit stoppedWith;

    private final AtomicBoolean kickRequested = new AtomicBoolean();
    private volatile boolean running;
    private volatile long runGeneration;
    private volatile boolean closed;

    UnicornVcpu(Unicorn unicorn, long codeCacheBytes, ContextLayout layout, BlockBoundaryStops stops, GuestMachine machine,
            VcpuState state, Switcher switcher, int switcherEntry) {
        /*S:020
         * A new engine maps guest RAM at physical 0 and the host area at its base with uc_mem_map_ptr:
         * Unicorn works on the Launcher's pages themselves, nothing is copied, and the map never changes
         * while the engine lives.
         */
        this.layout = layout;
        this.state = state;
        this.switcher = switcher;
        this.switcherEntry = switcherEntry;
        MemorySegment ram = machine.ram().asSlice(0, machine.ramBytes());
        if (ram.address() % Lguest.PAGE_SIZE != 0) {
            throw new IllegalArgumentException("guest RAM must start on a page boundary, not at " + Long.toHexString(ram.address()));
        }
        this.ramBytes = ram.byteSize();
        this.engine = Engine.open(unicorn, codeCacheBytes);
        try {
            stops.apply(engine);
            // SAFETY: Unicorn keeps raw pointers into both segments until uc_close. Guest RAM is the Launcher's and the host
            // area the Host core's; both outlive every engine of the guest (the Host closes a guest's CPUs before its host
            // area, and the Launcher frees RAM only after closing /dev/lguest), and close() ends this engine first.
            engine.mapPointer(0, ram);
            engine.mapPointer(machine.hostArea().base(), machine.hostArea().memory());
            switcher.install(engine);
            engine.write(Unicorn.CR0, engine.read(Unicorn.CR0) | CR0_PE | CR0_MP | CR0_ET | CR0_NE | CR0_WP | CR0_PG);
            engine.write(Unicorn.CR4, engine.read(Unicorn.CR4) | CR4_OSFXSR | CR4_OSXMMEXCPT);
        } catch (RuntimeException e) {
            engine.close();
            throw e;
        }
    }

    @Override
    public VcpuExit run() throws VcpuException {
        if (closed) {
            throw new VcpuException("this guest CPU's engine is closed");
        }
        LguestRegs regs = state.regs();
        if (kickRequested.getAndSet(false)) {
            return VcpuExit.kicked(regs.get(Reg.EIP) & 0xFFFF_FFFFL);
        }
        long root = state.pageTableRoot();
        if (root == 0) {
            throw new VcpuException("guest CPU " + state.id() + " has no shadow page directory (VcpuState.pageTableRoot is 0)");
        }
        try {
            if (!engineAtRing0) {
                if (root != loadedRoot) {
                    engine.write(Unicorn.CR3, root); // Unicorn 2.1 flushes its TLB on a CR3 write, as the CPU does
                    loadedRoot = root;
                    flushPending = false;
                } else if (flushPending) {
                    engine.flushTlb();
                    flushPending = false;
                }
            }
            runGeneration++;
            stoppedWith = null; // a run that failed may have left one behind
            running = true;
            int vector;
            try {
                if (kickRequested.getAndSet(false)) {
                    // A kick that came while the memory map was brought up to date: kick() saw no run to stop.
                    return VcpuExit.kicked(regs.get(Reg.EIP) & 0xFFFF_FFFFL);
                }
                if (needsSwitcher(regs, root)) {
                    vector = enterThroughSwitcher(regs, root);
                } else {
                    writeChangedRegisters(regs);
                    vector = engine.run(regs.get(Reg.EIP) & 0xFFFF_FFFFL, switcher.until());
                }
            } finally {
                running = false;
            }
            VcpuExit settled = stoppedWith;
            if (settled != null) {
                stoppedWith = null;
                return settled;
            }
            return exit(vector);
        } catch (UnicornException e) {
            throw new VcpuException("guest CPU " + state.id() + ": " + e.getMessage(), e);
        }
    }

    /*
     * Inside the interrupt hook, on the owner thread, with Unicorn still
     * running: the exit goes to the Host's handler, and when it is settled
     * and nothing it changed needs the switcher, the changed registers (and
     * a new root or a TLB flush) are written here and the guest goes on.
     * Writing EIP from a hook makes Unicorn leave the current block and go
     * on at the new EIP; CR3 writes and UC_CTL_TLB_FLUSH flush at once, and
     * the hook runs between blocks, so nothing stale is used after it.
     * Anything else ends the run as before.
     */
    private boolean inEngine(int vector) throws VcpuException {
        engine.readBatch(UNICORN_IDS, current);
        if ((current[CS_INDEX] & 3) == 0 || (current[EIP_INDEX] & 0xFFFF_FFFFL) == switcher.fromGuest()) {
            stats.declined++;
            return false; // in the switcher or at the trampoline: run() sorts these out as ever
        }
        VcpuExit exit = exitFromCurrent(vector);
        ExitHandler.Action action = exitHandler.handleNow(exit);
        if (action == ExitHandler.Action.DECLINE) {
            stats.declined++;
            stoppedWith = exit;
            return false;
        }
        LguestRegs regs = state.regs();
        long root = state.pageTableRoot();
        if (action == ExitHandler.Action.STOP || kickRequested.get() || root == 0 || needsSwitcher(regs, root)) {
            stats.stopped++;
            if (action == ExitHandler.Action.STOP) {
                stats.hostStops++;
            } else if (kickRequested.get()) {
                stats.kicks++;
            } else {
                stats.switcher++;
            }
            stoppedWith = VcpuExit.kicked(regs.get(Reg.EIP) & 0xFFFF_FFFFL);
            return false;
        }
        if (root != loadedRoot) {
            engine.write(Unicorn.CR3, root);
            loadedRoot = root;
            flushPending = false;
        } else if (flushPending) {
            engine.flushTlb();
            flushPending = false;
        }
        writeChangedRegisters(regs);
        int eip = regs.get(Reg.EIP);
        if (eip != current[EIP_INDEX]) {
            engine.write(Unicorn.EIP, eip & 0xFFFF_FFFFL);
        }
        stats.resumed++;
        return true;
    }

    /** How exits ended in the hook (for tests and benchmarks: which ones still stop). */
    static final class HookStats {
        /** Resumed; stopped (by the Host's STOP, for a kick, for a change only the switcher makes); given back. */
        long resumed, stopped, hostStops, kicks, switcher, declined;

        @Override
        public String toString() {
            return "resumed " + resumed + ", stopped " + stopped + " (the Host's STOP " + hostStops + ", kicks " + kicks
                    + ", for the switcher " + switcher + "), declined " + declined;
        }
    }

    final HookStats stats = new HookStats();

    @Override
    public void exitHandler(ExitHandler handler) {
        if (handler == exitHandler) {
            return;
        }
        exitHandler = handler;
        engine.inHook(handler == null ? null : vector -> {
            try {
                return inEngine(vector);
            } catch (VcpuException e) {
                throw new IllegalStateException(e.getMessage(), e); // the engine ends the run with it
            }
        });
    }

    private boolean needsSwitcher(LguestRegs regs, long root) {
        if (engineAtRing0 || !Arrays.equals(loadedGdt, state.gdt())) {
            return true;
        }
        for (int i = 0; i < SEGMENTS.length; i++) {
            if (entrySelector(SEGMENTS[i], regs.get(SEGMENTS[i])) != inEngine[SEGMENT_INDEXES[i]]) {
                return true;
            }
        }
        return false;
    }

    private int enterThroughSwitcher(LguestRegs regs, long root) {
        /*S:030
         * Entry through the switcher, as lguest's switcher_32.S did it: host code at ring 0 loads the guest's
         * GDT, segments and CR3 from a frame, then irets to ring 1 at the guest's EIP.
         */
        long[] gdt = state.gdt().clone();
        switcher.loadGuestGdt(gdt);
        boolean loadCr3 = flushPending || root != loadedRoot;
        switcher.writeFrame(loadCr3 ? root : 0, regs, guestEflags(regs.get(Reg.EFLAGS)), entrySelector(Reg.CS, regs.get(Reg.CS)),
                entrySelector(Reg.SS, regs.get(Reg.SS)));
        long begin;
        if (engineAtRing0) {
            begin = switcher.fromReset();
        } else {
            switcher.armGate(engine);
            begin = switcher.fromGuest();
        }
        if (root != loadedRoot) {
            // So the trampoline and switcher are fetched through the new directory, whatever became of the old one.
            engine.write(Unicorn.CR3, root);
        }
        loadedGdt = gdt;
        loadedRoot = root;
        flushPending = false;
        engineAtRing0 = false;
        return engine.run(begin, switcher.until());
    }

    private void writeChangedRegisters(LguestRegs regs) {
        int count = 0;
        for (int i = 0; i < GUEST_REGS.length; i++) {
            Reg reg = GUEST_REGS[i];
            if (reg == Reg.EIP || isSegment(reg)) {
                continue; // EIP is where the run begins; segments took the switcher path
            }
            int value = reg == Reg.EFLAGS ? guestEflags(regs.get(reg)) : regs.get(reg);
            if (value != inEngine[i]) {
                changedIds[count] = UNICORN_IDS[i];
                changedValues[count++] = value;
            }
        }
        if (count > 0) {
            engine.writeBatch(changedIds, changedValues, count);
        }
    }

    private VcpuExit exit(int vector) throws VcpuException {
        engine.readBatch(UNICORN_IDS, current);
        return exitFromCurrent(vector);
    }

    /** As {@link #exit}, with the registers already read into {@link #current}. */
    private VcpuExit exitFromCurrent(int vector) throws VcpuException {
        /*S:050
         * What the guest just did, as lguest's trap frame would say it: the vector, an error code for the
         * vectors that push one, CR2 for a page fault. QEMU's old_exception is cleared before resuming, or
         * the next fault would be taken for a double fault (Unicorn issue 1883).
         */
        int cs = current[CS_INDEX];
        LguestRegs regs = state.regs();
        if ((cs & 3) == 0) {
            return stoppedAtRing0(vector);
        }
        if ((current[EIP_INDEX] & 0xFFFF_FFFFL) == switcher.fromGuest()) {
            return stoppedAtTrampoline(vector);
        }
        System.arraycopy(current, 0, inEngine, 0, current.length);
        for (int i = 0; i < GUEST_REGS.length; i++) {
            regs.set(GUEST_REGS[i], current[i]);
        }
        long eip = current[EIP_INDEX] & 0xFFFF_FFFFL;
        if (vector < 0) {
            if (eip == switcher.until()) {
                // The guest jumped to the address emulation stops at, a hlt: what it would have got is #GP(0).
                return trap(GENERAL_PROTECTION, 0, 0, eip);
            }
            // A kick, or a late repeat of one that already ended an earlier run: either way, nothing is lost.
            kickRequested.set(false);
            return VcpuExit.kicked(eip);
        }
        if (vector >= FIRST_RESERVED_VECTOR) {
            // Nothing external reaches an engine, and the CPU raises no exception from 20 up: only an int n raises these
            // (the hypercall's 0x1F among them), so no context needs reading to tell.
            return softwareInterrupt(vector, eip);
        }
        MemorySegment context = engine.saveContext();
        if (layout.isSoftwareInterrupt(context)) {
            if (vector == Engine.INVALID_OPCODE) {
                // Unicorn ends the run for int $6 as for #UD, before it moves EIP past the int (cd 06) as for any other n.
                eip += INT_N_LENGTH;
                regs.set(Reg.EIP, (int) eip);
            }
            return softwareInterrupt(vector, eip);
        }
        int errorCode = pushesErrorCode(vector) ? layout.errorCode(context) : 0;
        // Unicorn issue #1883: forget this fault, or the next one arrives as a double fault.
        layout.clearOldException(context);
        engine.restoreContext();
        long cr2 = 0;
        if (vector == PAGE_FAULT) {
            cr2 = engine.read(Unicorn.CR2) & 0xFFFF_FFFFL;
        }
        return trap(vector, errorCode, cr2, eip);
    }

    /** The engine stopped before the trampoline's call: the guest's registers in the engine are untouched but for EIP. */
    private VcpuExit stoppedAtTrampoline(int vector) throws VcpuException {
        loadedGdt = null; // enter through the switcher again
        if (vector < 0) {
            kickRequested.set(false);
            return VcpuExit.kicked(state.regs().get(Reg.EIP) & 0xFFFF_FFFFL);
        }
        MemorySegment context = engine.saveContext();
        layout.clearOldException(context);
        engine.restoreContext();
        if (vector == PAGE_FAULT) {
            throw new VcpuException(String.format("guest CPU %d: the page directory at %#x does not map the switcher "
                    + "(install Vcpu.switcherEntry() %#x in every shadow directory)", state.id(), loadedRoot, switcherEntry));
        }
        throw new VcpuException(String.format("guest CPU %d: cannot reach the switcher from the guest's code segment %#x (vector %d)",
                state.id(), inEngine[CS_INDEX], vector));
    }

    /** The engine stopped in the switcher: a kick during entry, or the guest's state did not load. */
    private VcpuExit stoppedAtRing0(int vector) throws VcpuException {
        engineAtRing0 = true;
        flushPending = true; // the frame's CR3 may or may not have been loaded
        LguestRegs regs = state.regs();
        long eip = regs.get(Reg.EIP) & 0xFFFF_FFFFL;
        if (vector < 0) {
            kickRequested.set(false);
            return VcpuExit.kicked(eip);
        }
        MemorySegment context = engine.saveContext();
        int errorCode = pushesErrorCode(vector) ? layout.errorCode(context) : 0;
        layout.clearOldException(context);
        engine.restoreContext();
        if (vector == PAGE_FAULT && switcher.contains(engine.read(Unicorn.CR2))) {
            throw new VcpuException(String.format("guest CPU %d: the page directory at %#x does not map the switcher "
                    + "(install Vcpu.switcherEntry() %#x in every shadow directory)", state.id(), loadedRoot, switcherEntry));
        }
        return trap(VcpuExit.SWITCHER_FAILED, vector << 16 | errorCode & 0xFFFF, 0, eip);
    }

    private VcpuExit softwareInterrupt(int vector, long eip) {
        LguestRegs regs = state.regs();
        regs.set(Reg.TRAPNUM, vector);
        regs.set(Reg.ERRCODE, 0);
        return VcpuExit.softwareInterrupt(vector, eip);
    }

    private VcpuExit trap(int vector, int errorCode, long cr2, long eip) {
        LguestRegs regs = state.regs();
        regs.set(Reg.TRAPNUM, vector);
        regs.set(Reg.ERRCODE, errorCode);
        if (vector == PAGE_FAULT) {
            state.cr2(cr2);
        }
        return VcpuExit.trap(vector, errorCode, cr2, eip);
    }

    private static boolean pushesErrorCode(int vector) {
        return vector == 8 || (vector >= 10 && vector <= 14) || vector == 17;
    }

    private static int guestEflags(int eflags) {
        return eflags & EFLAGS_GUEST_MASK | EFLAGS_FIXED;
    }

    /** The guest never runs at ring 0: a CS or SS asking for it gets the guest's ring. Data selectors go as they are. */
    private static int entrySelector(Reg segment, int selector) {
        selector &= 0xFFFF;
        boolean setsRing = segment == Reg.CS || segment == Reg.SS;
        return setsRing && (selector & 3) == 0 ? selector | Lguest.GUEST_PL : selector;
    }

    private static boolean isSegment(Reg reg) {
        return reg == Reg.CS || reg == Reg.SS || reg == Reg.DS || reg == Reg.ES || reg == Reg.FS || reg == Reg.GS;
    }

    private static int indexOf(Reg reg) {
        for (int i = 0; i < GUEST_REGS.length; i++) {
            if (GUEST_REGS[i] == reg) {
                return i;
            }
        }
        throw new IllegalArgumentException(reg.name());
    }

    @Override
    public void kick() {
        /*S:060
         * From another thread (the clock, a device, the Launcher): make the running guest stop soon.
         * uc_emu_stop takes effect at the next translated block boundary, where EIP is exact.
         */
        kickRequested.set(true);
        long generation = runGeneration;
        // uc_emu_stop is lost if it lands just before emulation begins: repeat until this run ends. It takes effect at
        // the next block boundary (BlockBoundaryStops), so the EIP the run ends with is exact.
        for (int i = 0; i < KICK_RETRIES && running && kickRequested.get() && runGeneration == generation && !closed; i++) {
            engine.stop();
            LockSupport.parkNanos(KICK_RETRY_NANOS);
        }
    }

    /** The range is guest-physical: code translated from it through any virtual address goes. */
    @Override
    public void invalidateCode(long guestPhysical, long length) {
        if (closed || length <= 0 || guestPhysical < 0 || guestPhysical >= ramBytes) {
            return;
        }
        long begin = guestPhysical & -Lguest.PAGE_SIZE;
        long end = Math.min(ramBytes, (guestPhysical + length + Lguest.PAGE_SIZE - 1) & -Lguest.PAGE_SIZE);
        engine.invalidateCode(begin, end);
    }

    @Override
    public void portIo(PortIo handler) {
        engine.portIo(handler);
    }

    /** For tests: where this CPU's switcher pages are. */
    Switcher switcher() {
        return switcher;
    }

    @Override
    public int switcherEntry() {
        return switcherEntry;
    }

    /** Unicorn's TLB is flushed before the next run ({@code UC_CTL_TLB_FLUSH}, or the switcher's CR3 load on a first entry). */
    @Override
    public void flushTlb() {
        flushPending = true;
    }

    /**
     * Nothing to do: the fill follows a fault, and Unicorn caches no
     * translation for an access that faulted (nor a writable one for a page
     * that was read-only), so the retried access walks the tables again.
     */
    @Override
    public void pageFilled(long vaddr) {
    }

    @Override
    public String loadGdtEntry(int index, long descriptor) {
        return GdtRules.load(state.gdt(), index, descriptor);
    }

    @Override
    public String loadTls(long[] descriptors) {
        return GdtRules.loadTls(state.gdt(), descriptors);
    }

    /** The engine's translation cache in bytes, as Unicorn reports it. */
    long codeCacheBytes() {
        return engine.codeCacheBytes();
    }

    @Override
    public void close() {
        if (closed) {
            return;
        }
        closed = true;
        if (exitHandler != null) {
            LOG.log(System.Logger.Level.DEBUG, () -> "lguest: CPU " + state.id() + " exits in the interrupt hook: " + stats);
        }
        engine.close();
    }
}
