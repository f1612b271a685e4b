package org.lguest.device.internal;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.time.Clock;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.function.Supplier;

import org.lguest.api.abi.LguestData;
import org.lguest.api.abi.Lhcall;
import org.lguest.api.abi.ProtocolWords;
import org.lguest.api.cpu.HostArea;
import org.lguest.api.cpu.Reg;
import org.lguest.api.cpu.VcpuExit;
import org.lguest.api.cpu.VcpuState;
import org.lguest.api.device.LauncherTask;

/**
 * One Launcher with its memory, a Host with fake services, and an open
 * file: what every test starts from.
 */
final class Rig implements AutoCloseable {
    static final int PAGES = 64;
    static final long START = 0x2000;
    /** Where the guest keeps its struct lguest_data. */
    static final long DATA = 0x1000;
    static final Instant NOW = Instant.ofEpochSecond(1_700_000_000L, 123_456_789);
    static final ValueLayout.OfLong WORD = ProtocolWords.WORD_LAYOUT;
    static final ValueLayout.OfInt U32 = ValueLayout.JAVA_INT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);

    /** An allocator that fails at one step and remembers what it made. */
    static final class TestAllocator implements Allocator {
        volatile Step failAt;
        final List<Step> steps = new CopyOnWriteArrayList<>();
        final List<HostArea> areas = new CopyOnWriteArrayList<>();

        @Override
        public <T> T allocate(Step step, Supplier<? extends T> allocation) {
            steps.add(step);
            if (step == failAt) {
                return null;
            }
            T made = Allocator.DEFAULT.allocate(step, allocation);
            if (made instanceof HostArea area) {
                areas.add(area);
            }
            return made;
        }
    }

    final Arena arena = Arena.ofShared();
    final LauncherTask task = new LauncherTask();
    /** The Launcher's memory, which its task owns: PAGES of guest RAM and one page more. */
    final MemorySegment memory = task.allocate((PAGES + 1L) * 4096);
    final FakeBackend backend = new FakeBackend();
    final FakePageTables paging = new FakePageTables();
    final TestAllocator allocator = new TestAllocator();
    final Host host;
    final LguestFileImpl file;

    Rig() {
        this(true, true);
    }

    Rig(boolean withBackend, boolean withPaging) {
        this(withBackend, withPaging, Host.Settings.DEFAULTS);
    }

    Rig(boolean withBackend, boolean withPaging, Host.Settings settings) {
        host = new Host(settings, allocator, Clock.fixed(NOW, ZoneOffset.UTC));
        if (withBackend) {
            host.bindBackend(backend);
        }
        if (withPaging) {
            host.bindPageTableManager(paging);
        }
        file = (LguestFileImpl) host.open(task);
    }

    long base() {
        return memory.address();
    }

    MemorySegment words(long... words) {
        return ProtocolWords.encode(arena, words);
    }

    long write(long... words) {
        return file.write(words(words), 0);
    }

    long writeCpu(long cpu, long... words) {
        return file.write(words(words), cpu);
    }

    long init() {
        return write(0, base(), PAGES, START);
    }

    MemorySegment buffer(int size) {
        return arena.allocate(Math.max(size, 1)).asSlice(0, size);
    }

    /** A read with a 64-byte buffer. */
    Read read() {
        return read(64);
    }

    Read read(int size) {
        MemorySegment b = buffer(size);
        long n = file.read(b, 0);
        return new Read(n, b);
    }

    record Read(long n, MemorySegment buffer) {
        long word() {
            return buffer.get(WORD, 0);
        }

        String string() {
            byte[] bytes = buffer.asSlice(0, n).toArray(ValueLayout.JAVA_BYTE);
            return new String(bytes, 0, bytes.length - 1, StandardCharsets.ISO_8859_1);
        }

        byte at(int i) {
            return buffer.get(ValueLayout.JAVA_BYTE, i);
        }

        int u32(int offset) {
            return buffer.get(U32, offset);
        }
    }

    Guest guest() {
        return file.guest();
    }

    Cpu cpu() {
        return guest().cpus[0];
    }

    VcpuState state() {
        return cpu().state;
    }

    int reg(Reg r) {
        return state().regs().get(r);
    }

    int get32(long pa) {
        return memory.get(U32, pa);
    }

    void put32(long pa, int value) {
        memory.set(U32, pa, value);
    }

    void put8(long pa, int value) {
        memory.set(ValueLayout.JAVA_BYTE, pa, (byte) value);
    }

    int get8(long pa) {
        return memory.get(ValueLayout.JAVA_BYTE, pa) & 0xFF;
    }

    void putBytes(long pa, byte... bytes) {
        MemorySegment.copy(bytes, 0, memory, ValueLayout.JAVA_BYTE, pa, bytes.length);
    }

    void putString(long pa, String s) {
        byte[] b = (s + "\0").getBytes(StandardCharsets.ISO_8859_1);
        putBytes(pa, b);
    }

    /** What a well-behaved guest has in its lguest_data before LGUEST_INIT. */
    void prepareLguestData() {
        put32(DATA + LguestData.SYSCALL_VEC, 0x80);
        put32(DATA + LguestData.KERNEL_ADDRESS, 0xC000_0000);
        for (int i = 0; i < Lhcall.RING_SIZE; i++) {
            put8(DATA + LguestData.HCALL_STATUS + i, 0xFF);
        }
        put32(DATA + LguestData.IRQ_ENABLED, 0x200);
    }

    /** A hypercall as Linux 4.x makes it: EAX the call, EBX, ECX, EDX, ESI its arguments; EIP moves past the "int $0x1f". */
    static FakeBackend.Step hcall(long call, long... args) {
        return state -> {
            var r = state.regs();
            r.set(Reg.EAX, (int) call);
            Reg[] argRegs = {Reg.EBX, Reg.ECX, Reg.EDX, Reg.ESI};
            for (int i = 0; i < args.length; i++) {
                r.set(argRegs[i], (int) args[i]);
            }
            r.set(Reg.EIP, r.get(Reg.EIP) + 2);
            return VcpuExit.trap(Lhcall.TRAP_ENTRY, 0, 0, r.get(Reg.EIP) & 0xFFFF_FFFFL);
        };
    }

    /** A trap at the current EIP. */
    static FakeBackend.Step trap(int vector, int errorCode, long cr2) {
        return state -> VcpuExit.trap(vector, errorCode, cr2, state.regs().get(Reg.EIP) & 0xFFFF_FFFFL);
    }

    /** An "int n" ({@code length} bytes) at the current EIP: EIP moves past it. */
    static FakeBackend.Step softint(int vector, int length) {
        return state -> {
            var r = state.regs();
            r.set(Reg.EIP, r.get(Reg.EIP) + length);
            return VcpuExit.softwareInterrupt(vector, r.get(Reg.EIP) & 0xFFFF_FFFFL);
        };
    }

    /** Any change to the state, then a kick exit. */
    static FakeBackend.Step doing(java.util.function.Consumer<VcpuState> change) {
        return state -> {
            change.accept(state);
            return VcpuExit.kicked(state.regs().get(Reg.EIP) & 0xFFFF_FFFFL);
        };
    }

    /**
     * Initialize, then run the guest through LGUEST_INIT to a NOTIFY the
     * Launcher sees: the guest is up and lguest_data is live.
     */
    void boot() {
        assertEquals(24, init());
        prepareLguestData();
        backend.then(hcall(Lhcall.LGUEST_INIT, DATA), hcall(Lhcall.NOTIFY, 0xB007));
        Read r = read();
        assertEquals(8, r.n(), () -> "boot read: " + r.n() + " dead=" + guest().dead());
        assertEquals(0xB007, r.word());
    }

    /** Adds IDT entry {@code vector} with handler {@code handler}: a present gate of {@code type} (0xE or 0xF). */
    static FakeBackend.Step idt(int vector, long handler, int type) {
        return idt(vector, handler, type, 0);
    }

    /** As {@link #idt(int, long, int)}, with privilege level {@code dpl}: who may reach it with "int n". */
    static FakeBackend.Step idt(int vector, long handler, int type, int dpl) {
        long lo = (0x60L << 16) | (handler & 0xFFFF);
        long hi = (handler & 0xFFFF_0000L) | 0x8000 | ((long) dpl << 13) | (type << 8);
        return hcall(Lhcall.LOAD_IDT_ENTRY, vector, lo, hi);
    }

    /** Clock events armed on the Host's scheduler (its queue also holds each reading CPU's watch). */
    int armedClocks() {
        int watches = 0;
        for (LguestFileImpl f : host.openFiles()) {
            Guest g = f.guest();
            for (int i = 0; g != null && i < g.nrCpus; i++) {
                if (g.cpus[i].watch != null) {
                    watches++;
                }
            }
        }
        return host.timers.getQueue().size() - watches;
    }

    /** Waits until CPU 0 sleeps in HALT. */
    void awaitHalted() throws InterruptedException {
        Cpu cpu = cpu();
        Await.until(() -> {
            cpu.lock.lock();
            try {
                return cpu.phase() == Cpu.Phase.HALTED && cpu.lock.hasWaiters(cpu.wake);
            } finally {
                cpu.lock.unlock();
            }
        }, "CPU 0 to sleep in HALT");
    }

    @Override
    public void close() {
        file.close();
        host.close();
        task.close();
        arena.close();
    }
}
