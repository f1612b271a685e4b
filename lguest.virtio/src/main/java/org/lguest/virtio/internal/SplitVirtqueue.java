package org.lguest.virtio.internal;

import static org.lguest.virtio.internal.Le.put16;
import static org.lguest.virtio.internal.Le.put32;
import static org.lguest.virtio.internal.Le.u16;
import static org.lguest.virtio.internal.Le.u32;
import static org.lguest.virtio.internal.Le.u64;

import java.lang.foreign.MemorySegment;
import java.lang.invoke.VarHandle;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;

import org.lguest.api.virtio.DescriptorChain;
import org.lguest.api.virtio.DeviceFault;
import org.lguest.api.virtio.GuestRam;
import org.lguest.api.virtio.VirtQueue;
import org.lguest.api.virtio.Virtio;

/**
 * A split virtqueue (virtio 1.0, 2.4) over guest RAM. The driver's
 * configuration (size and ring addresses, written through the common
 * configuration) is checked when the device goes live; every descriptor,
 * index and length is checked as it is read. The first thing wrong breaks
 * the device: {@link Host#broken} is told why, and the queue gives no more
 * chains until the device is reset.
 * <p>
 * Memory ordering follows the spec's: the available index is read before the
 * ring entries it covers (acquire); used ring entries are written before the
 * used index that publishes them (release); the event-index checks run after
 * a full fence. Only slices of guest RAM are ever touched, so even a bug here
 * cannot reach past it (the slice's bounds check would throw, and the throw
 * breaks the device).
 * <p>
 * Threads: the configuration fields are the transport's (under its lock,
 * with the device thread stopped); everything else runs on the device thread.
 */
final class SplitVirtqueue implements VirtQueue {
    // Counters for /metrics: plain fields, written by whichever thread serves the queue, read racily.
    long chains;
    long bytesRead;
    long bytesWritten;
    private final boolean counting = VirtioFunction.countNew;

    /** Entries an indirect table may have (QEMU's limit; Linux never needs more). */
    static final int MAX_INDIRECT = 1024;
    private static final long MAX_CHAIN_BYTES = 0xFFFF_FFFFL;
    private static final int DESC_SIZE = 16;

    /** What the queue needs from its device's transport. */
    interface Host {
        GuestRam ram();

        /** The features the driver accepted. */
        long features();

        /** Breaks the device for {@code fault}; the queue will answer nothing more until reset. */
        void broken(DeviceFault fault, String detail);

        /** Why the device is broken, or null. */
        String brokenReason();

        /** Raises the device's queue interrupt. */
        void interrupt();
    }

    private final Host host;
    private final int index;
    private final int maxSize;

    // The driver's configuration, through the common configuration structure.
    int size;
    long descAddress;
    long availAddress;
    long usedAddress;
    boolean enabled;

    // The running ring: device thread only.
    private volatile boolean running;
    private long generation;
    private MemorySegment desc;
    private MemorySegment avail;
    private MemorySegment used;
    private int mask;
    private boolean indirect;
    private boolean eventIdx;
    private int lastAvail;
    private int usedIdx;
    private int signalledUsed;
    private int unsignalled;

    SplitVirtqueue(Host host, int index, int maxSize) {
        if (maxSize < 1 || maxSize > Virtio.MAX_QUEUE_SIZE || Integer.bitCount(maxSize) != 1) {
            throw new IllegalArgumentException("queue " + index + ": size " + maxSize + " is not a power of 2 up to "
                + Virtio.MAX_QUEUE_SIZE);
        }
        this.host = host;
        this.index = index;
        this.maxSize = maxSize;
        this.size = maxSize;
    }

    int maxSize() {
        return maxSize;
    }

    /** Back to the reset state: the driver's configuration and the ring positions forgotten. */
    void reset() {
        running = false;
        generation++;
        size = maxSize;
        descAddress = 0;
        availAddress = 0;
        usedAddress = 0;
        enabled = false;
        desc = null;
        avail = null;
        used = null;
        lastAvail = 0;
        usedIdx = 0;
        signalledUsed = 0;
        unsignalled = 0;
    }

