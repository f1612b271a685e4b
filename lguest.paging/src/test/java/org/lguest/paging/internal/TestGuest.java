package org.lguest.paging.internal;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.SplittableRandom;

import org.lguest.api.cpu.GuestMachine;
import org.lguest.api.cpu.HostArea;
import org.lguest.api.paging.GuestPageTables.Fault;

/**
 * A guest without a CPU: RAM in a native segment, a host area, the shadow
 * tables under test, and an x86 MMU (two-level, non-PAE, CR0.WP set) that
 * walks the shadows the way the emulated CPU would.
 */
final class TestGuest implements AutoCloseable {
    static final int P = X86Paging.PRESENT;
    static final int RW = X86Paging.RW;
    static final int U = X86Paging.USER;
    static final int A = X86Paging.ACCESSED;
    static final int D = X86Paging.DIRTY;
    static final int PSE = X86Paging.PSE;
    static final int G = X86Paging.GLOBAL;
    static final int TABLE = X86Paging.PAGE_TABLE;
    static final int PAGE = 4096;
    static final ValueLayout.OfInt LE = ValueLayout.JAVA_INT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    /** Filled into RAM past the frame limit: if anything read it, a "present" entry would show up. */
    static final int POISON = 0xFFFF_FFFF;

    final Arena arena = Arena.ofShared();
    final long pfnLimit;
    final MemorySegment ram;
    final HostArea host;
    final GuestMachine machine;
    final List<String> kills = new ArrayList<>();
    ShadowPageTables tables;
    final int switcherPde;
    final int hostBaseline;
    private int nextFrame = 1;

    TestGuest(long pfnLimit, int hostPages, long seed) {
        this(pfnLimit, new HostArea(hostPages), seed, true);
    }

    private TestGuest(long pfnLimit, HostArea host, long seed, boolean switcher) {
        this.pfnLimit = pfnLimit;
        // Twice the RAM the guest may use: the upper half is poison that must never be read.
        this.ram = arena.allocate(pfnLimit * PAGE * 2, PAGE);
        ram.asSlice(pfnLimit * PAGE).fill((byte) 0xFF);
        this.host = host;
        this.machine = new GuestMachine(ram, pfnLimit, host);
        long switcherTable = host.allocatePage(); // stands for the backend's switcher table page
        this.switcherPde = (int) switcherTable | P | RW;
        this.hostBaseline = host.pagesInUse();
        this.tables = new ShadowPageTables(machine, kills::add, new SplittableRandom(seed));
        if (switcher) {
            tables.setSwitcherEntry(switcherPde);
        }
    }

    // ------------------------------------------------------------ guest RAM

    /** A fresh zeroed guest frame (for guest page tables); its physical address. */
    long newPage() {
        long phys = (long) nextFrame++ * PAGE;
        if (phys >= pfnLimit * PAGE) {
            throw new IllegalStateException("test guest out of frames");
        }
        ram.asSlice(phys, PAGE).fill((byte) 0);
        return phys;
    }

    int read(long phys) {
        return ram.get(LE, phys);
    }

    void write(long phys, int value) {
        ram.set(LE, phys, value);
    }

    static long pdeAddress(long pgdir, long va) {
        return pgdir + ((va & 0xFFFF_FFFFL) >>> 22) * 4;
    }

    static long pteAddress(int pde, long va) {
        return (Integer.toUnsignedLong(pde) & ~0xFFFL) + ((va >>> 12) & 0x3FF) * 4;
    }

    /** Maps {@code va} to {@code frame} in the guest directory at {@code pgdir}, adding a table if needed. */
    void map(long pgdir, long va, long frame, int flags) {
        int pde = read(pdeAddress(pgdir, va));
        if ((pde & P) == 0) {
            pde = (int) newPage() | TABLE;
            write(pdeAddress(pgdir, va), pde);
        }
        write(pteAddress(pde, va), (int) (frame << 12) | flags);
    }

    int guestPte(long pgdir, long va) {
        int pde = read(pdeAddress(pgdir, va));
        return (pde & P) == 0 ? 0 : read(pteAddress(pde, va));
    }

    // ------------------------------------------------------------- the MMU

    int readPhys(long phys) {
        if (host.contains(phys)) {
            return host.page(phys & ~0xFFFL).get(LE, phys & 0xFFF);
        }
        fail(String.format("the shadow tables lead the MMU to %#x, outside the host area", phys));
        return 0;
    }

    /** The shadow directory entry for {@code va} under {@code root}. */
    int shadowPde(long root, long va) {
        return readPhys(root + ((va & 0xFFFF_FFFFL) >>> 22) * 4);
    }

    /** The shadow table entry for {@code va}, or 0 when the directory slot is empty. */
    int shadowPte(long root, long va) {
        int pde = shadowPde(root, va);
        return (pde & P) == 0 ? 0 : readPhys(pteAddress(pde, va));
    }

