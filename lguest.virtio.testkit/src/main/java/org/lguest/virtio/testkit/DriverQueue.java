package org.lguest.virtio.testkit;

import static org.lguest.virtio.testkit.GuestDriver.U16;
import static org.lguest.virtio.testkit.GuestDriver.U32;
import static org.lguest.virtio.testkit.GuestDriver.U64;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.VarHandle;
import java.time.Duration;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

import org.lguest.api.device.Eventfd;
import org.lguest.api.virtio.Virtio;

/** The driver's side of a split virtqueue, laid out in guest RAM. */
public final class DriverQueue {
    private final GuestDriver driver;
    private final MemorySegment ram;
    private final int index;
    private final int size;
    private final long desc;
    private final long avail;
    private final long used;
    private final long notifyAddress;
    private final boolean eventIdx;
    private final Deque<Integer> free = new ArrayDeque<>();
    private final Map<Integer, Request> inFlight = new HashMap<>();
    private final long data;
    private final long dataSize;
    private long dataNext;
    private int availIdx;
    private int lastUsed;

    DriverQueue(GuestDriver driver, int index, int size, long desc, long avail, long used, long notifyAddress, boolean eventIdx) {
        this.driver = driver;
        this.ram = driver.ram;
        this.index = index;
        this.size = size;
        this.desc = desc;
        this.avail = avail;
        this.used = used;
        this.notifyAddress = notifyAddress;
        this.eventIdx = eventIdx;
        for (int i = 0; i < size; i++) {
            free.add(i);
        }
        this.dataSize = 256 * 1024;
        this.data = driver.alloc(dataSize, 16);
    }

    public int index() {
        return index;
    }

    public int size() {
        return size;
    }

    public long notifyAddress() {
        return notifyAddress;
    }

    public long descAddress() {
        return desc;
    }

    public long availAddress() {
        return avail;
    }

    public long usedAddress() {
        return used;
    }

    /** Buffer space from the queue's own circular data area. */
    private long buffer(long length) {
        long n = Math.max(16, (length + 15) & ~15L);
        if (n > dataSize) {
            throw new IllegalArgumentException("buffer of " + length + " bytes is larger than the test data area");
        }
        if (dataNext + n > dataSize) {
            dataNext = 0;
        }
        long at = data + dataNext;
        dataNext += n;
        return at;
    }

    /** A request the driver made: where its writable buffers are, to read back what the device wrote. */
    public record Request(int head, List<long[]> writable) {
    }

    /** A used ring entry and the request it returned. */
    public record Used(int head, int length, Request request, byte[] written) {
    }

    public void writeDescriptor(long table, int i, long address, int length, int flags, int next) {
        long at = table + 16L * i;
        ram.set(U64, at, address);
        ram.set(U32, at + 8, length);
        ram.set(U16, at + 12, (short) flags);
        ram.set(U16, at + 14, (short) next);
    }

    /** Adds a chain of readable buffers (with these contents) then writable buffers (of these sizes); not yet published. */
    public Request add(List<byte[]> readable, List<Integer> writableSizes) {
        int count = readable.size() + writableSizes.size();
        if (count == 0 || count > free.size()) {
            throw new IllegalStateException("no room for a chain of " + count + " in queue " + index);
        }
        int[] ids = new int[count];
        for (int i = 0; i < count; i++) {
            ids[i] = free.poll();
        }
        List<long[]> writable = writeChain(desc, ids, readable, writableSizes);
        return track(ids[0], ids, writable);
    }

    /** As {@link #add}, but through one indirect table (one descriptor of the ring). */
    public Request addIndirect(List<byte[]> readable, List<Integer> writableSizes) {
        int count = readable.size() + writableSizes.size();
        if (count == 0 || free.isEmpty()) {
            throw new IllegalStateException("no room for an indirect chain of " + count + " in queue " + index);
        }
        int id = free.poll();
        long table = buffer(16L * count);
        int[] entries = new int[count];
        for (int i = 0; i < count; i++) {
            entries[i] = i;
        }
        List<long[]> writable = writeChain(table, entries, readable, writableSizes);
        writeDescriptor(desc, id, table, 16 * count, Virtio.DESC_F_INDIRECT, 0);
        return track(id, new int[] {id}, writable);
    }

    /**
     * Writes a chain into descriptor {@code table} at {@code entries}, in order,
     * with buffers from the data area: the readable ones holding {@code
     * readable}, then zeroed writable ones of {@code writableSizes}.
     *
     * @return each writable buffer's address and length
     */
    private List<long[]> writeChain(long table, int[] entries, List<byte[]> readable, List<Integer> writableSizes) {
        List<long[]> writable = new ArrayList<>();
        for (int i = 0; i < entries.length; i++) {
            long address;
            int length;
            int flags;
            if (i < readable.size()) {
                byte[] bytes = readable.get(i);
                length = bytes.length;
                address = buffer(length);
                MemorySegment.copy(bytes, 0, ram, ValueLayout.JAVA_BYTE, address, length);
                flags = 0;
            } else {
                length = writableSizes.get(i - readable.size());
                address = buffer(length);
                ram.asSlice(address, length).fill((byte) 0);
                flags = Virtio.DESC_F_WRITE;
                writable.add(new long[] {address, length});
            }
            boolean more = i + 1 < entries.length;
            writeDescriptor(table, entries[i], address, length, more ? flags | Virtio.DESC_F_NEXT : flags,
                more ? entries[i + 1] : 0);
        }
        return writable;
    }

