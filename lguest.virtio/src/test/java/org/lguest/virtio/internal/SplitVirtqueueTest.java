package org.lguest.virtio.internal;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.function.Consumer;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.lguest.api.virtio.DescriptorChain;
import org.lguest.api.virtio.DeviceFault;
import org.lguest.api.virtio.Virtio;
import org.lguest.virtio.testkit.GuardedRam;

class SplitVirtqueueTest {
    private static final long RAM = 1 << 20;
    private GuardedRam memory;
    private FakeHost host;
    private QueueRig rig;

    @BeforeEach
    void setUp() {
        memory = new GuardedRam(RAM);
        host = new FakeHost(memory.guestRam(), QueueRig.all());
        rig = new QueueRig(host, 8);
        rig.start();
    }

    @AfterEach
    void tearDown() {
        assertEquals(0, memory.changedGuardBytes(), "something was written outside guest RAM");
        memory.close();
    }

    private void offer(int head) {
        int idx = rig.availIdx();
        rig.availRing(idx, head);
        rig.availIdx(idx + 1);
    }

    @Test
    void readsAChainAndReturnsItThroughTheUsedRing() {
        rig.ram.asSlice(QueueRig.DATA, 4).copyFrom(MemorySegment.ofArray(new byte[] {1, 2, 3, 4}));
        rig.desc(3, QueueRig.DATA, 4, Virtio.DESC_F_NEXT, 5);
        rig.desc(5, QueueRig.DATA + 0x100, 2, Virtio.DESC_F_NEXT | Virtio.DESC_F_WRITE, 6);
        rig.desc(6, QueueRig.DATA + 0x200, 6, Virtio.DESC_F_WRITE, 0);
        offer(3);

        DescriptorChain chain = rig.queue.next();
        assertNotNull(chain);
        assertEquals(3, chain.head());
        assertEquals(4, chain.readableLength());
        assertEquals(8, chain.writableLength());
        assertEquals(2, chain.writable().size());
        MemorySegment in = MemorySegment.ofArray(new byte[4]);
        assertEquals(4, chain.read(0, in));
        assertEquals(3, in.get(ValueLayout.JAVA_BYTE, 2));
        assertEquals(4, chain.write(1, MemorySegment.ofArray(new byte[] {9, 9, 9, 9})));
        assertEquals(9, rig.get(QueueRig.DATA + 0x101));
        assertEquals(9, rig.get(QueueRig.DATA + 0x202));
        assertEquals(0, rig.get(QueueRig.DATA + 0x203));
        assertNull(rig.queue.next());

        rig.queue.complete(chain, 1000);
        assertEquals(1, rig.usedIdx());
        assertEquals(3, rig.usedId(0));
        assertEquals(8, rig.usedLen(0), "the length is cut to the writable part");
        assertThrows(IllegalStateException.class, () -> rig.queue.complete(chain, 0));
        rig.queue.notifyGuest();
        assertEquals(1, host.interrupts);
        assertNull(host.broken);
    }

    @Test
    void followsAnIndirectTable() {
        long table = QueueRig.DATA + 0x1000;
        rig.desc(table, 0, QueueRig.DATA, 16, Virtio.DESC_F_NEXT, 2);
        rig.desc(table, 2, QueueRig.DATA + 0x100, 32, Virtio.DESC_F_NEXT | Virtio.DESC_F_WRITE, 1);
        rig.desc(table, 1, QueueRig.DATA + 0x200, 1, Virtio.DESC_F_WRITE, 0);
        rig.desc(0, table, 48, Virtio.DESC_F_INDIRECT, 0);
        offer(0);
        DescriptorChain chain = rig.queue.next();
        assertNotNull(chain, () -> host.broken);
        assertEquals(16, chain.readableLength());
        assertEquals(33, chain.writableLength());
    }

    private void assertBreaks(DeviceFault expected, String why, Consumer<QueueRig> setUp) {
        rig.restart();
        setUp.accept(rig);
        assertNull(rig.queue.next(), why);
        assertEquals(expected, host.fault, why + ": " + host.broken);
        assertTrue(host.broken.startsWith(expected.name() + ": queue 0: "), host.broken);
        assertFalse(rig.queue.isReady(), why);
        // broken until reset: even a good chain is not taken
        rig.desc(7, QueueRig.DATA, 1, 0, 0);
        offer(7);
        assertNull(rig.queue.next(), why + ": still broken");
        rig.restart();
        rig.desc(7, QueueRig.DATA, 1, 0, 0);
        offer(7);
        assertNotNull(rig.queue.next(), why + ": works again after a reset");
    }

