package org.lguest.device.internal;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.lguest.api.abi.Errno;
import org.lguest.api.abi.LguestData;
import org.lguest.api.abi.Lhcall;
import org.lguest.api.abi.Lhreq;
import org.lguest.api.cpu.Reg;

/** Virtual interrupts: interrupt_pending(), try_deliver_interrupt(), set_guest_interrupt(). */
@Timeout(10)
class InterruptTest {
    static final long STACK = 0x9000;
    static final long HANDLER = 0x3000;
    /** Where the guest is when the tests raise interrupts: after the NOTIFY that follows 0x2222. */
    static final int EIP0 = 0x2224;
    private final Rig rig = new Rig();

    @BeforeEach
    void boot() {
        rig.boot();
        // Handlers for irq 0 (an interrupt gate) and irq 1 (a trap gate); the guest's kernel stack.
        rig.backend.then(Rig.idt(32, HANDLER, 0xE), Rig.idt(33, HANDLER + 0x100, 0xF),
            Rig.doing(s -> {
                s.regs().set(Reg.ESP, (int) STACK);
                s.regs().set(Reg.EIP, 0x2222);
                s.regs().set(Reg.EFLAGS, 0x202 | Abi.X86_EFLAGS_TF | Abi.X86_EFLAGS_NT);
            }),
            Rig.hcall(Lhcall.NOTIFY, 1));
        assertEquals(1, rig.read().word());
        rig.put32(Rig.DATA + LguestData.TIME, 0);
    }

    @AfterEach
    void close() {
        rig.close();
    }

    /** Raises {@code irq}, then lets the guest notify: what did the guest get? */
    private void raiseAndRun(int irq) {
        assertEquals(0, rig.write(Lhreq.IRQ, irq));
        rig.backend.then(Rig.doing(s -> { }), Rig.hcall(Lhcall.NOTIFY, 2));
        assertEquals(2, rig.read().word());
    }

    @Test
    void anInterruptPushesAnInterruptFrameAndJumpsToTheHandler() {
        rig.backend.then(Rig.doing(s -> { }));
        assertEquals(0, rig.write(Lhreq.IRQ, 0));
        // Look before the guest moves on: deliver, run one step that records.
        int[] seen = new int[3];
        rig.backend.then(s -> {
            seen[0] = s.regs().get(Reg.EIP);
            seen[1] = s.regs().get(Reg.ESP);
            seen[2] = s.regs().get(Reg.EFLAGS);
            return org.lguest.api.cpu.VcpuExit.kicked(0);
        }, Rig.hcall(Lhcall.NOTIFY, 2));
        assertEquals(2, rig.read().word());
        assertEquals((int) HANDLER, seen[0]);
        assertEquals((int) STACK - 12, seen[1]);
        assertEquals(0x202, seen[2], "TF and NT cleared on entry");
        assertEquals(0x202 | Abi.X86_EFLAGS_TF | Abi.X86_EFLAGS_NT, rig.get32(STACK - 4), "old eflags");
        assertEquals(0x61, rig.get32(STACK - 8), "old cs");
        assertEquals(EIP0, rig.get32(STACK - 12), "old eip");
        assertEquals(0x61, rig.reg(Reg.CS));
        assertEquals(0x69, rig.reg(Reg.SS));
        assertEquals(0, rig.get32(Rig.DATA + LguestData.IRQ_ENABLED), "an interrupt gate disables interrupts");
        assertFalse(rig.cpu().irqPending(0));
        assertEquals((int) Rig.NOW.getEpochSecond(), rig.get32(Rig.DATA + LguestData.TIME), "timestamp written");
        assertEquals(0, rig.get32(Rig.DATA + LguestData.IRQ_PENDING));
    }

    @Test
    void aTrapGateLeavesInterruptsOn() {
        raiseAndRun(1);
        assertEquals((int) HANDLER + 0x100 + 2, rig.reg(Reg.EIP));
        assertEquals(0x200, rig.get32(Rig.DATA + LguestData.IRQ_ENABLED));
    }

    @Test
    void withInterruptsDisabledItWaitsAndSaysSo() {
        rig.put32(Rig.DATA + LguestData.IRQ_ENABLED, 0);
        raiseAndRun(0);
        assertTrue(rig.cpu().irqPending(0));
        assertEquals(0x200, rig.get32(Rig.DATA + LguestData.IRQ_PENDING));
        assertEquals(EIP0 + 2, rig.reg(Reg.EIP));
        // Enabled again: delivered on the next entry.
        rig.put32(Rig.DATA + LguestData.IRQ_ENABLED, 0x200);
        rig.backend.then(Rig.hcall(Lhcall.NOTIFY, 3));
        assertEquals(3, rig.read().word());
        assertFalse(rig.cpu().irqPending(0));
        assertEquals((int) HANDLER + 2, rig.reg(Reg.EIP));
    }

