package org.lguest.device.internal;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.lguest.api.abi.Errno;
import org.lguest.api.abi.Lguest;
import org.lguest.api.abi.Lhcall;
import org.lguest.api.abi.Lhreq;
import org.lguest.api.cpu.Reg;

/** LHREQ_IRQ: user_send_irq() and set_interrupt(). */
@Timeout(10)
class IrqTest {
    private final Rig rig = new Rig();

    @AfterEach
    void close() {
        rig.close();
    }

    @Test
    void aMissingIrqIsEfault() {
        assertEquals(24, rig.init());
        assertEquals(-Errno.EFAULT, rig.write(Lhreq.IRQ));
        assertEquals(-Errno.EFAULT, rig.file.write(rig.words(Lhreq.IRQ, 5).asSlice(0, 15), 0));
    }

    @ParameterizedTest
    @ValueSource(longs = {Lguest.LGUEST_IRQS, Lguest.LGUEST_IRQS + 1, 64, 224, 256, -1, Long.MIN_VALUE, 1L << 32})
    void anIrqAtOrPastLguestIrqsIsEinval(long irq) {
        assertEquals(24, rig.init());
        assertEquals(-Errno.EINVAL, rig.write(Lhreq.IRQ, irq));
        for (int i = 0; i < Lguest.LGUEST_IRQS; i++) {
            assertFalse(rig.cpu().irqPending(i));
        }
    }

    @ParameterizedTest
    @ValueSource(ints = {0, 1, 5, 16, Lguest.LGUEST_IRQS - 1})
    void anIrqIsPendingForTheNextRunAndAnswersZero(int irq) {
        assertEquals(24, rig.init());
        assertEquals(0, rig.write(Lhreq.IRQ, irq));
        for (int i = 0; i < Lguest.LGUEST_IRQS; i++) {
            assertEquals(i == irq, rig.cpu().irqPending(i), "irq " + i);
        }
    }

    @Test
    void anIrqFromAnotherThreadKicksTheRunningCpuAndIsDelivered() throws Exception {
        ExecutorService launcher = Executors.newSingleThreadExecutor();
        try {
            launcher.submit(rig::boot).get();
            // The guest gets a handler for vector 32+5, then spins (no more script: the fake waits for a kick).
            rig.backend.then(Rig.idt(Lguest.FIRST_EXTERNAL_VECTOR + 5, 0x3000, 0xE),
                Rig.doing(s -> s.regs().set(Reg.ESP, 0x9000)));
            Future<Rig.Read> read = launcher.submit(() -> rig.read());
            Await.until(() -> rig.backend.stepsLeft() == 0 && rig.backend.last().inRun, "the guest to spin");
            assertEquals(0L, (long) CompletableFuture.supplyAsync(() -> rig.write(Lhreq.IRQ, 5)).get());
            Await.until(() -> rig.reg(Reg.EIP) == 0x3000, "the interrupt's handler");
            assertTrue(rig.backend.last().kicksWhileRunning >= 1, "the running CPU was kicked");
            assertFalse(rig.cpu().irqPending(5), "delivered");
            rig.backend.then(Rig.hcall(Lhcall.NOTIFY, 0x77));
            assertEquals(0x77, read.get().word());
        } finally {
            launcher.shutdownNow();
        }
    }
}
