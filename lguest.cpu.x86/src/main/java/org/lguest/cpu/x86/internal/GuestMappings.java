package org.lguest.cpu.x86.internal;

import static java.lang.foreign.ValueLayout.JAVA_INT;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.Arrays;
import java.util.BitSet;
import java.util.TreeSet;

import org.lguest.api.cpu.GuestMachine;
import org.lguest.api.cpu.HostArea;
import org.lguest.api.cpu.VcpuException;
import org.lguest.cpu.x86.internal.unicorn.Engine;

/**
 * Keeps one engine's memory map equal to the translation its current shadow
 * page tables define.
 * <p>
 * Unicorn 2.0.1 walks the page tables for permissions but then uses the
 * virtual address as the physical one (unicorn issue #1953), so the memory
 * Unicorn has <em>at a virtual address</em> is what the guest reaches there.
 * Guest RAM is mapped at 0, which makes identity mappings right for free.
 * Every present shadow entry whose frame is not its own page number is an
 * <em>alias</em>: guest RAM's page of that frame, mapped again at the
 * virtual page ({@code uc_mem_map_ptr}, no copy). Inside {@code [0, ramBytes)}
 * the identity page is unmapped first (a hole; Unicorn splits the region) and
 * mapped back, alone, when the alias goes.
 * <p>
 * The shadow tables live in the host area and are read here, in Java, and
 * never trusted: a directory or table outside the host area, or a frame at
 * or above the page-frame limit, is a backend error and maps nothing.
 * <p>
 * Translated code: Unicorn keys it by the RAM block that holds the host
 * memory it came from, the first (largest, oldest) block containing it. Every
 * mapping change here can change that block for the frames involved (a
 * split even gives all of a region's frames new blocks, whose numbers Unicorn
 * may reuse from freed ones), so the code of every frame whose mappings
 * changed is dropped ({@link Engine#invalidateCode}). What this cannot fix:
 * Unicorn sees the guest's writes to translated code only through the
 * frame's keying block, normally its identity mapping; a guest writing code
 * through an alias keeps running the old translation (see FINDINGS.md).
 * <p>
 * Unicorn also looks for its memory <em>before</em> it walks the page tables:
 * touching a virtual page with no engine memory is UC_ERR_*_UNMAPPED, never
 * a page fault. So when the guest touches such a page (above RAM: aliases
 * not yet filled, the device region), the engine's unmapped-memory hook
 * reads the entry: not present, it maps a zeroed placeholder page there
 * (never reachable: the entry is not present) and the retried access raises
 * the precise #PF; present with a frame of guest RAM (filled by another CPU
 * of the guest, say), it maps the alias. At most {@link #MAX_PLACEHOLDERS}
 * placeholders stay; past that they all go at the next reconcile.
 * <p>
 * Used on the CPU's owner thread only (the hook runs there too, inside a run).
 */
final class GuestMappings {
    private static final int PAGE = 4096, PAGE_SHIFT = 12, ENTRIES = 1024, PRESENT = 1;
    private static final int SWITCHER_SLOT = GuestMachine.SWITCHER_PGD_INDEX;
    /** "No alias": the entry is not present, or maps the page's own frame. */
    private static final int IDENTITY = IntIntMap.ABSENT;
    /** Value in {@link #realized}: a hole in guest RAM with nothing mapped (only after a failed call). */
    private static final int HOLE = -1;
    /** {@link #peek} could not read the entry safely: leave it to the next reconcile, which says why. */
    private static final int UNREADABLE = -2;
    /** Value in {@link #realized}: above RAM, the placeholder page that lets a not-present entry fault. */
    private static final int PLACEHOLDER = -3;
    static final int MAX_PLACEHOLDERS = 64;

    private final Engine engine;
    private final MemorySegment ram;
    private final HostArea hostArea;
    private final MemorySegment hostMemory;
    private final long hostBase;
    private final int ramPages;

