package org.lguest.virtio.internal;

import java.lang.foreign.MemorySegment;
import java.lang.invoke.VarHandle;
import java.util.Random;

import org.lguest.api.virtio.Virtio;

/**
 * Writes random requests, good and bad, into a split virtqueue's rings the
 * way a buggy or hostile guest driver could, and says whether each one must
 * be taken, must break the device, or may do either.
 */
final class ChainFuzzer {
    enum Kind {
        VALID(Outcome.TAKEN), VALID_INDIRECT(Outcome.TAKEN),
        LOOP(Outcome.BREAKS), NEXT_PAST_TABLE(Outcome.BREAKS), HEAD_PAST_RING(Outcome.BREAKS),
        BUFFER_PAST_RAM(Outcome.BREAKS), HUGE_LENGTH(Outcome.BREAKS), ADDRESS_ABOVE_4G(Outcome.BREAKS),
        INDEX_JUMP(Outcome.BREAKS), READABLE_AFTER_WRITABLE(Outcome.BREAKS),
        BAD_INDIRECT_LENGTH(Outcome.BREAKS), INDIRECT_PAST_RAM(Outcome.BREAKS), NESTED_INDIRECT(Outcome.BREAKS),
        INDIRECT_AND_NEXT(Outcome.BREAKS), LOOP_IN_INDIRECT(Outcome.BREAKS), NEXT_PAST_INDIRECT(Outcome.BREAKS),
        RANDOM_DESCRIPTORS(Outcome.EITHER), SCRIBBLED_RINGS(Outcome.EITHER);

        final Outcome outcome;

        Kind(Outcome outcome) {
            this.outcome = outcome;
        }
    }

    enum Outcome { TAKEN, BREAKS, EITHER }

    private final Random random;
    private final MemorySegment ram;
    private final long ramSize;
    private final long desc;
    private final long avail;
    private final long used;
    private final int size;
    private final long data;
    private final long dataSize;
    /** The driver's available index. */
    int availIdx;

    /**
     * @param data a scratch area for buffers and indirect tables
     */
    ChainFuzzer(Random random, MemorySegment ram, long desc, long avail, long used, int size, long data, long dataSize) {
        this.random = random;
        this.ram = ram;
        this.ramSize = ram.byteSize();
        this.desc = desc;
        this.avail = avail;
        this.used = used;
        this.size = size;
        this.data = data;
        this.dataSize = dataSize;
    }

    private void descriptor(long table, int i, long address, long length, int flags, int next) {
        long at = table + 16L * i;
        ram.set(Le.U64, at, address);
        ram.set(Le.U32, at + 8, (int) length);
        ram.set(Le.U16, at + 12, (short) flags);
        ram.set(Le.U16, at + 14, (short) next);
    }

    private void offer(int head) {
        ram.set(Le.U16, avail + 4 + 2L * (availIdx % size), (short) head);
        availIdx = (availIdx + 1) & 0xFFFF;
        VarHandle.releaseFence();
        ram.set(Le.U16, avail + 2, (short) availIdx);
    }

    /** A buffer inside the scratch area. */
    private long[] buffer() {
        long length = 1 + random.nextInt(random.nextInt(8) == 0 ? 4096 : 64);
        long address = data + (long) (random.nextDouble() * (dataSize - length));
        return new long[] {address, length};
    }

    /** Distinct descriptor indexes, in random order. */
    private int[] indexes(int n, int tableSize) {
        int[] all = new int[tableSize];
        for (int i = 0; i < tableSize; i++) {
            all[i] = i;
        }
        for (int i = 0; i < n; i++) {
            int j = i + random.nextInt(tableSize - i);
            int t = all[i];
            all[i] = all[j];
            all[j] = t;
        }
        return java.util.Arrays.copyOf(all, n);
    }

    /** Writes a well-formed chain of {@code n} descriptors in {@code table}, readable ones first; returns its head. */
    private int goodChain(long table, int tableSize, int n) {
        int[] ids = indexes(n, tableSize);
        int readable = random.nextInt(n + 1);
        for (int k = 0; k < n; k++) {
            long[] b = buffer();
            int flags = (k >= readable ? Virtio.DESC_F_WRITE : 0) | (k + 1 < n ? Virtio.DESC_F_NEXT : 0);
            descriptor(table, ids[k], b[0], b[1], flags, k + 1 < n ? ids[k + 1] : random.nextInt(65536));
        }
        return ids[0];
    }

    private long indirectTable(int entries) {
        long bytes = 16L * entries;
        return (data + (long) (random.nextDouble() * (dataSize - bytes))) & ~15L;
    }