    /** Remembers a chain until the device returns it, and offers its head. */
    private Request track(int head, int[] ids, List<long[]> writable) {
        Request request = new Request(head, writable);
        inFlight.put(head, request);
        chainIds.put(head, ids);
        offer(head);
        return request;
    }

    private final Map<Integer, int[]> chainIds = new HashMap<>();
    private int offered;

    /** Puts a head in the next available slot (the index is published by {@link #publish}). */
    public void offer(int head) {
        ram.set(U16, avail + 4 + 2L * ((availIdx + offered) % size), (short) head);
        offered++;
    }

    /** Publishes what was added: the ring entries are written before the index that covers them. */
    public void publish() {
        VarHandle.releaseFence();
        availIdx = (availIdx + offered) & 0xFFFF;
        offered = 0;
        ram.set(U16, avail + 2, (short) availIdx);
        VarHandle.fullFence();
    }

    /** Sets the raw available index (for malformed rings). */
    public void availIndex(int idx) {
        availIdx = idx & 0xFFFF;
        offered = 0;
        ram.set(U16, avail + 2, (short) availIdx);
    }

    public int availIndex() {
        return availIdx;
    }

    /** Whether the device asked for a notification (event index, or the NO_NOTIFY flag). */
    public boolean needsKick(int oldIdx) {
        VarHandle.fullFence();
        if (eventIdx) {
            int event = Short.toUnsignedInt(ram.get(U16, used + 4 + 8L * size));
            return ((availIdx - event - 1) & 0xFFFF) < ((availIdx - oldIdx) & 0xFFFF);
        }
        return (ram.get(U16, used) & Virtio.USED_F_NO_NOTIFY) == 0;
    }

    /** Notifies as the Host would for LHCALL_NOTIFY at the queue's address: through its eventfd. */
    public void kick() {
        Eventfd eventfd = driver.bus.notifyAddresses().get(notifyAddress);
        eventfd.signal(1);
    }

    /** Notifies through an MMIO write of the queue index to its notification address (the Launcher's path). */
    public void kickMmio() {
        driver.bus.mmioWrite(notifyAddress, 2, index);
    }

    public int usedIndex() {
        VarHandle.fullFence();
        return Short.toUnsignedInt(ram.get(U16, used + 2));
    }

    /** Sets used_event (the driver's event index for interrupts). */
    public void usedEvent(int idx) {
        ram.set(U16, avail + 4 + 2L * size, (short) idx);
    }

    /** Sets the available ring's flags (NO_INTERRUPT). */
    public void availFlags(int flags) {
        ram.set(U16, avail, (short) flags);
    }

    /** Takes the next used entry if there is one. */
    public Used poll() {
        if (usedIndex() == lastUsed) {
            return null;
        }
        VarHandle.acquireFence();
        long at = used + 4 + 8L * (lastUsed % size);
        int head = ram.get(U32, at);
        int length = ram.get(U32, at + 4);
        lastUsed = (lastUsed + 1) & 0xFFFF;
        Request request = inFlight.remove(head);
        int[] ids = chainIds.remove(head);
        if (ids != null) {
            for (int id : ids) {
                free.add(id);
            }
        }
        byte[] written = new byte[0];
        if (request != null) {
            written = new byte[Math.max(0, length)];
            int at2 = 0;
            for (long[] w : request.writable()) {
                int n = (int) Math.min(w[1], written.length - at2);
                if (n <= 0) {
                    break;
                }
                MemorySegment.copy(ram, ValueLayout.JAVA_BYTE, w[0], written, at2, n);
                at2 += n;
            }
        }
        return new Used(head, length, request, written);
    }

    /** Waits for the next used entry; fails the test after {@code timeout}. */
    public Used await(Duration timeout) {
        long end = System.nanoTime() + timeout.toNanos();
        while (true) {
            Used u = poll();
            if (u != null) {
                return u;
            }
            if (System.nanoTime() > end) {
                throw new AssertionError("queue " + index + ": nothing used within " + timeout);
            }
            Thread.onSpinWait();
            Thread.yield();
        }
    }

    /** Re-offers descriptors by id (for malformed chains written by hand). */
    public void forget() {
        inFlight.clear();
        chainIds.clear();
        free.clear();
        for (int i = 0; i < size; i++) {
            free.add(i);
        }
    }

    /** Back to a fresh ring: indexes 0, every descriptor free, rings zeroed. */
    void reinit() {
        forget();
        availIdx = 0;
        offered = 0;
        lastUsed = 0;
        ram.asSlice(desc, 16L * size).fill((byte) 0);
        ram.asSlice(avail, 6L + 2L * size).fill((byte) 0);
        ram.asSlice(used, 6L + 8L * size).fill((byte) 0);
    }

    public int lastUsed() {
        return lastUsed;
    }
}
