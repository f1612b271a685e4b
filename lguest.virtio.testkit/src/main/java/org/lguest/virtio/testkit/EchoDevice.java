package org.lguest.virtio.testkit;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;

import org.lguest.api.virtio.DescriptorChain;
import org.lguest.api.virtio.DeviceContext;
import org.lguest.api.virtio.DeviceSession;
import org.lguest.api.virtio.VirtQueue;
import org.lguest.api.virtio.VirtioDevice;

/**
 * A test device: every chain's readable bytes are copied into its writable
 * buffers (as many as fit) and the chain is returned with that length. Its
 * 8-byte configuration space holds a magic word and the count of chains
 * served for the guest, kept in the platform's state so that it survives a
 * restart of the device.
 */
public final class EchoDevice implements VirtioDevice {
    public static final int TYPE = 42;
    public static final int MAGIC = 0xEC40_0001;

    private final String name;
    private final int[] sizes;
    public final AtomicInteger attached = new AtomicInteger();
    public final AtomicInteger closed = new AtomicInteger();
    public final AtomicInteger resets = new AtomicInteger();
    public final AtomicLong served = new AtomicLong();
    /** Serve at most this many chains per call (to let queues fill). */
    public volatile int perServe = Integer.MAX_VALUE;

    public EchoDevice(String name, int... sizes) {
        this.name = name;
        this.sizes = sizes.length == 0 ? new int[] {64} : sizes.clone();
    }

    @Override
    public int type() {
        return TYPE;
    }

    @Override
    public String name() {
        return name;
    }

    @Override
    public long features() {
        return 1L << 3;
    }

    @Override
    public int[] queueSizes() {
        return sizes.clone();
    }

    @Override
    public int configSize() {
        return 8;
    }

    @Override
    public DeviceSession attach(DeviceContext context) {
        attached.incrementAndGet();
        AtomicLong count = (AtomicLong) context.state().computeIfAbsent("served", k -> new AtomicLong());
        return new DeviceSession() {
            @Override
            public int readConfig(int offset, int size) {
                long value = offset < 4 ? MAGIC : count.get();
                int shift = 8 * (offset % 4);
                return (int) ((value & 0xFFFF_FFFFL) >>> shift);
            }

            @Override
            public void activate(long features) {
            }

            @Override
            public void serve(int queue) {
                VirtQueue q = context.queue(queue);
                int n = 0;
                DescriptorChain chain;
                while (n < perServe && (chain = q.next()) != null) {
                    long length = Math.min(chain.readableLength(), chain.writableLength());
                    int written = 0;
                    if (length > 0) {
                        try (Arena arena = Arena.ofConfined()) {
                            MemorySegment copy = arena.allocate(length);
                            chain.read(0, copy);
                            written = (int) chain.write(0, copy);
                        }
                    }
                    q.complete(chain, written);
                    count.incrementAndGet();
                    served.incrementAndGet();
                    n++;
                }
            }

            @Override
            public void reset() {
                resets.incrementAndGet();
            }

            @Override
            public void close() {
                closed.incrementAndGet();
            }
        };
    }
}