    /** Virtual page -> frame (or {@link #HOLE}) of what the engine has mapped there instead of identity. */
    private final IntIntMap realized = new IntIntMap();
    /**
     * Pages of guest RAM that are no longer part of one of the pieces of the
     * original RAM region: holes and the single identity pages mapped back
     * into them. The rest of RAM lies in pieces bounded by these.
     */
    private final TreeSet<Integer> cuts = new TreeSet<>();
    private final IntIntMap desired = new IntIntMap();
    /** Frames whose translated code must go after this reconcile. */
    private final BitSet touched = new BitSet();

    private boolean fullPending = true;
    private long reconciledRoot;
    private int[] pending = new int[16];
    private int pendingCount;
    private long unicornCalls;
    private int placeholders;
    private final Arena arena = Arena.ofShared();
    private final MemorySegment placeholderPage = arena.allocate(PAGE, PAGE);

    GuestMappings(Engine engine, MemorySegment ram, HostArea hostArea) {
        this.engine = engine;
        this.ram = ram;
        this.hostArea = hostArea;
        this.hostMemory = hostArea.memory();
        this.hostBase = hostArea.base();
        this.ramPages = Math.toIntExact(ram.byteSize() / PAGE);
        engine.onUnmapped(this::onUnmapped);
    }

    /** Frees the placeholder page; the engine must be closed first. */
    void close() {
        arena.close();
    }

    /** Everything may have changed: walk the whole directory before the next run. */
    void flushAll() {
        fullPending = true;
        pendingCount = 0;
    }

    /**
     * The shadow entry for {@code vaddr} in {@code root} was filled. The
     * common case, an identity entry where nothing is aliased, costs two
     * reads and a lookup; anything else is noted for {@link #reconcile}.
     */
    void pageFilled(long root, long vaddr) {
        if (fullPending || root != reconciledRoot) {
            return; // the next run walks everything anyway
        }
        int vpage = (int) ((vaddr & 0xFFFF_FFFFL) >>> PAGE_SHIFT);
        if (vpage >>> 10 == SWITCHER_SLOT) {
            return;
        }
        int want = peek(root, vpage);
        int have = realized.get(vpage);
        if (want != UNREADABLE && (want == have || want == IDENTITY && have == PLACEHOLDER)) {
            return;
        }
        if (pendingCount == pending.length) {
            if (pendingCount >= ENTRIES * 4) {
                flushAll(); // a long list costs more than a walk
                return;
            }
            pending = Arrays.copyOf(pending, pendingCount * 2);
        }
        pending[pendingCount++] = vpage;
    }

    /**
     * Brings the engine's memory map in line with the shadow directory at
     * {@code root}, as far as flushes and fills were reported.
     *
     * @return whether the engine's memory map changed
     * @throws VcpuException when the tables are corrupt (then nothing was changed)
     */
    boolean reconcile(long root) throws VcpuException {
        if (!fullPending && root == reconciledRoot && pendingCount == 0 && placeholders <= MAX_PLACEHOLDERS && touched.isEmpty()) {
            return false;
        }
        long callsBefore = unicornCalls;
        try {
            if (placeholders > MAX_PLACEHOLDERS) {
                dropPlaceholders();
            }
            checkTable(root, "the shadow page directory");
            if (fullPending || root != reconciledRoot) {
                walk(root);
                applyAll();
            } else {
                applyPending(root);
            }
            fullPending = false;
            reconciledRoot = root;
            pendingCount = 0;
        } catch (RuntimeException | VcpuException e) {
            fullPending = true; // redo it all next time, from what the engine really has
            throw e;
        } finally {
            invalidateTouched();
        }
        return unicornCalls != callsBefore;
    }

