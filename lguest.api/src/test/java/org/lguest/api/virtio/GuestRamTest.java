package org.lguest.api.virtio;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/** Devices reach guest RAM only through this view: nothing past its size, whatever the numbers. */
class GuestRamTest {

    private final Arena arena = Arena.ofConfined();
    private final MemorySegment segment = arena.allocate(8192);

    @AfterEach
    void close() {
        arena.close();
    }

    @Test
    void theViewIsExactlyTheGuestsSize() {
        GuestRam ram = new GuestRam(segment, 4096);
        assertEquals(4096, ram.size());
        assertEquals(4096, ram.memory().byteSize());
        assertEquals(segment.address(), ram.memory().address());
    }

    @Test
    void rangesInsideAreSlicedAndOthersRefused() {
        GuestRam ram = new GuestRam(segment, 4096);
        assertEquals(16, ram.slice(4080, 16).orElseThrow().byteSize());
        assertTrue(ram.contains(4096, 0), "an empty range at the end");
        assertFalse(ram.contains(4081, 16), "one byte past the end");
        assertFalse(ram.contains(-1, 1));
        assertFalse(ram.contains(0, -1));
        assertFalse(ram.contains(1, Long.MAX_VALUE), "no overflow");
        assertFalse(ram.contains(Long.MAX_VALUE, 1));
        assertTrue(ram.slice(4096, 1).isEmpty(), "the segment's spare bytes past the size stay out of reach");
    }

    @Test
    void aSizeThatDoesNotFitTheSegmentIsRefused() {
        assertThrows(IllegalArgumentException.class, () -> new GuestRam(segment, 8193));
        assertThrows(IllegalArgumentException.class, () -> new GuestRam(segment, 0));
        assertThrows(NullPointerException.class, () -> new GuestRam(null, 1));
    }
}
