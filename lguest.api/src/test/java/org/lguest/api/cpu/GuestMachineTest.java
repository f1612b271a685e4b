package org.lguest.api.cpu;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import org.junit.jupiter.api.Test;

/** A machine's page-frame limit must fit its RAM; the switcher sits where lguest put it. */
class GuestMachineTest {

    @Test
    void theLimitMustBePositiveAndFitTheRam() {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment ram = arena.allocate(4 * 4096);
            assertEquals(3 * 4096, new GuestMachine(ram, 3, null).ramBytes());
            assertEquals(4 * 4096, new GuestMachine(ram, 4, null).ramBytes());
            assertThrows(IllegalArgumentException.class, () -> new GuestMachine(ram, 5, null));
            assertThrows(IllegalArgumentException.class, () -> new GuestMachine(ram, 0, null));
            assertThrows(IllegalArgumentException.class, () -> new GuestMachine(ram, -1, null));
        }
    }

    @Test
    void theSwitcherHasTheTopFourMegabytes() {
        assertEquals(0xFFC0_0000L, GuestMachine.SWITCHER_ADDRESS);
        assertEquals(1023, GuestMachine.SWITCHER_PGD_INDEX, "the last page-directory slot");
        assertEquals(4L << 20, GuestMachine.HOST_AREA_PAGES * 4096L, "the host area fills the switcher's 4 MiB");
    }
}