    /**
     * Goes live with the driver's configuration (DRIVER_OK): checks it and
     * maps the rings.
     *
     * @throws BadChain when the configuration breaks a rule; the queue stays stopped
     */
    void start() throws BadChain {
        if (!enabled) {
            return;
        }
        if (size < 1 || size > maxSize || Integer.bitCount(size) != 1) {
            throw new BadChain(DeviceFault.QUEUE_SIZE, "queue " + index + ": size " + size + " is not a power of 2 up to " + maxSize);
        }
        if ((descAddress & 15) != 0 || (availAddress & 1) != 0 || (usedAddress & 3) != 0) {
            throw new BadChain(DeviceFault.RING_ALIGNMENT, String.format(
                "queue %d: misaligned rings (descriptors %#x, available %#x, used %#x)", index, descAddress, availAddress,
                usedAddress));
        }
        GuestRam ram = host.ram();
        Optional<MemorySegment> d = ram.slice(descAddress, (long) DESC_SIZE * size);
        Optional<MemorySegment> a = ram.slice(availAddress, 6L + 2L * size);
        Optional<MemorySegment> u = ram.slice(usedAddress, 6L + 8L * size);
        if (d.isEmpty() || a.isEmpty() || u.isEmpty()) {
            throw new BadChain(DeviceFault.RING_OUTSIDE_RAM, String.format(
                "queue %d: rings outside guest RAM (descriptors %#x, available %#x, used %#x, size %d, RAM %#x)",
                index, descAddress, availAddress, usedAddress, size, ram.size()));
        }
        long features = host.features();
        generation++;
        desc = d.get();
        avail = a.get();
        used = u.get();
        mask = size - 1;
        indirect = (features & Virtio.bit(Virtio.F_RING_INDIRECT_DESC)) != 0;
        eventIdx = (features & Virtio.bit(Virtio.F_RING_EVENT_IDX)) != 0;
        lastAvail = usedIdx;
        signalledUsed = usedIdx;
        unsignalled = 0;
        put16(used, 0, 0);
        put16(used, 2, usedIdx);
        running = true;
    }

    /** Stops taking chains (the device broke or failed). */
    void stop() {
        running = false;
    }

    /** For tests: start the ring positions at {@code position}, as a driver whose indexes are there. */
    void position(int position) {
        usedIdx = position & 0xFFFF;
        lastAvail = usedIdx;
        signalledUsed = usedIdx;
    }

    @Override
    public int index() {
        return index;
    }

    @Override
    public int size() {
        return enabled ? size : 0;
    }

    @Override
    public boolean isReady() {
        return running && host.brokenReason() == null;
    }

    @Override
    public DescriptorChain next() {
        if (!isReady()) {
            return null;
        }
        try {
            /*V:060
             * Taking a chain from the available ring: the index, the head, and then every descriptor's
             * address and length are checked against guest RAM. A bad one marks the device broken, never the
             * Host.
             */
            int availIdx = u16(avail, 2);
            VarHandle.acquireFence();
            int pending = (availIdx - lastAvail) & 0xFFFF;
            if (pending == 0) {
                if (!eventIdx) {
                    return null;
                }
                // Ask to be notified of the next buffer, then look again: it may have come meanwhile.
                put16(used, 4 + 8L * size, lastAvail);
                VarHandle.fullFence();
                availIdx = u16(avail, 2);
                VarHandle.acquireFence();
                pending = (availIdx - lastAvail) & 0xFFFF;
                if (pending == 0) {
                    return null;
                }
            }
            if (pending > size) {
                throw new BadChain(DeviceFault.AVAIL_INDEX_AHEAD, String.format("queue %d: available index %d is %d past %d, more than the ring's %d",
                    index, availIdx, pending, lastAvail, size));
            }
            int head = u16(avail, 4 + 2L * (lastAvail & mask));
            if (head >= size) {
                throw new BadChain(DeviceFault.HEAD_PAST_RING, "queue " + index + ": head " + head + " is past the ring of " + size);
            }
            Chain chain = walk(head);
            lastAvail = (lastAvail + 1) & 0xFFFF;
            if (counting) {
                chains++;
                bytesRead += chain.readableLength();
            }
            if (eventIdx) {
                put16(used, 4 + 8L * size, lastAvail);
            }
            return chain;
        } catch (BadChain e) {
            fail(e.fault(), e.detail());
            return null;
        } catch (RuntimeException e) {
            fail(DeviceFault.DEVICE_ERROR, "queue " + index + ": " + e);
            return null;
        }
    }