    /** Writes one request of a random kind and publishes it. */
    Kind next() {
        Kind[] kinds = Kind.values();
        Kind kind = random.nextInt(3) == 0 ? (random.nextBoolean() ? Kind.VALID : Kind.VALID_INDIRECT)
            : kinds[random.nextInt(kinds.length)];
        if (size < 2 && (kind == Kind.LOOP || kind == Kind.READABLE_AFTER_WRITABLE)) {
            kind = Kind.HEAD_PAST_RING;
        }
        switch (kind) {
            case VALID -> offer(goodChain(desc, size, 1 + random.nextInt(Math.min(size, 8))));
            case VALID_INDIRECT -> {
                int n = 1 + random.nextInt(random.nextInt(10) == 0 ? SplitVirtqueue.MAX_INDIRECT : 16);
                long table = indirectTable(n);
                int head = goodChain(table, n, n);
                // an indirect table's chain starts where the driver says: rotate so that head is entry 0's chain
                int slot = random.nextInt(size);
                descriptor(desc, slot, table, 16L * n, Virtio.DESC_F_INDIRECT | (random.nextBoolean() ? Virtio.DESC_F_WRITE : 0), 0);
                if (head != 0) {
                    // the device starts at entry 0: make entry 0 the chain's head by swapping entries
                    swap(table, 0, head, n);
                }
                offer(slot);
            }
            case LOOP -> {
                int n = 2 + random.nextInt(Math.min(size, 8) - 1);
                int[] ids = indexes(n, size);
                for (int k = 0; k < n; k++) {
                    long[] b = buffer();
                    descriptor(desc, ids[k], b[0], b[1], Virtio.DESC_F_NEXT, k + 1 < n ? ids[k + 1] : ids[random.nextInt(n)]);
                }
                offer(ids[0]);
            }
            case NEXT_PAST_TABLE -> {
                int head = random.nextInt(size);
                long[] b = buffer();
                descriptor(desc, head, b[0], b[1], Virtio.DESC_F_NEXT, size + random.nextInt(65536 - size));
                offer(head);
            }
            case HEAD_PAST_RING -> offer(size + random.nextInt(65536 - size));
            case BUFFER_PAST_RAM -> {
                int head = random.nextInt(size);
                long back = 1 + random.nextInt(4096);
                descriptor(desc, head, ramSize - back + random.nextInt(2) * back, back + 1 + random.nextInt(4096),
                    random.nextBoolean() ? Virtio.DESC_F_WRITE : 0, 0);
                offer(head);
            }
            case HUGE_LENGTH -> {
                int head = random.nextInt(size);
                long length = ramSize + 1 + (long) (random.nextDouble() * (0xFFFF_FFFFL - ramSize - 1));
                descriptor(desc, head, random.nextInt(4096), length, random.nextBoolean() ? Virtio.DESC_F_WRITE : 0, 0);
                offer(head);
            }
            case ADDRESS_ABOVE_4G -> {
                int head = random.nextInt(size);
                long address = (1L + random.nextInt(Integer.MAX_VALUE)) << 32 | data;
                if (random.nextBoolean()) {
                    address = -1L - random.nextInt(4096);
                }
                descriptor(desc, head, address, 1 + random.nextInt(64), random.nextBoolean() ? Virtio.DESC_F_WRITE : 0, 0);
                offer(head);
            }
            case INDEX_JUMP -> {
                descriptor(desc, 0, data, 1, 0, 0);
                for (int i = 0; i < size; i++) {
                    ram.set(Le.U16, avail + 4 + 2L * i, (short) 0);
                }
                availIdx = (availIdx + size + 1 + random.nextInt(65535 - size)) & 0xFFFF;
                VarHandle.releaseFence();
                ram.set(Le.U16, avail + 2, (short) availIdx);
            }
            case READABLE_AFTER_WRITABLE -> {
                int[] ids = indexes(2, size);
                long[] a = buffer();
                long[] b = buffer();
                descriptor(desc, ids[0], a[0], a[1], Virtio.DESC_F_WRITE | Virtio.DESC_F_NEXT, ids[1]);
                descriptor(desc, ids[1], b[0], b[1], 0, 0);
                offer(ids[0]);
            }
            case BAD_INDIRECT_LENGTH -> {
                int head = random.nextInt(size);
                long length = switch (random.nextInt(3)) {
                    case 0 -> 0;
                    case 1 -> 16L * (1 + random.nextInt(8)) + 1 + random.nextInt(15);
                    default -> 16L * (SplitVirtqueue.MAX_INDIRECT + 1 + random.nextInt(1000));
                };
                descriptor(desc, head, indirectTable(1), length, Virtio.DESC_F_INDIRECT, 0);
                offer(head);
            }
            case INDIRECT_PAST_RAM -> {
                int head = random.nextInt(size);
                int entries = 1 + random.nextInt(16);
                long address = random.nextBoolean() ? ramSize - 16L * random.nextInt(entries) : (1L << 32) + data;
                descriptor(desc, head, address, 16L * entries, Virtio.DESC_F_INDIRECT, 0);
                offer(head);
            }
            case NESTED_INDIRECT -> {
                long table = indirectTable(2);
                long[] b = buffer();
                descriptor(table, 0, b[0], b[1], Virtio.DESC_F_NEXT, 1);
                descriptor(table, 1, table, 32, Virtio.DESC_F_INDIRECT, 0);
                int head = random.nextInt(size);
                descriptor(desc, head, table, 32, Virtio.DESC_F_INDIRECT, 0);
                offer(head);
            }
            case INDIRECT_AND_NEXT -> {
                long table = indirectTable(1);
                long[] b = buffer();
                descriptor(table, 0, b[0], b[1], 0, 0);
                int head = random.nextInt(size);
                descriptor(desc, head, table, 16, Virtio.DESC_F_INDIRECT | Virtio.DESC_F_NEXT, random.nextInt(size));
                offer(head);
            }
            case LOOP_IN_INDIRECT -> {
                int n = 1 + random.nextInt(16);
                long table = indirectTable(n);
                for (int k = 0; k < n; k++) {
                    long[] b = buffer();
                    descriptor(table, k, b[0], b[1], Virtio.DESC_F_NEXT, k + 1 < n ? k + 1 : random.nextInt(n));
                }
                int head = random.nextInt(size);
                descriptor(desc, head, table, 16L * n, Virtio.DESC_F_INDIRECT, 0);
                offer(head);
            }
            case NEXT_PAST_INDIRECT -> {
                int n = 1 + random.nextInt(16);
                long table = indirectTable(n);
                long[] b = buffer();
                descriptor(table, 0, b[0], b[1], Virtio.DESC_F_NEXT, n + random.nextInt(100));
                int head = random.nextInt(size);
                descriptor(desc, head, table, 16L * n, Virtio.DESC_F_INDIRECT, 0);
                offer(head);
            }
            case RANDOM_DESCRIPTORS -> {
                int n = 1 + random.nextInt(Math.min(size, 8));
                for (int k = 0; k < n; k++) {
                    descriptor(desc, random.nextInt(size), randomAddress(), randomLength(), random.nextInt(65536) & 0xF,
                        random.nextInt(random.nextBoolean() ? size : 65536));
                }
                offer(random.nextInt(random.nextInt(4) == 0 ? 65536 : size));
            }
            case SCRIBBLED_RINGS -> {
                byte[] junk = new byte[16 * size];
                random.nextBytes(junk);
                MemorySegment.copy(MemorySegment.ofArray(junk), 0, ram, desc, junk.length);
                int n = 1 + random.nextInt(size);
                for (int i = 0; i < n; i++) {
                    offer(random.nextInt(65536));
                }
                if (random.nextBoolean()) {
                    // the driver scribbles on the used ring too: the device never trusts it
                    byte[] u = new byte[6 + 8 * size];
                    random.nextBytes(u);
                    MemorySegment.copy(MemorySegment.ofArray(u), 0, ram, used, u.length);
                }
            }
        }
        return kind;
    }