    @Test
    void aBlockedInterruptStaysPendingQuietly() {
        rig.put32(Rig.DATA + LguestData.BLOCKED_INTERRUPTS, 1);
        raiseAndRun(0);
        assertTrue(rig.cpu().irqPending(0));
        assertEquals(0, rig.get32(Rig.DATA + LguestData.IRQ_PENDING));
        assertEquals(EIP0 + 2, rig.reg(Reg.EIP));
    }

    @Test
    void theFirstUnblockedInterruptGoesFirst() {
        rig.put32(Rig.DATA + LguestData.BLOCKED_INTERRUPTS, 1);
        assertEquals(0, rig.write(Lhreq.IRQ, 0));
        raiseAndRun(1);
        assertEquals((int) HANDLER + 0x100 + 2, rig.reg(Reg.EIP));
        assertTrue(rig.cpu().irqPending(0));
    }

    @Test
    void irqPendingStaysSetWhileAnotherWaits() {
        assertEquals(0, rig.write(Lhreq.IRQ, 1));
        rig.put32(Rig.DATA + LguestData.IRQ_PENDING, 0x200);
        raiseAndRun(0);
        assertEquals((int) HANDLER + 2, rig.reg(Reg.EIP), "irq 0 first");
        assertEquals(0x200, rig.get32(Rig.DATA + LguestData.IRQ_PENDING), "irq 1 still waits");
    }

    /** Puts the guest at {@code eip} with ESP at {@code esp}, by a NOTIFY that ends there. */
    private void placeGuest(int eip, long esp) {
        rig.backend.then(Rig.doing(s -> {
            s.regs().set(Reg.ESP, (int) esp);
            s.regs().set(Reg.EIP, eip - 2);
        }), Rig.hcall(Lhcall.NOTIFY, 6));
        assertEquals(6, rig.read().word());
        assertEquals(eip, rig.reg(Reg.EIP));
    }

    @Test
    void anInterruptAtTheNoirqIretIsDeliveredOnTheIretsFrame() {
        int iret = 0x2400;
        rig.guest().noirqIret = iret;
        // The iret's frame: EIP, CS, then EFLAGS with TF, NT, SF, ZF, CF and IF clear.
        long frame = STACK - 12;
        rig.put32(frame, 0x5678);
        rig.put32(frame + 4, 0x61);
        rig.put32(frame + 8, 0x41C3);
        placeGuest(iret, frame);
        assertEquals(0, rig.write(Lhreq.IRQ, 0));
        int[] seen = new int[3];
        rig.backend.then(s -> {
            seen[0] = s.regs().get(Reg.EIP);
            seen[1] = s.regs().get(Reg.ESP);
            seen[2] = s.regs().get(Reg.EFLAGS);
            return org.lguest.api.cpu.VcpuExit.kicked(0);
        }, Rig.hcall(Lhcall.NOTIFY, 2));
        assertEquals(2, rig.read().word());
        assertEquals((int) HANDLER, seen[0]);
        assertEquals((int) frame, seen[1], "no new frame: the iret's is reused");
        // The iret's EFLAGS, less TF and NT (a trap clears them); IF stays, as a ring-1 iret cannot change it.
        assertEquals(0x2C3, seen[2]);
        assertEquals(0x5678, rig.get32(frame), "the frame is untouched");
        assertEquals(0x61, rig.get32(frame + 4));
        assertEquals(0x41C3, rig.get32(frame + 8));
        assertEquals(0, rig.get32(Rig.DATA + LguestData.IRQ_ENABLED), "an interrupt gate disables interrupts");
        assertFalse(rig.cpu().irqPending(0));
    }

    @Test
    void anInterruptNextToTheNoirqIretGetsAFrameOfItsOwn() {
        rig.guest().noirqIret = 0x2400;
        placeGuest(0x2402, STACK);
        raiseAndRun(1);
        assertEquals((int) HANDLER + 0x100 + 2, rig.reg(Reg.EIP));
        assertEquals(0x2402, rig.get32(STACK - 12), "a frame pushed as usual");
    }

    @Test
    void anUnmappedIretFrameKills() {
        rig.guest().noirqIret = 0x2400;
        placeGuest(0x2400, STACK - 12);
        rig.paging.last().translate = v -> v == STACK - 4 ? -1 : v;
        assertEquals(0, rig.write(Lhreq.IRQ, 0));
        rig.backend.then(Rig.doing(s -> { }));
        assertEquals(-Errno.ENOENT, rig.read().n());
        assertEquals("Bad address " + Fmt.hex(STACK - 4), rig.read().string());
    }

    @Test
    void anyNonZeroIrqEnabledTakesInterruptsButOnlyIfMakesTheFramesIf() {
        // The guest's iret path stores a whole EFLAGS image: 0x46 means enabled, yet without IF.
        rig.put32(Rig.DATA + LguestData.IRQ_ENABLED, 0x46);
        raiseAndRun(1);
        assertEquals((int) HANDLER + 0x100 + 2, rig.reg(Reg.EIP), "delivered");
        assertEquals(0, rig.get32(STACK - 4) & 0x200, "the frame's EFLAGS without IF");
    }

