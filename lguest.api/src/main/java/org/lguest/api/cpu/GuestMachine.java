package org.lguest.api.cpu;

import java.lang.foreign.MemorySegment;

/**
 * The physical layout of one guest, as the emulated CPU sees it. Guest RAM
 * is the Launcher's segment at physical 0, up to the page-frame limit; the
 * device region lies above it and is never RAM; the host area (shadow page
 * tables, the switcher, descriptor tables) fills the top 4 MiB, the
 * switcher's range in lguest, which guests may not map.
 * <p>
 * The host area's addresses are both physical and virtual: shadow entries
 * point at its pages by physical address, and the switcher's page table
 * maps them at the same virtual one.
 *
 * @param ram guest-physical memory, {@code pfnLimit} pages of the Launcher's segment
 * @param pfnLimit the first page frame the guest may not reach
 * @param hostArea host-owned pages, allocated page by page
 */
public record GuestMachine(MemorySegment ram, long pfnLimit, HostArea hostArea) {
    /** Virtual address of the switcher: the top 4 MiB, which guests may not map (as in lguest). */
    public static final long SWITCHER_ADDRESS = 0xFFC0_0000L;
    /** Where the host area lies, physically and virtually: the switcher's 4 MiB. */
    public static final long HOST_AREA_BASE = SWITCHER_ADDRESS;
    /** Pages in the host area. */
    public static final int HOST_AREA_PAGES = 1024;
    /** The page-directory slot of the switcher. */
    public static final int SWITCHER_PGD_INDEX = (int) (SWITCHER_ADDRESS >>> 22);

    public GuestMachine {
        if (pfnLimit <= 0 || pfnLimit * 4096 > ram.byteSize() || pfnLimit * 4096 > SWITCHER_ADDRESS) {
            throw new IllegalArgumentException("page-frame limit " + pfnLimit + " does not fit the guest's RAM");
        }
    }

    public long ramBytes() {
        return pfnLimit * 4096;
    }
}
