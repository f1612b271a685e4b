package org.lguest.api.cpu;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

import org.junit.jupiter.api.Test;

/** Memory the host backs only where it is touched: guest RAM and the host area. */
class AnonymousMemoryTest {
    private static final long MIB = 1 << 20;
    private static final int PAGE = 4096;

    @Test
    void onlyTouchedPagesAreResidentAndFreshPagesReadAsZero() {
        try (Arena arena = Arena.ofShared()) {
            MemorySegment ram = AnonymousMemory.map(arena, 1024 * MIB);
            assertEquals(0, ram.address() % PAGE, "page-aligned");
            assertEquals(0, AnonymousMemory.resident(ram));
            for (long at = 0; at < ram.byteSize(); at += 64 * MIB) {
                ram.set(ValueLayout.JAVA_LONG, at, at);
            }
            assertEquals(16 * PAGE, AnonymousMemory.resident(ram), "16 pages touched in 1 GiB");
            assertEquals(0, ram.get(ValueLayout.JAVA_LONG, 8), "fresh pages are zero");
            assertEquals(64 * MIB, ram.get(ValueLayout.JAVA_LONG, 64 * MIB));
        }
    }

    @Test
    void countingDoesNotEnterTheOwnersArena() throws Exception {
        // A confined arena refuses every other thread: a count that held the arena open could not run there.
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment ram = AnonymousMemory.map(arena, 16 * PAGE);
            ram.set(ValueLayout.JAVA_BYTE, 0, (byte) 1);
            ram.set(ValueLayout.JAVA_BYTE, 5 * PAGE, (byte) 1);
            var counted = java.util.concurrent.CompletableFuture.supplyAsync(() -> AnonymousMemory.resident(ram));
            assertEquals(2 * PAGE, counted.get());
        }
    }

    @Test
    void closingTheArenaUnmaps() {
        MemorySegment ram;
        try (Arena arena = Arena.ofShared()) {
            ram = AnonymousMemory.map(arena, MIB);
            ram.set(ValueLayout.JAVA_BYTE, 0, (byte) 1);
        }
        assertFalse(ram.scope().isAlive());
        assertThrows(IllegalStateException.class, () -> ram.get(ValueLayout.JAVA_BYTE, 0));
    }

    @Test
    void emptyMappingsAreRefused() {
        try (Arena arena = Arena.ofConfined()) {
            assertThrows(IllegalArgumentException.class, () -> AnonymousMemory.map(arena, 0));
        }
    }

    @Test
    void aHostAreaIsBackedOnlyWherePagesWereHandedOut() {
        try (HostArea area = new HostArea(GuestMachine.HOST_AREA_PAGES)) {
            assertEquals(0, AnonymousMemory.resident(area.memory()), "a fresh 4 MiB area costs nothing");
            long first = area.allocatePage();
            area.allocatePage();
            assertEquals(2 * PAGE, AnonymousMemory.resident(area.memory()));
            area.page(first).fill((byte) 7);
            area.freePage(first);
            long again = area.allocatePage();
            assertEquals(first, again);
            assertEquals(0, area.page(again).get(ValueLayout.JAVA_LONG, 0), "a reused page is handed out zeroed");
        }
    }
}
