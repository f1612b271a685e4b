package org.lguest.itest;

import java.lang.foreign.MemorySegment;
import java.util.concurrent.atomic.AtomicInteger;

import org.lguest.api.virtio.DescriptorChain;
import org.lguest.api.virtio.DeviceContext;
import org.lguest.api.virtio.DeviceSession;
import org.lguest.api.virtio.VirtQueue;
import org.lguest.api.virtio.VirtioDevice;

/**
 * A device a third party could write, registered by the test itself: one
 * queue whose buffers it fills with a counter's bytes. It writes only what
 * the SPI has no default for, and counts how often the platform attached it.
 */
final class StandInDevice implements VirtioDevice {
    final AtomicInteger attached = new AtomicInteger();
    private final int type;
    private final String name;
    private final int queueSize;

    StandInDevice(int type, String name, int queueSize) {
        this.type = type;
        this.name = name;
        this.queueSize = queueSize;
    }

    @Override
    public int type() {
        return type;
    }

    @Override
    public String name() {
        return name;
    }

    @Override
    public int[] queueSizes() {
        return new int[] {queueSize};
    }

    @Override
    public DeviceSession attach(DeviceContext context) {
        attached.incrementAndGet();
        return new DeviceSession() {
            private byte next;

            @Override
            public void serve(int queue) {
                VirtQueue q = context.queue(queue);
                DescriptorChain chain;
                while ((chain = q.next()) != null) {
                    byte[] bytes = new byte[(int) Math.min(chain.writableLength(), 4096)];
                    for (int i = 0; i < bytes.length; i++) {
                        bytes[i] = next++;
                    }
                    q.complete(chain, (int) chain.write(0, MemorySegment.ofArray(bytes)));
                }
            }

            @Override
            public void reset() {
            }

            @Override
            public void close() {
            }
        };
    }
}