    /**
     * The host wrote guest RAM at {@code [guestPhysical, +length)}: drop code
     * translated from it, wherever it is mapped now. Frames mapped nowhere
     * need nothing: mapping them drops their code then.
     */
    void invalidateCode(long guestPhysical, long length) {
        if (length <= 0 || guestPhysical < 0 || guestPhysical >= (long) ramPages * PAGE) {
            return;
        }
        long end = Math.min((long) ramPages * PAGE, guestPhysical + length);
        touched.set((int) (guestPhysical >>> PAGE_SHIFT), (int) ((end + PAGE - 1) >>> PAGE_SHIFT));
        invalidateTouched();
    }

    /**
     * The unmapped-memory hook, inside a run: maps a placeholder (entry not
     * present) or the alias (entry present, filled behind this CPU's back) at
     * a page above RAM, and has Unicorn retry. Anything else stays an error.
     */
    private boolean onUnmapped(long address) {
        int vpage = (int) ((address & 0xFFFF_FFFFL) >>> PAGE_SHIFT);
        long page = (long) vpage << PAGE_SHIFT;
        if (vpage < ramPages || realized.containsKey(vpage) || fullPending || reconciledRoot == 0
                || page >= hostBase && page < hostBase + hostMemory.byteSize()) {
            return false;
        }
        long pte = presentEntry(reconciledRoot, vpage);
        if (pte == 0) {
            engine.mapPointer(page, placeholderPage);
            unicornCalls++;
            placeholders++;
            realized.put(vpage, PLACEHOLDER);
            return true;
        }
        if (pte < 0 || pte >>> PAGE_SHIFT >= ramPages || vpage >>> 10 == SWITCHER_SLOT) {
            return false; // corrupt: the run fails naming the address
        }
        int frame = (int) (pte >>> PAGE_SHIFT);
        engine.mapPointer(page, ram.asSlice((long) frame << PAGE_SHIFT, PAGE));
        unicornCalls++;
        realized.put(vpage, frame);
        touched.set(frame); // its old code goes at the next reconcile: no code cache calls inside a run
        return true;
    }

    /** The present page-table entry for a page (unsigned), 0 when the page is not present, -1 when the tables cannot be read. */
    private long presentEntry(long root, int vpage) {
        if (!isTable(root)) {
            return -1;
        }
        int pde = hostInt(root + 4L * (vpage >>> 10));
        if ((pde & PRESENT) == 0) {
            return 0;
        }
        long table = pde & 0xFFFF_F000L;
        if (!isTable(table)) {
            return -1;
        }
        int pte = hostInt(table + 4L * (vpage & (ENTRIES - 1)));
        return (pte & PRESENT) == 0 ? 0 : pte & 0xFFFF_FFFFL;
    }

    private void dropPlaceholders() {
        for (int vpage : realized.keys()) {
            if (realized.get(vpage) == PLACEHOLDER) {
                unmap((long) vpage << PAGE_SHIFT);
                realized.remove(vpage);
                placeholders--;
            }
        }
    }

    /** Placeholder pages the engine has now. */
    int placeholderCount() {
        return placeholders;
    }

    /** Aliases the engine has now (not counting holes). */
    int aliasCount() {
        int n = 0;
        for (int vpage : realized.keys()) {
            n += realized.get(vpage) >= 0 ? 1 : 0;
        }
        return n;
    }

    /** The frame the engine has mapped at a virtual page: identity unless aliased; -1 for a hole, a placeholder or nothing. */
    long frameAt(long vaddr) {
        int vpage = (int) (vaddr >>> PAGE_SHIFT);
        int frame = realized.get(vpage);
        if (frame == IntIntMap.ABSENT) {
            return vpage < ramPages ? vpage : -1;
        }
        return Math.max(frame, -1);
    }

    /** Unicorn map and unmap calls made so far (for measurements). */
    long unicornCalls() {
        return unicornCalls;
    }

    // --- the walk -----------------------------------------------------------