    private Chain walk(int head) throws BadChain {
        GuestRam ram = host.ram();
        List<MemorySegment> readable = new ArrayList<>(4);
        List<MemorySegment> writable = new ArrayList<>(4);
        long readableLength = 0;
        long writableLength = 0;
        MemorySegment table = desc;
        int tableSize = size;
        boolean inIndirect = false;
        boolean sawWritable = false;
        int i = head;
        int count = 0;
        while (true) {
            if (++count > tableSize) {
                throw new BadChain(DeviceFault.CHAIN_LOOP, "queue " + index + ": chain from " + head + " loops or is longer than its table of "
                    + tableSize + (inIndirect ? " (indirect)" : ""));
            }
            long at = (long) DESC_SIZE * i;
            long address = u64(table, at);
            long length = u32(table, at + 8);
            int flags = u16(table, at + 12);
            int next = u16(table, at + 14);
            if ((flags & Virtio.DESC_F_INDIRECT) != 0) {
                if (!indirect) {
                    throw new BadChain(DeviceFault.INDIRECT_NOT_NEGOTIATED, "queue " + index + ": indirect descriptor, but the driver did not accept indirect descriptors");
                }
                if (inIndirect) {
                    throw new BadChain(DeviceFault.INDIRECT_NESTED, "queue " + index + ": indirect descriptor inside an indirect table");
                }
                if ((flags & Virtio.DESC_F_NEXT) != 0) {
                    throw new BadChain(DeviceFault.INDIRECT_CHAINED, "queue " + index + ": descriptor " + i + " is both indirect and chained");
                }
                if (length == 0 || length % DESC_SIZE != 0 || length / DESC_SIZE > MAX_INDIRECT) {
                    throw new BadChain(DeviceFault.INDIRECT_TABLE_SIZE, "queue " + index + ": indirect table of " + length + " bytes");
                }
                Optional<MemorySegment> t = ram.slice(address, length);
                if (t.isEmpty()) {
                    throw new BadChain(DeviceFault.INDIRECT_OUTSIDE_RAM, String.format("queue %d: indirect table at %#x (%d bytes) is outside guest RAM",
                        index, address, length));
                }
                table = t.get();
                tableSize = (int) (length / DESC_SIZE);
                inIndirect = true;
                i = 0;
                count = 0;
                continue;
            }
            boolean write = (flags & Virtio.DESC_F_WRITE) != 0;
            if (!write && sawWritable) {
                throw new BadChain(DeviceFault.READABLE_AFTER_WRITABLE, "queue " + index + ": readable buffer after a writable one in chain " + head);
            }
            sawWritable |= write;
            if (length > 0) {
                Optional<MemorySegment> buffer = ram.slice(address, length);
                if (buffer.isEmpty()) {
                    throw new BadChain(DeviceFault.BUFFER_OUTSIDE_RAM, String.format("queue %d: buffer at %#x (%d bytes) is outside guest RAM of %#x",
                        index, address, length, ram.size()));
                }
                if (readableLength + writableLength + length > MAX_CHAIN_BYTES) {
                    throw new BadChain(DeviceFault.CHAIN_TOO_LONG, "queue " + index + ": chain " + head + " is longer than 4 GiB");
                }
                if (write) {
                    writable.add(buffer.get());
                    writableLength += length;
                } else {
                    readable.add(buffer.get());
                    readableLength += length;
                }
            }
            if ((flags & Virtio.DESC_F_NEXT) == 0) {
                return new Chain(this, generation, head, readable, writable, readableLength, writableLength);
            }
            if (next >= tableSize) {
                throw new BadChain(DeviceFault.NEXT_PAST_TABLE, "queue " + index + ": descriptor " + i + " chains to " + next + ", past its table of " + tableSize);
            }
            i = next;
        }
    }

