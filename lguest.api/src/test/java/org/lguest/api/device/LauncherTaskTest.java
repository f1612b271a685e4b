package org.lguest.api.device;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import org.junit.jupiter.api.Test;

/** Guest memory the task owns: zeroed, found by address, and kept mapped while held. */
class LauncherTaskTest {

    private static final long PAGE = 4096;

    @Test
    void allocatedMemoryIsZeroedPageAlignedAndResolvable() {
        try (LauncherTask task = new LauncherTask()) {
            MemorySegment ram = task.allocate(4 * PAGE);
            assertEquals(0, ram.address() % PAGE);
            assertEquals(4 * PAGE, ram.byteSize());
            assertEquals(0, ram.get(ValueLayout.JAVA_LONG, 3 * PAGE));
            ram.set(ValueLayout.JAVA_INT, PAGE, 0x1234);
            MemorySegment view = task.resolve(ram.address() + PAGE, 8).orElseThrow();
            assertEquals(0x1234, view.get(ValueLayout.JAVA_INT, 0));
        }
    }

    @Test
    void rangesNotWhollyInsideOneAllocationDoNotResolve() {
        try (LauncherTask task = new LauncherTask()) {
            MemorySegment ram = task.allocate(2 * PAGE);
            long base = ram.address();
            assertTrue(task.resolve(base, 2 * PAGE).isPresent());
            assertTrue(task.resolve(base + 2 * PAGE, 0).isPresent(), "an empty range at the end is inside");
            assertFalse(task.resolve(base + PAGE, PAGE + 1).isPresent());
            assertFalse(task.resolve(base - 1, 2).isPresent());
            assertFalse(task.resolve(base, -1).isPresent());
            assertFalse(task.hold(base + PAGE, 2 * PAGE).isPresent());
        }
    }

    @Test
    void aHoldKeepsMemoryMappedAfterTheTaskCloses() {
        LauncherTask task = new LauncherTask();
        MemorySegment ram = task.allocate(PAGE);
        LauncherTask.Hold hold = task.hold(ram.address(), PAGE).orElseThrow();
        task.close();
        assertTrue(ram.scope().isAlive(), "held memory stays mapped");
        hold.segment().set(ValueLayout.JAVA_BYTE, 0, (byte) 1);
        assertFalse(task.hold(ram.address(), PAGE).isPresent(), "a closed task gives no new holds");
        hold.close();
        assertFalse(ram.scope().isAlive(), "the last hold unmaps it");
        hold.close(); // a second close is harmless
    }

    @Test
    void withoutHoldsClosingTheTaskUnmapsAndRefusesMore() {
        LauncherTask task = new LauncherTask();
        MemorySegment ram = task.allocate(PAGE);
        task.close();
        assertFalse(ram.scope().isAlive());
        assertFalse(task.resolve(ram.address(), 1).isPresent());
        assertThrows(IllegalStateException.class, () -> task.allocate(PAGE));
        task.close(); // idempotent
    }

    @Test
    void nonPositiveSizesAreRefused() {
        try (LauncherTask task = new LauncherTask()) {
            assertThrows(IllegalArgumentException.class, () -> task.allocate(0));
        }
    }
}