    /** Every present entry of the directory into {@link #desired}; throws before anything changes. */
    private void walk(long root) throws VcpuException {
        desired.clear();
        for (int pdi = 0; pdi < ENTRIES; pdi++) {
            if (pdi == SWITCHER_SLOT) {
                continue;
            }
            int pde = hostInt(root + 4L * pdi);
            if ((pde & PRESENT) == 0) {
                continue;
            }
            long table = pde & 0xFFFF_F000L;
            checkTable(table, "page table " + pdi);
            long offset = table - hostBase;
            int base = pdi << 10;
            for (int pti = 0; pti < ENTRIES; pti++) {
                int pte = hostMemory.get(JAVA_INT, offset + 4L * pti);
                if ((pte & PRESENT) != 0) {
                    int frame = pte >>> PAGE_SHIFT;
                    int vpage = base | pti;
                    if (frame >= ramPages) {
                        throw badFrame(root, vpage, pte);
                    }
                    if (frame != vpage) {
                        desired.put(vpage, frame);
                    }
                }
            }
        }
    }

    /** The frame an entry wants aliased, {@link #IDENTITY}; throws for corrupt tables. */
    private int lookUp(long root, int vpage) throws VcpuException {
        int pde = hostInt(root + 4L * (vpage >>> 10));
        if ((pde & PRESENT) == 0) {
            return IDENTITY;
        }
        long table = pde & 0xFFFF_F000L;
        checkTable(table, "page table " + (vpage >>> 10));
        int pte = hostInt(table + 4L * (vpage & (ENTRIES - 1)));
        if ((pte & PRESENT) == 0) {
            return IDENTITY;
        }
        int frame = pte >>> PAGE_SHIFT;
        if (frame >= ramPages) {
            throw badFrame(root, vpage, pte);
        }
        return frame == vpage ? IDENTITY : frame;
    }

    /** As {@link #lookUp}, never throwing: {@link #UNREADABLE} for anything odd. */
    private int peek(long root, int vpage) {
        if (!isTable(root)) {
            return UNREADABLE;
        }
        int pde = hostInt(root + 4L * (vpage >>> 10));
        if ((pde & PRESENT) == 0) {
            return IDENTITY;
        }
        long table = pde & 0xFFFF_F000L;
        if (!isTable(table)) {
            return UNREADABLE;
        }
        int pte = hostInt(table + 4L * (vpage & (ENTRIES - 1)));
        if ((pte & PRESENT) == 0) {
            return IDENTITY;
        }
        int frame = pte >>> PAGE_SHIFT;
        return frame >= ramPages ? UNREADABLE : frame == vpage ? IDENTITY : frame;
    }

    private boolean isTable(long address) {
        return (address & (PAGE - 1)) == 0 && hostArea.contains(address);
    }

    private void checkTable(long address, String what) throws VcpuException {
        if (!isTable(address)) {
            throw new VcpuException(String.format("%s lies at %#x, which is no page of the guest's host area "
                    + "(shadow page tables must be host-area pages): corrupt shadow tables, nothing mapped", what, address));
        }
    }

    private VcpuException badFrame(long root, int vpage, int pte) {
        return new VcpuException(String.format("the shadow entry for %#x in the directory at %#x is %#x: frame %#x is at or above "
                + "the guest's page-frame limit %#x: corrupt shadow tables, nothing mapped", (long) vpage << PAGE_SHIFT, root,
                pte & 0xFFFF_FFFFL, pte >>> PAGE_SHIFT, ramPages));
    }

    private int hostInt(long address) {
        return hostMemory.get(JAVA_INT, address - hostBase);
    }

    // --- applying the differences -------------------------------------------

    private void applyAll() {
        for (int vpage : realized.keys()) {
            int want = desired.get(vpage);
            if (want != realized.get(vpage)) {
                set(vpage, want);
            }
        }
        for (int vpage : desired.keys()) {
            int want = desired.get(vpage);
            if (want != realized.get(vpage)) {
                set(vpage, want);
            }
        }
    }