    /** What an x86 MMU makes of {@code va}: the physical address, or -1 for a page fault. */
    long translate(long root, long va, boolean write, boolean user) {
        int pde = shadowPde(root, va);
        if ((pde & P) == 0) {
            return -1;
        }
        assertEquals(0, pde & PSE, "a shadow directory entry maps a 4 MiB page");
        int pte = readPhys(pteAddress(pde, va));
        if ((pte & P) == 0) {
            return -1;
        }
        if (write && (pde & pte & RW) == 0) {
            return -1;
        }
        if (user && (pde & pte & U) == 0) {
            return -1;
        }
        return (Integer.toUnsignedLong(pte) & ~0xFFFL) | (va & 0xFFF);
    }

    /** The error code the MMU would push for a failed access. */
    int errorCode(long root, long va, boolean write, boolean user) {
        int pde = shadowPde(root, va);
        int pte = (pde & P) == 0 ? 0 : readPhys(pteAddress(pde, va));
        boolean present = (pde & P) != 0 && (pte & P) != 0;
        return (present ? 1 : 0) | (write ? 2 : 0) | (user ? 4 : 0);
    }

    /** One access as the CPU and the Host core do it: translate, fault, fill, retry. */
    record Access(Fault fault, long phys, int faults) {
    }

    Access access(int cpu, long va, boolean write, boolean user) {
        for (int faults = 0; faults < 4; faults++) {
            long root = tables.root(cpu);
            long phys = translate(root, va, write, user);
            if (phys >= 0) {
                return new Access(Fault.FILLED, phys, faults);
            }
            Fault fault = tables.demandPage(cpu, va, errorCode(root, va, write, user));
            if (fault != Fault.FILLED) {
                return new Access(fault, -1, faults + 1);
            }
        }
        fail(String.format("access to %#x keeps faulting after FILLED", va));
        return null;
    }

    // -------------------------------------------------------- the invariant

    /**
     * The safety invariant, checked on the memory the MMU reads: every shadow directory has the
     * switcher entry in its slot; every other present directory entry is a 4 KiB table we own
     * (each used once); every present table entry names a guest frame below the limit, with no
     * PSE/PAT or global bit; and the page count adds up.
     */
    void assertInvariant() {
        long[] roots = tables.shadowRoots();
        Set<Long> owned = new HashSet<>();
        for (long page : tables.tablePages()) {
            assertTrue(owned.add(page), "a table page is recorded twice");
            assertTrue(host.contains(page), "a table page outside the host area");
        }
        Set<Long> seen = new HashSet<>();
        for (long root : roots) {
            assertTrue(host.contains(root), "a shadow directory outside the host area");
            MemorySegment dir = host.page(root);
            for (int i = 0; i < 1024; i++) {
                int pde = dir.get(LE, i * 4L);
                if (i == 1023) {
                    assertEquals(switcherPde, pde, "switcher slot of a shadow directory");
                    continue;
                }
                if ((pde & P) == 0) {
                    assertEquals(0, pde, "a non-present shadow directory entry that is not zero");
                    continue;
                }
                assertEquals(0, pde & PSE, "4 MiB page in a shadow directory");
                long table = Integer.toUnsignedLong(pde) & ~0xFFFL;
                assertTrue(owned.contains(table), String.format("directory entry %#x names no table of ours", pde));
                assertTrue(seen.add(table), "two directory entries share a shadow table");
                MemorySegment t = host.page(table);
                for (int j = 0; j < 1024; j++) {
                    int pte = t.get(LE, j * 4L);
                    if ((pte & P) != 0) {
                        long frame = Integer.toUnsignedLong(pte) >>> 12;
                        assertTrue(frame < pfnLimit, String.format("shadow entry %#x reaches frame %#x, limit %#x",
                                pte, frame, pfnLimit));
                        assertEquals(0, pte & (PSE | G), "PSE/PAT or global bit in a shadow entry");
                    }
                }
            }
        }
        assertEquals(seen.size(), owned.size(), "table pages we hold but no directory names");
        assertEquals(roots.length + owned.size(), tables.pagesInUse(), "pagesInUse");
        assertEquals(hostBaseline + tables.pagesInUse(), host.pagesInUse(), "host-area pages in use");
    }

    /**
     * Closes the tables, checks that every host page came back, and starts a new guest on the
     * same RAM and host area (its first CPU in linear boot mode again).
     */
    void reboot(long seed) {
        tables.close();
        assertEquals(0, tables.pagesInUse());
        assertEquals(hostBaseline, host.pagesInUse(), "host-area pages not returned on close");
        kills.clear();
        tables = new ShadowPageTables(machine, kills::add, new SplittableRandom(seed));
        tables.setSwitcherEntry(switcherPde);
    }

    String lastKill() {
        return kills.isEmpty() ? null : kills.getLast();
    }

    @Override
    public void close() {
        tables.close();
        host.close();
        arena.close();
    }
}