    @Test
    void refusesEveryMalformedChain() {
        assertBreaks(DeviceFault.CHAIN_LOOP, "loop", r -> {
            r.desc(0, QueueRig.DATA, 8, Virtio.DESC_F_NEXT, 1);
            r.desc(1, QueueRig.DATA, 8, Virtio.DESC_F_NEXT, 0);
            offer(0);
        });
        assertBreaks(DeviceFault.CHAIN_LOOP, "self loop", r -> {
            r.desc(2, QueueRig.DATA, 8, Virtio.DESC_F_NEXT, 2);
            offer(2);
        });
        assertBreaks(DeviceFault.NEXT_PAST_TABLE, "next past the table", r -> {
            r.desc(0, QueueRig.DATA, 8, Virtio.DESC_F_NEXT, 8);
            offer(0);
        });
        assertBreaks(DeviceFault.HEAD_PAST_RING, "head past the ring", r -> offer(8));
        assertBreaks(DeviceFault.BUFFER_OUTSIDE_RAM, "buffer past RAM", r -> {
            r.desc(0, RAM - 4, 8, 0, 0);
            offer(0);
        });
        assertBreaks(DeviceFault.BUFFER_OUTSIDE_RAM, "buffer at RAM's end", r -> {
            r.desc(0, RAM, 1, 0, 0);
            offer(0);
        });
        assertBreaks(DeviceFault.BUFFER_OUTSIDE_RAM, "64-bit address", r -> {
            r.desc(0, 0x1_0000_0000L + QueueRig.DATA, 8, 0, 0);
            offer(0);
        });
        assertBreaks(DeviceFault.BUFFER_OUTSIDE_RAM, "negative address", r -> {
            r.desc(0, -16, 8, 0, 0);
            offer(0);
        });
        assertBreaks(DeviceFault.BUFFER_OUTSIDE_RAM, "huge length", r -> {
            r.desc(0, QueueRig.DATA, 0xFFFF_FFFFL, 0, 0);
            offer(0);
        });
        assertBreaks(DeviceFault.AVAIL_INDEX_AHEAD, "available index past the ring", r -> {
            r.desc(0, QueueRig.DATA, 8, 0, 0);
            r.availRing(0, 0);
            r.availIdx(9);
        });
        assertBreaks(DeviceFault.AVAIL_INDEX_AHEAD, "available index wrapped backwards", r -> r.availIdx(0xFFFF));
        assertBreaks(DeviceFault.READABLE_AFTER_WRITABLE, "readable after writable", r -> {
            r.desc(0, QueueRig.DATA, 8, Virtio.DESC_F_NEXT | Virtio.DESC_F_WRITE, 1);
            r.desc(1, QueueRig.DATA, 8, 0, 0);
            offer(0);
        });
        assertBreaks(DeviceFault.INDIRECT_CHAINED, "indirect and next", r -> {
            r.desc(QueueRig.DATA + 0x1000, 0, QueueRig.DATA, 8, 0, 0);
            r.desc(0, QueueRig.DATA + 0x1000, 16, Virtio.DESC_F_INDIRECT | Virtio.DESC_F_NEXT, 1);
            offer(0);
        });
        assertBreaks(DeviceFault.INDIRECT_TABLE_SIZE, "indirect table of a partial descriptor", r -> {
            r.desc(0, QueueRig.DATA + 0x1000, 24, Virtio.DESC_F_INDIRECT, 0);
            offer(0);
        });
        assertBreaks(DeviceFault.INDIRECT_TABLE_SIZE, "empty indirect table", r -> {
            r.desc(0, QueueRig.DATA + 0x1000, 0, Virtio.DESC_F_INDIRECT, 0);
            offer(0);
        });
        assertBreaks(DeviceFault.INDIRECT_OUTSIDE_RAM, "indirect table past RAM", r -> {
            r.desc(0, RAM - 16, 32, Virtio.DESC_F_INDIRECT, 0);
            offer(0);
        });
        assertBreaks(DeviceFault.INDIRECT_TABLE_SIZE, "oversized indirect table", r -> {
            r.desc(0, QueueRig.DATA, 16L * (SplitVirtqueue.MAX_INDIRECT + 1), Virtio.DESC_F_INDIRECT, 0);
            offer(0);
        });
        assertBreaks(DeviceFault.INDIRECT_NESTED, "indirect inside indirect", r -> {
            long table = QueueRig.DATA + 0x1000;
            r.desc(table, 0, table, 16, Virtio.DESC_F_INDIRECT, 0);
            r.desc(0, table, 16, Virtio.DESC_F_INDIRECT, 0);
            offer(0);
        });
        assertBreaks(DeviceFault.CHAIN_LOOP, "loop inside an indirect table", r -> {
            long table = QueueRig.DATA + 0x1000;
            r.desc(table, 0, QueueRig.DATA, 1, Virtio.DESC_F_NEXT, 1);
            r.desc(table, 1, QueueRig.DATA, 1, Virtio.DESC_F_NEXT, 0);
            r.desc(0, table, 32, Virtio.DESC_F_INDIRECT, 0);
            offer(0);
        });
        assertBreaks(DeviceFault.NEXT_PAST_TABLE, "next past an indirect table", r -> {
            long table = QueueRig.DATA + 0x1000;
            r.desc(table, 0, QueueRig.DATA, 1, Virtio.DESC_F_NEXT, 2);
            r.desc(0, table, 32, Virtio.DESC_F_INDIRECT, 0);
            offer(0);
        });
    }

