package org.lguest.virtio.internal;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.VarHandle;

import org.lguest.api.virtio.Virtio;

/** A queue and its rings at fixed places in guest RAM, with raw writers for the driver's side. */
final class QueueRig {
    static final long DESC = 0x1000;
    static final long AVAIL = 0x3000;
    static final long USED = 0x4000;
    static final long DATA = 0x10000;

    final FakeHost host;
    final MemorySegment ram;
    final SplitVirtqueue queue;
    final int size;

    QueueRig(FakeHost host, int size) {
        this.host = host;
        this.ram = host.ram.memory();
        this.size = size;
        this.queue = new SplitVirtqueue(host, 0, size);
        configure();
    }

    void configure() {
        queue.size = size;
        queue.descAddress = DESC;
        queue.availAddress = AVAIL;
        queue.usedAddress = USED;
        queue.enabled = true;
    }

    /** Resets as the transport does, then starts again. */
    void restart() {
        queue.reset();
        host.broken = null;
        host.fault = null;
        configure();
        ram.asSlice(AVAIL, 6 + 2L * size).fill((byte) 0);
        ram.asSlice(USED, 6 + 8L * size).fill((byte) 0);
        start();
    }

    /** Starts the queue, which must take the configuration. */
    void start() {
        try {
            queue.start();
        } catch (SplitVirtqueue.BadChain e) {
            throw new AssertionError(e.getMessage(), e);
        }
    }

    void desc(long table, int i, long address, long length, int flags, int next) {
        long at = table + 16L * i;
        ram.set(Le.U64, at, address);
        ram.set(Le.U32, at + 8, (int) length);
        ram.set(Le.U16, at + 12, (short) flags);
        ram.set(Le.U16, at + 14, (short) next);
    }

    void desc(int i, long address, long length, int flags, int next) {
        desc(DESC, i, address, length, flags, next);
    }

    void availRing(int slot, int head) {
        ram.set(Le.U16, AVAIL + 4 + 2L * (slot % size), (short) head);
    }

    void availIdx(int idx) {
        VarHandle.releaseFence();
        ram.set(Le.U16, AVAIL + 2, (short) idx);
    }

    int availIdx() {
        return Short.toUnsignedInt(ram.get(Le.U16, AVAIL + 2));
    }

    void availFlags(int flags) {
        ram.set(Le.U16, AVAIL, (short) flags);
    }

    void usedEvent(int idx) {
        ram.set(Le.U16, AVAIL + 4 + 2L * size, (short) idx);
    }

    int usedIdx() {
        return Short.toUnsignedInt(ram.get(Le.U16, USED + 2));
    }

    int availEvent() {
        return Short.toUnsignedInt(ram.get(Le.U16, USED + 4 + 8L * size));
    }

    int usedId(int slot) {
        return ram.get(Le.U32, USED + 4 + 8L * (slot % size));
    }

    int usedLen(int slot) {
        return ram.get(Le.U32, USED + 8 + 8L * (slot % size));
    }

    byte get(long address) {
        return ram.get(ValueLayout.JAVA_BYTE, address);
    }

    static long all() {
        return Virtio.bit(Virtio.F_VERSION_1) | Virtio.bit(Virtio.F_RING_INDIRECT_DESC) | Virtio.bit(Virtio.F_RING_EVENT_IDX);
    }
}