    @Test
    void withoutAHandlerItStaysPending() {
        raiseAndRun(7);
        assertTrue(rig.cpu().irqPending(7));
        assertEquals((int) Rig.NOW.getEpochSecond(), rig.get32(Rig.DATA + LguestData.TIME));
    }

    @Test
    void anInterruptWakesAHaltedGuestWithInterruptsBackOn() throws Exception {
        rig.put32(Rig.DATA + LguestData.IRQ_ENABLED, 0);
        rig.backend.then(Rig.hcall(Lhcall.HALT), Rig.hcall(Lhcall.NOTIFY, 4));
        var launcher = java.util.concurrent.Executors.newSingleThreadExecutor();
        try {
            // The read must come from the owner: the test thread. Halt in it, wake from elsewhere.
            var irq = java.util.concurrent.CompletableFuture.runAsync(() -> {
                try {
                    rig.awaitHalted();
                } catch (InterruptedException e) {
                    throw new IllegalStateException(e);
                }
                rig.write(Lhreq.IRQ, 0);
            }, launcher);
            int runsBefore = rig.backend.last().runs;
            assertEquals(4, rig.read().word());
            irq.get();
            assertEquals(runsBefore + 2, rig.backend.last().runs, "no run while halted");
            assertFalse(rig.cpu().halted);
            assertEquals((int) HANDLER + 2, rig.reg(Reg.EIP));
        } finally {
            launcher.shutdownNow();
        }
    }

    @Test
    void fromUserModeTheFrameGoesOnTheKernelStack() {
        rig.backend.then(Rig.hcall(Lhcall.SET_STACK, 0x69, 0xA000, 1),
            Rig.doing(s -> {
                s.regs().set(Reg.SS, 0x7B);
                s.regs().set(Reg.ESP, 0x5555);
                s.regs().set(Reg.CS, 0x73);
                s.regs().set(Reg.EIP, 0x8048000);
            }), Rig.doing(s -> { }));
        rig.backend.then(s -> {
            s.regs().set(Reg.EAX, Lhcall.NOTIFY);
            s.regs().set(Reg.EBX, 9);
            return org.lguest.api.cpu.VcpuExit.trap(Lhcall.TRAP_ENTRY, 0, 0, 0);
        });
        assertEquals(9, rig.read().word());
        assertEquals(0x8048000, rig.reg(Reg.EIP));
        assertEquals(0, rig.write(Lhreq.IRQ, 1));
        rig.backend.then(Rig.hcall(Lhcall.NOTIFY, 2));
        assertEquals(2, rig.read().word());
        assertEquals(0x7B, rig.get32(0xA000 - 4), "old ss");
        assertEquals(0x5555, rig.get32(0xA000 - 8), "old esp");
        assertEquals(0x73, rig.get32(0xA000 - 16), "old cs");
        assertEquals(0x8048000, rig.get32(0xA000 - 20), "old eip");
        assertEquals(0x202 | Abi.X86_EFLAGS_TF | Abi.X86_EFLAGS_NT, rig.get32(0xA000 - 12), "old eflags");
        assertEquals(0x69, rig.reg(Reg.SS));
        assertEquals(0xA000 - 20, rig.reg(Reg.ESP));
        assertEquals(0x61, rig.reg(Reg.CS));
    }

    @Test
    void anUnmappedStackKills() {
        rig.paging.last().translate = v -> v == STACK ? -1 : v;
        assertEquals(0, rig.write(Lhreq.IRQ, 0));
        rig.backend.then(Rig.doing(s -> { }));
        assertEquals(-Errno.ENOENT, rig.read().n());
        assertEquals("Bad address 0x9000", rig.read().string());
    }

    @Test
    void aStackOutsideGuestMemoryKills() {
        rig.paging.last().translate = v -> v == STACK ? Rig.PAGES * 4096L + 8 : v;
        assertEquals(0, rig.write(Lhreq.IRQ, 0));
        rig.backend.then(Rig.doing(s -> { }));
        assertEquals(-Errno.ENOENT, rig.read().n());
        assertEquals("bad write address " + Fmt.hex(Rig.PAGES * 4096L + 4) + " len 4", rig.read().string());
    }

    @Test
    void nothingIsDeliveredBeforeLguestInit() {
        Rig fresh = new Rig();
        try {
            assertEquals(24, fresh.init());
            assertEquals(0, fresh.write(Lhreq.IRQ, 0));
            assertEquals(fresh.host.interrupts.interruptPending(fresh.cpu()), org.lguest.api.abi.Lguest.LGUEST_IRQS);
        } finally {
            fresh.close();
        }
    }
}