    @Test
    void aChainOver4GiBBreaks() {
        long bigRam = 4L << 20;
        try (GuardedRam big = new GuardedRam(bigRam)) {
            FakeHost bigHost = new FakeHost(big.guestRam(), QueueRig.all());
            QueueRig r = new QueueRig(bigHost, 8);
            r.start();
            // The same 4 MiB, 1024 times over through an indirect table: 4 GiB, one byte past what a chain may carry.
            long table = QueueRig.DATA;
            int entries = SplitVirtqueue.MAX_INDIRECT;
            for (int i = 0; i < entries; i++) {
                r.desc(table, i, 0, bigRam, i + 1 < entries ? Virtio.DESC_F_NEXT : 0, i + 1);
            }
            r.desc(0, table, 16L * entries, Virtio.DESC_F_INDIRECT, 0);
            r.availRing(0, 0);
            r.availIdx(1);
            assertNull(r.queue.next());
            assertEquals(DeviceFault.CHAIN_TOO_LONG, bigHost.fault, bigHost.broken);
            assertEquals(0, big.changedGuardBytes());
        }
    }

    @Test
    void indirectWithoutTheFeatureBreaks() {
        host.features = Virtio.bit(Virtio.F_VERSION_1);
        rig.restart();
        rig.desc(QueueRig.DATA + 0x1000, 0, QueueRig.DATA, 8, 0, 0);
        rig.desc(0, QueueRig.DATA + 0x1000, 16, Virtio.DESC_F_INDIRECT, 0);
        offer(0);
        assertNull(rig.queue.next());
        assertEquals(DeviceFault.INDIRECT_NOT_NEGOTIATED, host.fault, host.broken);
    }

    private static void assertRefused(DeviceFault expected, SplitVirtqueue q, String why) {
        SplitVirtqueue.BadChain refused = assertThrows(SplitVirtqueue.BadChain.class, q::start, why);
        assertEquals(expected, refused.fault(), why + ": " + refused.getMessage());
        assertTrue(refused.getMessage().startsWith(expected.name() + ": queue 1: "), refused.getMessage());
        assertFalse(q.isReady(), why);
    }

    @Test
    void refusesBadRingConfiguration() throws SplitVirtqueue.BadChain {
        SplitVirtqueue q = new SplitVirtqueue(host, 1, 16);
        q.enabled = true;
        q.size = 16;
        q.descAddress = 0x1008;
        q.availAddress = 0x3000;
        q.usedAddress = 0x4000;
        assertRefused(DeviceFault.RING_ALIGNMENT, q, "misaligned descriptor table");
        q.descAddress = RAM - 16 * 8;
        assertRefused(DeviceFault.RING_OUTSIDE_RAM, q, "descriptor table past RAM");
        q.descAddress = 0x1000;
        q.usedAddress = RAM - 8;
        assertRefused(DeviceFault.RING_OUTSIDE_RAM, q, "used ring past RAM");
        q.usedAddress = 0x4000;
        q.size = 12;
        assertRefused(DeviceFault.QUEUE_SIZE, q, "size not a power of 2");
        q.size = 32;
        assertRefused(DeviceFault.QUEUE_SIZE, q, "size past the maximum");
        q.size = 16;
        q.start();
        assertTrue(q.isReady());
    }