    private void swap(long table, int a, int b, int n) {
        // Rewrites table entries a and b swapped, fixing the next fields that pointed at either.
        byte[] ea = ram.asSlice(table + 16L * a, 16).toArray(java.lang.foreign.ValueLayout.JAVA_BYTE);
        byte[] eb = ram.asSlice(table + 16L * b, 16).toArray(java.lang.foreign.ValueLayout.JAVA_BYTE);
        MemorySegment.copy(MemorySegment.ofArray(eb), 0, ram, table + 16L * a, 16);
        MemorySegment.copy(MemorySegment.ofArray(ea), 0, ram, table + 16L * b, 16);
        for (int i = 0; i < n; i++) {
            long at = table + 16L * i;
            int flags = Short.toUnsignedInt(ram.get(Le.U16, at + 12));
            if ((flags & Virtio.DESC_F_NEXT) == 0) {
                continue;
            }
            int next = Short.toUnsignedInt(ram.get(Le.U16, at + 14));
            if (next == a) {
                ram.set(Le.U16, at + 14, (short) b);
            } else if (next == b) {
                ram.set(Le.U16, at + 14, (short) a);
            }
        }
    }

    private long randomAddress() {
        return switch (random.nextInt(6)) {
            case 0 -> random.nextLong();
            case 1 -> ramSize - random.nextInt(8192);
            case 2 -> random.nextInt(4096);
            case 3 -> (long) random.nextInt(1 << 16) << 32;
            default -> data + (long) (random.nextDouble() * dataSize);
        };
    }

    private long randomLength() {
        return switch (random.nextInt(5)) {
            case 0 -> 0;
            case 1 -> 0xFFFF_FFFFL - random.nextInt(4096);
            case 2 -> ramSize;
            default -> random.nextInt(4096);
        };
    }
}
