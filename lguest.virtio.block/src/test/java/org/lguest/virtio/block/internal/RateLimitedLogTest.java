package org.lguest.virtio.block.internal;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.util.ArrayList;
import java.util.List;

import org.junit.jupiter.api.Test;

class RateLimitedLogTest {
    private long now = 1_000;
    private final List<String> lines = new ArrayList<>();
    private final RateLimitedLog log = new RateLimitedLog(() -> now, 100, lines::add);

    @Test
    void theFirstLineGoesOutAtOnce() {
        log.log(() -> "first");
        assertEquals(List.of("first"), lines);
    }

    @Test
    void linesWithinAnIntervalAreHeldAndCountedInTheNextOneOut() {
        log.log(() -> "a");
        now += 99;
        log.log(() -> "b");
        log.log(() -> "c");
        assertEquals(List.of("a"), lines, "held back within the interval");
        now += 1;
        log.log(() -> "d");
        assertEquals(List.of("a", "d (2 more like it not logged)"), lines);
        now += 100;
        log.log(() -> "e");
        assertEquals("e", lines.get(2), "nothing held since the last line");
    }

    @Test
    void aHeldLineIsNeverBuilt() {
        log.log(() -> "a");
        log.log(() -> {
            throw new AssertionError("built although held back");
        });
        assertEquals(1, lines.size());
    }
}