    @Test
    void indexesWrapAt65536() {
        rig.queue.reset();
        rig.configure();
        rig.queue.position(65530);
        rig.availIdx(65530);
        rig.start();
        assertEquals(65530, rig.usedIdx());
        for (int i = 0; i < 40; i++) {
            int idx = rig.availIdx();
            rig.desc(i % 8, QueueRig.DATA, 4, Virtio.DESC_F_WRITE, 0);
            rig.availRing(idx, i % 8);
            rig.availIdx((idx + 1) & 0xFFFF);
            DescriptorChain chain = rig.queue.next();
            assertNotNull(chain, () -> "request " + idx + ": " + host.broken);
            assertEquals(i % 8, chain.head());
            rig.queue.complete(chain, 4);
            assertEquals((65531 + i) & 0xFFFF, rig.usedIdx());
        }
        assertNull(host.broken);
    }

    @Test
    void eventIndexTellsTheDriverWhenToNotifyAndSuppressesInterrupts() {
        rig.usedEvent(0);
        for (int i = 0; i < 3; i++) {
            rig.desc(i, QueueRig.DATA, 4, Virtio.DESC_F_WRITE, 0);
            offer(i);
        }
        for (int i = 0; i < 3; i++) {
            rig.queue.complete(rig.queue.next(), 1);
        }
        assertNull(rig.queue.next());
        assertEquals(3, rig.availEvent(), "the device asks to hear of the next buffer");
        // used_event 0: interrupt only when the used index passes 0 (0 -> 3 does)
        rig.queue.notifyGuest();
        assertEquals(1, host.interrupts);
        // used_event 10: completing up to 6 does not cross it
        rig.usedEvent(10);
        for (int i = 3; i < 6; i++) {
            rig.desc(i, QueueRig.DATA, 4, Virtio.DESC_F_WRITE, 0);
            offer(i);
            rig.queue.complete(rig.queue.next(), 1);
        }
        rig.queue.notifyGuest();
        assertEquals(1, host.interrupts);
        rig.usedEvent(5);
        rig.desc(6, QueueRig.DATA, 4, Virtio.DESC_F_WRITE, 0);
        offer(6);
        rig.queue.complete(rig.queue.next(), 1);
        rig.queue.notifyGuest();
        assertEquals(1, host.interrupts, "used_event 5 was passed before the last signal check; 6 -> 7 does not cross it");
    }

    @Test
    void noInterruptFlagIsHonouredWithoutEventIndex() {
        host.features = Virtio.bit(Virtio.F_VERSION_1);
        rig.restart();
        rig.availFlags(Virtio.AVAIL_F_NO_INTERRUPT);
        rig.desc(0, QueueRig.DATA, 4, Virtio.DESC_F_WRITE, 0);
        offer(0);
        rig.queue.complete(rig.queue.next(), 1);
        rig.queue.notifyGuest();
        assertEquals(0, host.interrupts);
        rig.availFlags(0);
        rig.desc(1, QueueRig.DATA, 4, Virtio.DESC_F_WRITE, 0);
        offer(1);
        rig.queue.complete(rig.queue.next(), 1);
        rig.queue.notifyGuest();
        assertEquals(1, host.interrupts);
    }

    @Test
    void chainsFromBeforeAResetAreDropped() {
        rig.desc(0, QueueRig.DATA, 4, Virtio.DESC_F_WRITE, 0);
        offer(0);
        DescriptorChain chain = rig.queue.next();
        rig.restart();
        rig.queue.complete(chain, 4);
        assertEquals(0, rig.usedIdx());
        assertTrue(rig.queue.isReady());
    }

    @Test
    void eachChainInterruptsAsItIsCompletedNotAtTheEndOfTheRound() {
        rig.usedEvent(0);
        for (int i = 0; i < 2; i++) {
            rig.desc(i, QueueRig.DATA, 4, Virtio.DESC_F_WRITE, 0);
            offer(i);
        }
        rig.queue.complete(rig.queue.next(), 1);
        assertEquals(1, host.interrupts, "the first chain is the guest's before the second is even taken");
        rig.usedEvent(1);
        rig.queue.complete(rig.queue.next(), 1);
        assertEquals(2, host.interrupts, "the driver asked again, so the second interrupts too");
        rig.queue.notifyGuest();
        assertEquals(2, host.interrupts, "nothing is left for the end of the round");
    }
}
