package org.lguest.device.internal;

import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.locks.Condition;
import java.util.concurrent.locks.ReentrantLock;

import org.lguest.api.cpu.GuestMachine;
import org.lguest.api.cpu.PortIo;
import org.lguest.api.cpu.Vcpu;
import org.lguest.api.cpu.VcpuBackend;
import org.lguest.api.cpu.VcpuException;
import org.lguest.api.cpu.VcpuExit;
import org.lguest.api.cpu.VcpuState;

/**
 * A vCPU backend whose CPUs follow a script: each run() takes the next
 * step, which may change the registers (and guest memory) and says how the
 * guest came out. With no step left, run() waits to be kicked, as a guest
 * spinning in a loop would.
 */
final class FakeBackend implements VcpuBackend {

    /** One run of the guest. */
    @FunctionalInterface
    interface Step {
        VcpuExit run(VcpuState state) throws VcpuException;
    }

    final ReentrantLock lock = new ReentrantLock();
    final Condition changed = lock.newCondition();
    private final Deque<Step> script = new ArrayDeque<>();
    final List<FakeVcpu> created = new CopyOnWriteArrayList<>();
    final String name;
    volatile VcpuException failCreate;
    volatile int switcherEntry = 0x1234_5067;
    /** What loadGdtEntry / loadTls answer (null: accepted). */
    volatile String gdtVerdict;
    volatile String tlsVerdict;

    FakeBackend() {
        this("fake");
    }

    FakeBackend(String name) {
        this.name = name;
    }

    @Override
    public String name() {
        return name;
    }

    @Override
    public Vcpu create(GuestMachine machine, VcpuState state) throws VcpuException {
        if (failCreate != null) {
            throw failCreate;
        }
        FakeVcpu vcpu = new FakeVcpu(this, machine, state);
        created.add(vcpu);
        return vcpu;
    }

    /** Appends steps to the script. */
    void then(Step... steps) {
        lock.lock();
        try {
            for (Step s : steps) {
                script.add(s);
            }
            changed.signalAll();
        } finally {
            lock.unlock();
        }
    }

    int stepsLeft() {
        lock.lock();
        try {
            return script.size();
        } finally {
            lock.unlock();
        }
    }

    FakeVcpu last() {
        return created.get(created.size() - 1);
    }

    static final class FakeVcpu implements Vcpu {
        static final long IDLE_LIMIT_NANOS = 5_000_000_000L;
        final FakeBackend backend;
        final GuestMachine machine;
        final VcpuState state;
        final Thread creator = Thread.currentThread();
        volatile Thread closer;
        volatile boolean closed;
        volatile int runs;
        volatile int kicks;
        volatile int flushes;
        private boolean kickPending;
        /** Kicks that arrived while run() was in progress. */
        volatile int kicksWhileRunning;
        volatile boolean inRun;
        final List<long[]> gdtLoads = new ArrayList<>();
        final List<long[]> tlsLoads = new ArrayList<>();
        /** The port handler the Host handed over last. */
        volatile PortIo portIo;

        FakeVcpu(FakeBackend backend, GuestMachine machine, VcpuState state) {
            this.backend = backend;
            this.machine = machine;
            this.state = state;
        }

        @Override
        public void portIo(PortIo handler) {
            portIo = handler;
        }

        /** The Host's "handle this now", as a backend that keeps running across exits gets it. */
        volatile org.lguest.api.cpu.ExitHandler exitHandler;

        @Override
        public void exitHandler(org.lguest.api.cpu.ExitHandler handler) {
            exitHandler = handler;
        }

        @Override
        public VcpuExit run() throws VcpuException {
            if (closed) {
                throw new IllegalStateException("run() on a closed vCPU");
            }
            runs++;
            ReentrantLock lock = backend.lock;
            lock.lock();
            long deadline = System.nanoTime() + IDLE_LIMIT_NANOS;
            try {
                inRun = true;
                while (true) {
                    if (System.nanoTime() > deadline) {
                        // No step and no kick for this long: the Host under test lost the CPU.
                        throw new VcpuException("fake engine: nothing to run and no kick for 5 s");
                    }
                    if (kickPending) {
                        kickPending = false;
                        return VcpuExit.kicked(state.regs().get(org.lguest.api.cpu.Reg.EIP));
                    }
                    Step step = backend.script.poll();
                    if (step != null) {
                        return step.run(state);
                    }
                    /*
                     * Like a real engine, deaf to Java interrupts: only a kick or a
                     * step ends the wait, and the thread's interrupt status stays
                     * visible meanwhile, as it does while native code runs.
                     */
                    if (Thread.currentThread().isInterrupted()) {
                        lock.unlock();
                        Thread.onSpinWait();
                        Thread.yield();
                        lock.lock();
                        continue;
                    }
                    try {
                        backend.changed.awaitNanos(deadline - System.nanoTime());
                    } catch (InterruptedException e) {
                        Thread.currentThread().interrupt();
                    }
                }
            } finally {
                inRun = false;
                lock.unlock();
            }
        }

        @Override
        public void kick() {
            backend.lock.lock();
            try {
                kicks++;
                if (inRun) {
                    kicksWhileRunning++;
                }
                kickPending = true;
                backend.changed.signalAll();
            } finally {
                backend.lock.unlock();
            }
        }

        @Override
        public int switcherEntry() {
            return backend.switcherEntry;
        }

        @Override
        public void flushTlb() {
            flushes++;
        }

        /** Pages the Host core said it filled. */
        final List<Long> filled = new java.util.concurrent.CopyOnWriteArrayList<>();

        @Override
        public void pageFilled(long vaddr) {
            filled.add(vaddr);
        }

        @Override
        public void invalidateCode(long guestPhysical, long length) {
            throw new AssertionError("the Host core writes no guest code");
        }

        @Override
        public String loadGdtEntry(int index, long descriptor) {
            gdtLoads.add(new long[] {index, descriptor});
            return backend.gdtVerdict;
        }

        @Override
        public String loadTls(long[] descriptors) {
            tlsLoads.add(descriptors.clone());
            return backend.tlsVerdict;
        }

        @Override
        public void close() {
            closer = Thread.currentThread();
            closed = true;
        }
    }
}
