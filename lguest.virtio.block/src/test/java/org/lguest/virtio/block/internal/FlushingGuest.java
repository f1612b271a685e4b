package org.lguest.virtio.block.internal;

import java.nio.file.Path;
import java.util.List;

import org.lguest.api.virtio.Virtio;
import org.lguest.api.virtio.VirtioGuest;
import org.lguest.virtio.testkit.DriverDevice;
import org.lguest.virtio.testkit.DriverQueue;
import org.lguest.virtio.testkit.TestBus;

/**
 * Run in its own JVM by {@link BlockDurabilityTest}: a guest writes and
 * flushes, says so, and waits to be killed.
 */
public final class FlushingGuest {
    private FlushingGuest() {
    }

    public static void main(String[] args) throws Exception {
        Path image = Path.of(args[0]);
        int seed = Integer.parseInt(args[1]);
        BlockDevice disk = new BlockDevice("disk", image, false, "", 512, 16);
        TestBus bus = new TestBus(VirtioGuest.of(1, "g", null), 2 << 20, 1, List.of(disk));
        DriverDevice dev = bus.find(Virtio.ID_BLOCK);
        DriverQueue q = dev.start(dev.deviceFeatures(), 0)[0];
        for (int s = 0; s < 16; s++) {
            if (BlockRequests.write(q, 64 + 8L * s, BlockRequests.pattern(4096, seed + s)) != BlockDevice.S_OK) {
                System.out.println("WRITE FAILED");
                System.exit(2);
            }
        }
        if (BlockRequests.flush(q) != BlockDevice.S_OK) {
            System.out.println("FLUSH FAILED");
            System.exit(2);
        }
        System.out.println("FLUSHED");
        System.out.flush();
        Thread.sleep(600_000);
    }
}
