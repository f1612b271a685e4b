package org.lguest.api.cpu;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.BitSet;

/**
 * Host-owned pages of one guest, mapped by the backend at
 * {@link GuestMachine#HOST_AREA_BASE}: shadow page tables and the switcher
 * come from here. Pages are handed out zeroed and named by their emulated
 * physical address. Thread-safe; {@link #close} frees the native memory.
 * <p>
 * The area is an {@link AnonymousMemory} mapping: the host backs a page
 * only once it is handed out, so a guest that uses a few pages of its
 * 4 MiB area costs a few pages (1.3; before, the whole area was zeroed and
 * resident from the start).
 */
public final class HostArea implements AutoCloseable {
    private static final int PAGE = 4096;

    private final Arena arena = Arena.ofShared();
    private final MemorySegment memory;
    private final BitSet used;
    private final int pages;

    public HostArea(int pages) {
        if (pages < 1 || pages > GuestMachine.HOST_AREA_PAGES) {
            throw new IllegalArgumentException("a host area has 1 to " + GuestMachine.HOST_AREA_PAGES + " pages, not " + pages);
        }
        this.pages = pages;
        this.memory = AnonymousMemory.map(arena, (long) pages * PAGE);
        this.used = new BitSet(pages);
    }

    /** All of the area, for the backend to map. */
    public MemorySegment memory() {
        return memory;
    }

    public long base() {
        return GuestMachine.HOST_AREA_BASE;
    }

    /** A zeroed page; its emulated physical address. */
    public synchronized long allocatePage() {
        int page = used.nextClearBit(0);
        if (page >= pages) {
            throw new IllegalStateException("host area exhausted: all " + pages + " pages in use");
        }
        used.set(page);
        page(base() + (long) page * PAGE).fill((byte) 0);
        return base() + (long) page * PAGE;
    }

    public synchronized void freePage(long physical) {
        used.clear(index(physical));
    }

    public synchronized int pagesInUse() {
        return used.cardinality();
    }

    /** The page at an emulated physical address in this area. */
    public MemorySegment page(long physical) {
        return memory.asSlice((long) index(physical) * PAGE, PAGE);
    }

    public boolean contains(long physical) {
        return physical >= base() && physical < base() + (long) pages * PAGE;
    }

    private int index(long physical) {
        if (!contains(physical) || (physical & (PAGE - 1)) != 0) {
            throw new IllegalArgumentException(String.format("%#x is no page of this host area", physical));
        }
        return (int) ((physical - base()) / PAGE);
    }

    @Override
    public void close() {
        arena.close();
    }
}
