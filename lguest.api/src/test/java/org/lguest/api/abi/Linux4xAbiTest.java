package org.lguest.api.abi;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;

import org.junit.jupiter.api.Test;

/**
 * The numbers of Linux 4.x's guest ABI as a built 4.9 i386 kernel has them
 * (struct lguest_data is 0x56C bytes there), written out rather than derived,
 * so a change to the constants has to change this too.
 */
class Linux4xAbiTest {
    @Test
    void lguestDataHasThe4xLayout() {
        assertEquals(0, LguestData.IRQ_ENABLED);
        assertEquals(4, LguestData.BLOCKED_INTERRUPTS);
        assertEquals(8, LguestData.CR2, "a one-word blocked_interrupts");
        assertEquals(12, LguestData.TIME);
        assertEquals(20, LguestData.IRQ_PENDING, "an i386 timespec: two 4-byte words");
        assertEquals(24, LguestData.HCALL_STATUS);
        assertEquals(88, LguestData.HCALLS);
        assertEquals(20, LguestData.HCALL_ARGS_SIZE);
        assertEquals(1368, LguestData.RESERVE_MEM);
        assertEquals(1372, LguestData.TSC_KHZ);
        assertEquals(1376, LguestData.NOIRQ_IRET);
        assertEquals(1380, LguestData.KERNEL_ADDRESS);
        assertEquals(1384, LguestData.SYSCALL_VEC);
        assertEquals(0x56C, LguestData.SIZE);
    }

    @Test
    void thirtyTwoInterruptsFitTheBitmapWord() {
        assertEquals(32, Lguest.LGUEST_IRQS);
        assertEquals(32, Lguest.FIRST_EXTERNAL_VECTOR);
    }

    @Test
    void theHypercallNumbersAre49sPlusNotify() {
        int[] numbers = {Lhcall.FLUSH_ASYNC, Lhcall.LGUEST_INIT, Lhcall.SHUTDOWN, Lhcall.NEW_PGTABLE, Lhcall.FLUSH_TLB,
            Lhcall.LOAD_IDT_ENTRY, Lhcall.SET_STACK, Lhcall.TS, Lhcall.SET_CLOCKEVENT, Lhcall.HALT, Lhcall.SET_PMD,
            Lhcall.SET_PTE, Lhcall.SET_PGD, Lhcall.LOAD_TLS, Lhcall.NOTIFY, Lhcall.LOAD_GDT_ENTRY, Lhcall.SEND_INTERRUPTS};
        int[] expected = {0, 1, 2, 4, 5, 6, 7, 8, 9, 10, 13, 14, 15, 16, 17, 18, 19};
        for (int i = 0; i < numbers.length; i++) {
            assertEquals(expected[i], numbers[i]);
        }
        for (int unused : new int[] {3, 11, 12, 20}) {
            assertNull(Lhcall.name(unused), "call " + unused);
        }
        assertEquals(0x1F, Lhcall.TRAP_ENTRY);
        assertEquals(64, Lhcall.RING_SIZE);
    }
}