    private void applyPending(long root) throws VcpuException {
        int[] wants = new int[pendingCount];
        for (int i = 0; i < pendingCount; i++) {
            wants[i] = lookUp(root, pending[i]); // all checked before anything changes
        }
        for (int i = 0; i < pendingCount; i++) {
            set(pending[i], wants[i]);
        }
    }

    /** Makes the engine have frame {@code want} at {@code vpage} ({@link #IDENTITY}: its own frame, or nothing above RAM). */
    private void set(int vpage, int want) {
        int have = realized.get(vpage);
        if (have == want) {
            return;
        }
        long address = (long) vpage << PAGE_SHIFT;
        boolean inRam = vpage < ramPages;
        if (have == PLACEHOLDER) {
            if (want == IDENTITY) {
                return; // still not present: the placeholder keeps it faulting
            }
            unmap(address);
            realized.remove(vpage);
            placeholders--;
        } else if (have >= 0) {
            unmap(address);
            touched.set(have);
            if (inRam) {
                realized.put(vpage, HOLE);
            } else {
                realized.remove(vpage);
            }
        } else if (have == IDENTITY && inRam) {
            punch(vpage);
        }
        if (want != IDENTITY) {
            engine.mapPointer(address, ram.asSlice((long) want << PAGE_SHIFT, PAGE));
            unicornCalls++;
            realized.put(vpage, want);
            touched.set(want);
        } else if (inRam) {
            engine.mapPointer(address, ram.asSlice(address, PAGE));
            unicornCalls++;
            realized.remove(vpage);
            touched.set(vpage);
        }
    }

    /** Unmaps the identity page {@code vpage}; Unicorn splits its region, and every frame of that region gets new keys. */
    private void punch(int vpage) {
        boolean split = !cuts.contains(vpage);
        unmap((long) vpage << PAGE_SHIFT);
        realized.put(vpage, HOLE);
        if (split) {
            Integer below = cuts.lower(vpage), above = cuts.higher(vpage);
            touched.set(below == null ? 0 : below + 1, above == null ? ramPages : above);
            cuts.add(vpage);
        }
        touched.set(vpage);
    }

    private void unmap(long address) {
        engine.unmap(address, PAGE);
        unicornCalls++;
    }

    /**
     * Drops the code of every touched frame through an address that now has
     * it: its identity page when that is not a hole, else an alias of it. A
     * frame mapped nowhere has no code to find. {@code UC_CTL_TB_REMOVE_CACHE}
     * looks up only the first page of a range and takes the rest as contiguous
     * in the same RAM block, so a range never crosses a cut (each piece of
     * the RAM region is one block; holes and single pages are others).
     */
    private void invalidateTouched() {
        if (touched.isEmpty()) {
            return;
        }
        IntIntMap aliasOf = null;
        for (int frame = touched.nextSetBit(0); frame >= 0; frame = touched.nextSetBit(frame + 1)) {
            if (!realized.containsKey(frame)) {
                int end = frame + 1;
                if (!cuts.contains(frame)) {
                    Integer above = cuts.higher(frame);
                    int limit = above == null ? ramPages : above;
                    while (end < limit && touched.get(end)) {
                        end++;
                    }
                }
                engine.invalidateCode((long) frame << PAGE_SHIFT, (long) end << PAGE_SHIFT);
                frame = end - 1;
                continue;
            }
            if (aliasOf == null) {
                aliasOf = new IntIntMap();
                for (int vpage : realized.keys()) {
                    int mapped = realized.get(vpage);
                    if (mapped >= 0) {
                        aliasOf.put(mapped, vpage);
                    }
                }
            }
            int vpage = aliasOf.get(frame);
            if (vpage != IntIntMap.ABSENT) {
                long address = (long) vpage << PAGE_SHIFT;
                engine.invalidateCode(address, address + PAGE);
            }
        }
        touched.clear();
    }
}
