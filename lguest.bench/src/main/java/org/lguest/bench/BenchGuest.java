package org.lguest.bench;

import java.lang.foreign.MemorySegment;
import java.util.List;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.locks.LockSupport;

import org.lguest.api.device.Eventfd;
import org.lguest.api.virtio.InterruptSink;
import org.lguest.api.virtio.VirtioDevice;
import org.lguest.api.virtio.VirtioGuest;
import org.lguest.virtio.internal.VirtioPciBus;
import org.lguest.virtio.testkit.DriverDevice;
import org.lguest.virtio.testkit.DriverQueue;
import org.lguest.virtio.testkit.GuardedRam;
import org.lguest.virtio.testkit.GuestDriver;

/**
 * A guest of the virtio benchmarks (6-8): guarded RAM in a native segment,
 * its virtio-pci bus with the devices (their threads are the real
 * platform's), the Java guest driver of lguest.virtio's tests for finding
 * and setting up the devices, and one thread that plays the guest's vCPU.
 * <p>
 * The vCPU waits for the device the way an lguest guest does: it asks for an
 * interrupt (used_event, VIRTIO_F_RING_EVENT_IDX) and halts; the bus's
 * {@link InterruptSink} (the Host's {@code LHREQ_IRQ}) wakes it; its handler
 * reads the ISR, as Linux's {@code vp_interrupt} does for INTx, then looks at
 * the used ring. It notifies as the Host does for {@code LHCALL_NOTIFY}: by
 * signalling the queue's eventfd, and only when the device asked for it
 * (avail_event).
 */
final class BenchGuest implements InterruptSink, AutoCloseable {
    private static final long WAIT = 30_000_000_000L;
    final GuardedRam memory;
    final VirtioPciBus bus;
    final GuestDriver driver;
    final MemorySegment ram;
    final AtomicLong interrupts = new AtomicLong();
    private volatile Thread cpu;
    private volatile boolean stopping;

    BenchGuest(int id, String name, long ramBytes, List<? extends VirtioDevice> devices) {
        memory = new GuardedRam(ramBytes);
        bus = new VirtioPciBus(VirtioGuest.of(id, name, null), memory.guestRam(), this, ramBytes, 1, devices, null);
        driver = new GuestDriver(bus, memory.guestRam());
        ram = memory.ram();
    }

    /** From now on the calling thread is the guest's vCPU: interrupts wake it. */
    void runOnThisThread() {
        cpu = Thread.currentThread();
    }

    /** Wakes the vCPU for good: {@link Queue#await} answers null from now on. */
    void stop() {
        stopping = true;
        Thread t = cpu;
        if (t != null) {
            LockSupport.unpark(t);
        }
    }

    @Override
    public void raise(int irq) {
        interrupts.incrementAndGet();
        Thread t = cpu;
        if (t != null) {
            LockSupport.unpark(t);
        }
    }

    /** Sets up a device's queues (every feature it offers, so event indexes and indirect descriptors too). */
    Queue[] start(DriverDevice device, int queueSize) {
        DriverQueue[] qs = device.start(device.deviceFeatures(), queueSize);
        Queue[] out = new Queue[qs.length];
        for (int i = 0; i < qs.length; i++) {
            out[i] = new Queue(device, qs[i]);
        }
        return out;
    }

    @Override
    public void close() {
        bus.close();
        long changed = memory.changedGuardBytes();
        memory.close();
        if (changed != 0) {
            throw new IllegalStateException(changed + " guard bytes around the guest's RAM changed");
        }
    }

    /** The driver's side of one queue, as a lean guest driver uses it: descriptors it lays out once, no copies. */
    final class Queue {
        final DriverDevice device;
        final DriverQueue ring;
        final Eventfd eventfd;
        long kicks;

        Queue(DriverDevice device, DriverQueue ring) {
            this.device = device;
            this.ring = ring;
            this.eventfd = device.eventfd(ring);
        }

        void descriptor(int i, long address, int length, int flags, int next) {
            ring.writeDescriptor(ring.descAddress(), i, address, length, flags, next);
        }

        void offer(int head) {
            ring.offer(head);
        }

        /** Publishes what was offered and notifies the device if it asked to be. */
        void publish() {
            int old = ring.availIndex();
            ring.publish();
            if (ring.needsKick(old)) {
                kicks++;
                eventfd.signal(1);
            }
        }

        /** Asks for no interrupt from this queue (a transmit queue the driver reclaims as it goes, as Linux's virtio-net does). */
        void quiet() {
            ring.usedEvent(ring.availIndex() + 0x4000);
        }

        /** The next used entry if there is one (no copy: the driver knows its buffers). */
        DriverQueue.Used poll() {
            return ring.poll();
        }

        /**
         * Waits for the next used entry: interrupt requested, halt, ISR read on each wake; null once the guest
         * stops. A device that answers nothing for 30 s fails the benchmark instead of hanging it.
         */
        DriverQueue.Used await() {
            long deadline = 0;
            while (true) {
                DriverQueue.Used u = ring.poll();
                if (u != null) {
                    return u;
                }
                ring.usedEvent(ring.lastUsed()); // interrupt me when the next entry is used
                u = ring.poll(); // (after a full fence) it may have come meanwhile
                if (u != null) {
                    return u;
                }
                if (stopping) {
                    return null;
                }
                if (deadline == 0) {
                    deadline = System.nanoTime() + WAIT;
                } else if (System.nanoTime() - deadline > 0) {
                    throw new IllegalStateException(bus.guest().name() + ": queue " + ring.index() + " used nothing for 30 s; "
                        + bus.slots());
                }
                LockSupport.parkNanos(this, WAIT / 100);
                device.isr(); // the interrupt handler reads (and clears) the ISR
            }
        }
    }
}
