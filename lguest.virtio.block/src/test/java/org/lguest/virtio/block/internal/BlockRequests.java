package org.lguest.virtio.block.internal;

import java.lang.foreign.MemorySegment;
import java.nio.ByteOrder;
import java.lang.foreign.ValueLayout;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;

import org.lguest.virtio.testkit.DriverQueue;

/** Block requests as a guest's driver builds them. */
final class BlockRequests {
    static final Duration WAIT = Duration.ofSeconds(10);

    private BlockRequests() {
    }

    static byte[] header(int type, long sector) {
        MemorySegment h = MemorySegment.ofArray(new byte[16]);
        h.set(ValueLayout.JAVA_INT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN), 0, type);
        h.set(ValueLayout.JAVA_LONG_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN), 8, sector);
        return h.toArray(ValueLayout.JAVA_BYTE);
    }

    /** Writes {@code data} at {@code sector}; returns the status byte. */
    static int write(DriverQueue q, long sector, byte[] data) {
        q.add(List.of(header(BlockDevice.T_OUT, sector), data), List.of(1));
        q.publish();
        q.kick();
        DriverQueue.Used used = q.await(WAIT);
        return used.written()[used.length() - 1];
    }

    /** Reads {@code length} bytes at {@code sector}: the data, then the status byte. */
    static byte[] read(DriverQueue q, long sector, int length) {
        q.add(List.of(header(BlockDevice.T_IN, sector)), List.of(length, 1));
        q.publish();
        q.kick();
        DriverQueue.Used used = q.await(WAIT);
        return used.written();
    }

    static int flush(DriverQueue q) {
        q.add(List.of(header(BlockDevice.T_FLUSH, 0)), List.of(1));
        q.publish();
        q.kickMmio();
        DriverQueue.Used used = q.await(WAIT);
        return used.written()[0];
    }

    static byte[] pattern(int length, int seed) {
        byte[] b = new byte[length];
        for (int i = 0; i < length; i++) {
            b[i] = (byte) (seed * 31 + i * 7);
        }
        return b;
    }

    static List<Integer> sizes(int... n) {
        List<Integer> l = new ArrayList<>();
        for (int i : n) {
            l.add(i);
        }
        return l;
    }
}