    @Override
    public void complete(DescriptorChain chain, int written) {
        if (!(chain instanceof Chain c) || c.queue != this) {
            throw new IllegalArgumentException("not a chain of queue " + index + ": " + chain);
        }
        if (c.completed) {
            throw new IllegalStateException("chain " + c.head() + " of queue " + index + " was completed already");
        }
        c.completed = true;
        if (!isReady() || c.generation != generation) {
            return; // the device was reset or broke since: the chain is no longer the guest's concern
        }
        long length = Math.clamp(Integer.toUnsignedLong(written), 0, c.writableLength());
        try {
            long at = 4 + 8L * (usedIdx & mask);
            put32(used, at, c.head());
            put32(used, at + 4, length);
            VarHandle.releaseFence();
            usedIdx = (usedIdx + 1) & 0xFFFF;
            put16(used, 2, usedIdx);
            unsignalled++;
            if (counting) {
                bytesWritten += length;
            }
        } catch (RuntimeException e) {
            fail(DeviceFault.DEVICE_ERROR, "queue " + index + ": " + e);
            return;
        }
        // Each chain is the guest's as soon as it is done, not at the end of the round (event index permitting).
        notifyGuest();
    }

    @Override
    public void notifyGuest() {
        /*V:080
         * Does the guest want to hear of it? With event indexes, only if used_event was passed; otherwise
         * unless it set NO_INTERRUPT. If so, the function raises its line.
         */
        if (unsignalled == 0 || !isReady()) {
            return;
        }
        try {
            VarHandle.fullFence();
            boolean needed;
            if (eventIdx) {
                int usedEvent = u16(avail, 4 + 2L * size);
                needed = ((usedIdx - usedEvent - 1) & 0xFFFF) < ((usedIdx - signalledUsed) & 0xFFFF);
            } else {
                needed = (u16(avail, 0) & Virtio.AVAIL_F_NO_INTERRUPT) == 0;
            }
            signalledUsed = usedIdx;
            unsignalled = 0;
            if (needed) {
                host.interrupt();
            }
        } catch (RuntimeException e) {
            fail(DeviceFault.DEVICE_ERROR, "queue " + index + ": " + e);
        }
    }

    /**
     * Chains the driver made available that the device has not taken: read from the ring by a thread that is
     * not the device's, so a moment old, and 0 when the ring is not running or cannot be read.
     */
    int waiting() {
        MemorySegment a = avail;
        if (!running || a == null) {
            return 0;
        }
        try {
            int pending = (u16(a, 2) - lastAvail) & 0xFFFF;
            return Math.min(pending, size);
        } catch (RuntimeException e) {
            // Guest RAM going away under a scrape: nothing is waiting any more.
            return 0;
        }
    }

    /** Chains taken and not yet given back (read racily by other threads). */
    int inFlight() {
        return running ? (lastAvail - usedIdx) & 0xFFFF : 0;
    }

    /** Chains completed since the guest was last told. */
    int unsignalled() {
        return unsignalled;
    }

    private void fail(DeviceFault fault, String detail) {
        running = false;
        host.broken(fault, detail);
    }

    @Override
    public String toString() {
        return "queue " + index + " (size " + size + (running ? ", running" : "") + ")";
    }

    /**
     * Rings or a chain that break a rule: {@link #fault()} names the rule,
     * and the message is the broken device's reason, which starts with it.
     */
    static final class BadChain extends Exception {
        private static final long serialVersionUID = 1L;
        private final DeviceFault fault;
        private final String detail;

        BadChain(DeviceFault fault, String detail) {
            super(fault.reason(detail), null, false, false);
            this.fault = fault;
            this.detail = detail;
        }

        DeviceFault fault() {
            return fault;
        }

        /** What happened, without the fault's name. */
        String detail() {
            return detail;
        }
    }
}
