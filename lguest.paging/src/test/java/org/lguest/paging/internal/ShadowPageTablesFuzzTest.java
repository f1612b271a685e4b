package org.lguest.paging.internal;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.lguest.paging.internal.TestGuest.A;
import static org.lguest.paging.internal.TestGuest.D;
import static org.lguest.paging.internal.TestGuest.P;
import static org.lguest.paging.internal.TestGuest.PAGE;
import static org.lguest.paging.internal.TestGuest.RW;
import static org.lguest.paging.internal.TestGuest.TABLE;
import static org.lguest.paging.internal.TestGuest.U;

import java.util.EnumMap;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.TreeMap;

import org.junit.jupiter.api.Test;
import org.lguest.api.cpu.GuestMachine;
import org.lguest.api.paging.GuestPageTables.Fault;

/**
 * Randomized property tests with fixed seeds.
 *
 * <p>{@link #anAdversarialGuestReachesNothingButItsRam()} writes random entries into guest RAM
 * behind the Host's back and throws random hypercalls and faults at it; it checks the safety
 * invariant (see {@link TestGuest#assertInvariant()}), that every fill agrees with the guest's
 * tables as they are, and that each guest's close returns every host page.
 *
 * <p>{@link #aWellBehavedGuestSeesExactlyItsOwnTables(boolean)} plays a guest that tells the Host
 * about each change as lguest's Linux guest does; every access must then come out exactly as the
 * guest's own tables say, and every shadow entry must agree with them.
 */
class ShadowPageTablesFuzzTest {

    // ====================================================== adversarial

    private static final int[] HOT_PGDS = {0, 1, 2, 3, 255, 768, 769, 1022, 1023};

    @Test
    void anAdversarialGuestReachesNothingButItsRam() {
        final long seed = 0x6C67_7565_7374L; // "lguest"
        final int operations = 250_000;
        final long limit = 64; // 256 KiB of RAM: random frames often land in it
        SplittableRandom rnd = new SplittableRandom(seed);
        Counts counts = new Counts();
        TestGuest g = new TestGuest(limit, GuestMachine.HOST_AREA_PAGES, rnd.nextLong());
        try {
            long[] current = new long[3]; // the directory each CPU runs on, as far as the test knows (-1: linear)
            java.util.Arrays.fill(current, -1);
            boolean linear = true;
            int sinceBoot = 0;
            counts.guests++;
            for (int op = 0; op < operations; op++) {
                int cpu = rnd.nextInt(3);
                int pick = rnd.nextInt(100);
                long va = randomVa(rnd);
                if (pick < 30) {
                    counts.count("write guest entry");
                    if (rnd.nextBoolean()) {
                        long where = (long) rnd.nextInt(8) * PAGE + HOT_PGDS[rnd.nextInt(HOT_PGDS.length)] * 4L;
                        g.write(where, randomDirectoryEntry(rnd, limit));
                    } else {
                        long where = (long) rnd.nextInt((int) limit) * PAGE
                                + (rnd.nextInt(4) == 0 ? rnd.nextInt(1024) : rnd.nextInt(8)) * 4L;
                        g.write(where, randomEntry(rnd, limit));
                    }
                } else if (pick < 58) {
                    counts.count("demandPage");
                    int error = rnd.nextInt(8);
                    Fault fault = g.tables.demandPage(cpu, va, error);
                    counts.fault(fault);
                    if (fault == Fault.FILLED) {
                        checkFill(g, cpu, va, linear ? -1 : current[cpu], (error & 2) != 0, counts);
                    }
                } else if (pick < 70) {
                    counts.count("MMU access");
                    TestGuest.Access access = g.access(cpu, va, rnd.nextBoolean(), rnd.nextInt(4) == 0);
                    counts.fault(access.fault());
                    if (access.phys() >= 0) {
                        assertTrue(access.phys() >>> 12 < limit, "an access reached past the limit");
                    }
                } else if (pick < 78) {
                    counts.count("setPte");
                    long pgdir = randomPgdir(rnd, limit, current[cpu]);
                    int pte = randomEntry(rnd, limit);
                    if (va >>> 22 == 1023 && rnd.nextInt(50) != 0) {
                        va &= ~(1L << 31); // the switcher slot kills at once: only now and then
                    }
                    g.tables.setPte(pgdir, va, pte);
                    checkSetPte(g, pgdir, va, limit);
                } else if (pick < 83) {
                    counts.count("newPgtable");
                    long pgdir = randomPgdir(rnd, limit, current[cpu]);
                    g.tables.newPgtable(cpu, pgdir);
                    if (g.kills.isEmpty()) {
                        if (linear) {
                            java.util.Arrays.fill(current, pgdir & 0xFFFF_FFFFL);
                            linear = false;
                        } else {
                            current[cpu] = pgdir & 0xFFFF_FFFFL;
                        }
                    }
                } else if (pick < 87) {
                    counts.count("setPgd");
                    int index = rnd.nextInt(500) == 0 ? rnd.nextInt() : (int) (va >>> 22);
                    g.tables.setPgd(randomPgdir(rnd, limit, current[cpu]), index);
                } else if (pick < 89) {
                    counts.count("setPmd");
                    g.tables.setPmd(randomPgdir(rnd, limit, current[cpu]), va);
                } else if (pick < 92) {
                    counts.count("flushUserMappings");
                    g.tables.flushUserMappings(cpu);
                } else if (pick < 93) {
                    counts.count("clearAll");
                    g.tables.clearAll();
                } else if (pick < 94) {
                    counts.count("guestPhysical");
                    long phys = g.tables.guestPhysical(cpu, va);
                    if (phys != -1) {
                        assertTrue(phys >= 0 && phys <= 0xFFFF_FFFFL);
                    }
                } else if (pick < 95) {
                    counts.count("setKernelAddress");
                    long[] choices = {0xC000_0000L, 0x8000_0000L, 0x0040_0000L, 0xC000_0000L, rnd.nextLong(1L << 32)};
                    g.tables.setKernelAddress(choices[rnd.nextInt(choices.length)]);
                } else {
                    counts.count("root");
                    assertTrue(g.host.contains(g.tables.root(cpu)), "CR3 outside the host area");
                }
                counts.maxShadows = Math.max(counts.maxShadows, g.tables.shadowRoots().length);
                counts.maxPages = Math.max(counts.maxPages, g.tables.pagesInUse());
                sinceBoot++;
                if (op % 250 == 0) {
                    g.assertInvariant();
                    counts.invariantChecks++;
                }
                if (!g.kills.isEmpty() || sinceBoot > 5000) {
                    if (!g.kills.isEmpty()) {
                        // Group by the reason's text, numbers masked.
                        String reason = g.kills.getFirst().replaceAll("0x[0-9a-f]+|\\b\\d+\\b", "#");
                        counts.kills.merge(reason, 1, Integer::sum);
                    }
                    g.assertInvariant();
                    counts.invariantChecks++;
                    g.reboot(rnd.nextLong()); // asserts every host page came back
                    counts.guests++;
                    java.util.Arrays.fill(current, -1);
                    linear = true;
                    sinceBoot = 0;
                }
            }
            g.assertInvariant();
            counts.invariantChecks++;
            g.tables.close();
            assertEquals(g.hostBaseline, g.host.pagesInUse(), "host-area pages not returned on the last close");
        } finally {
            g.close();
        }
        counts.print("adversarial", seed, operations);
        assertTrue(counts.faults.getOrDefault(Fault.FILLED, 0) > 1000, "the fuzz should fill pages");
        assertTrue(counts.faults.getOrDefault(Fault.DEVICE, 0) > 100, "and find device memory");
        assertTrue(counts.faults.getOrDefault(Fault.GUEST, 0) > 1000, "and reflect faults");
        assertTrue(counts.guests > 20, "and kill guests");
        assertTrue(counts.kills.size() >= 6, "for many of lguest's reasons");
    }

    private static long randomVa(SplittableRandom rnd) {
        int pgd = rnd.nextInt(100) < 85 ? HOT_PGDS[rnd.nextInt(HOT_PGDS.length)] : rnd.nextInt(1024);
        int pte = rnd.nextInt(100) < 70 ? rnd.nextInt(8) : rnd.nextInt(1024);
        long va = (long) pgd << 22 | (long) pte << 12 | rnd.nextInt(PAGE);
        // Now and then, bits above 31 (which an i386 address does not have).
        return rnd.nextInt(200) == 0 ? va | (rnd.nextLong() << 32) : va;
    }

    private static int randomEntry(SplittableRandom rnd, long limit) {
        int r = rnd.nextInt(1000);
        long frame;
        if (r < 700) {
            frame = rnd.nextLong(limit);
        } else if (r < 780) {
            frame = limit + rnd.nextLong(ShadowPageTables.DEVICE_LIMIT_PFN - limit);
        } else if (r < 800) {
            frame = ShadowPageTables.DEVICE_LIMIT_PFN + rnd.nextLong(0x10_0000 - ShadowPageTables.DEVICE_LIMIT_PFN);
        } else if (r < 970) {
            return 0;
        } else {
            return rnd.nextInt();
        }
        int f = rnd.nextInt(100);
        int flags;
        if (f < 80) {
            flags = P | (rnd.nextBoolean() ? RW : 0) | (rnd.nextBoolean() ? U : 0)
                    | (rnd.nextBoolean() ? A : 0) | (rnd.nextBoolean() ? D : 0)
                    | (rnd.nextInt(8) == 0 ? TestGuest.G : 0);
        } else if (f < 95) {
            flags = rnd.nextInt(0x80) & ~P;
        } else {
            flags = rnd.nextInt(0x1000); // PSE, PWT, PCD, available bits: anything
        }
        return (int) (frame << 12) | flags;
    }

    /** Mostly what lguest accepts in a directory (a table in RAM, _PAGE_TABLE flags), sometimes anything. */
    private static int randomDirectoryEntry(SplittableRandom rnd, long limit) {
        int r = rnd.nextInt(100);
        if (r < 85) {
            return (int) (rnd.nextLong(limit) << 12) | P | (TABLE & rnd.nextInt(0x80));
        } else if (r < 92) {
            return 0;
        }
        return randomEntry(rnd, limit);
    }

    private static long randomPgdir(SplittableRandom rnd, long limit, long current) {
        int r = rnd.nextInt(1000);
        if (r < 800) {
            return (long) rnd.nextInt(8) * PAGE;
        } else if (r < 950 && current >= 0) {
            return current;
        } else if (r < 970) {
            return limit * PAGE - rnd.nextInt(2 * PAGE) + PAGE; // straddling the end of RAM
        } else if (r < 990) {
            return rnd.nextLong(limit * PAGE); // unaligned
        } else {
            return rnd.nextLong(); // anything
        }
    }

    /** After FILLED: the shadow maps {@code va} to exactly the frame the guest's tables name, below the limit. */
    private static void checkFill(TestGuest g, int cpu, long va, long pgdir, boolean write, Counts counts) {
        long v = va & 0xFFFF_FFFFL;
        long expected;
        if (pgdir < 0) {
            expected = v >>> 12;
        } else {
            int pde = g.read(TestGuest.pdeAddress(pgdir, v));
            int pte = g.read(TestGuest.pteAddress(pde, v));
            assertTrue((pte & A) != 0, "a fill marks the guest's entry accessed");
            if (write) {
                assertTrue((pte & D) != 0, "a write fill marks it dirty");
            }
            expected = Integer.toUnsignedLong(pte) >>> 12;
        }
        int spte = g.shadowPte(g.tables.root(cpu), v);
        assertTrue((spte & P) != 0, "FILLED but nothing in the shadow");
        assertEquals(expected, Integer.toUnsignedLong(spte) >>> 12, "the shadow names another frame than the guest");
        assertTrue(expected < g.pfnLimit);
        counts.fillsChecked++;
    }

    /** After SET_PTE: the named shadow has nothing there, or a frame below the limit. */
    private static void checkSetPte(TestGuest g, long pgdir, long va, long limit) {
        long[] dirs = g.tables.shadowedDirectories();
        long[] roots = g.tables.shadowRoots();
        for (int i = 0; i < dirs.length; i++) {
            if (dirs[i] == (pgdir & 0xFFFF_FFFFL)) {
                int spte = g.shadowPte(roots[i], va & 0xFFFF_FFFFL);
                assertTrue((spte & P) == 0 || Integer.toUnsignedLong(spte) >>> 12 < limit);
            }
        }
    }

    // ====================================================== well-behaved

    private static final long KERNEL = 0xC000_0000L;
    private static final int SPACES = 8;
    private static final int CPUS = 2;
    private static final int USER_SLOTS = 4;        // user directory slots 0..3
    private static final int KERNEL_SLOTS = 4;      // kernel directory slots 768..771
    private static final int SLOT_PAGES = 16;       // pages used per table (pte indexes 0..15)

    @org.junit.jupiter.params.ParameterizedTest(name = "kernel address known: {0}")
    @org.junit.jupiter.params.provider.ValueSource(booleans = {true, false})
    void aWellBehavedGuestSeesExactlyItsOwnTables(boolean kernelAddressKnown) {
        final long seed = kernelAddressKnown ? 0x5EED_0001L : 0x5EED_0002L;
        final int operations = 80_000;
        final long limit = 512; // 2 MiB
        SplittableRandom rnd = new SplittableRandom(seed);
        Counts counts = new Counts();
        TestGuest g = new TestGuest(limit, GuestMachine.HOST_AREA_PAGES, rnd.nextLong());
        try {
            // Layout: frames 1..8 directories; 9..12 the shared kernel tables; then two candidate
            // tables per user slot per space; data frames from 100.
            long[] pgdir = new long[SPACES];
            for (int a = 0; a < SPACES; a++) {
                pgdir[a] = g.newPage();
            }
            long[] kernelTable = new long[KERNEL_SLOTS];
            for (int k = 0; k < KERNEL_SLOTS; k++) {
                kernelTable[k] = g.newPage();
            }
            long[][] userTables = new long[SPACES][USER_SLOTS * 2];
            for (int a = 0; a < SPACES; a++) {
                for (int t = 0; t < USER_SLOTS * 2; t++) {
                    userTables[a][t] = g.newPage();
                }
            }
            for (int a = 0; a < SPACES; a++) {
                for (int k = 0; k < KERNEL_SLOTS; k++) {
                    g.write(pgdir[a] + (768L + k) * 4, (int) kernelTable[k] | TABLE);
                }
                // Rubbish in the guest's own switcher slot: it must never be read.
                g.write(pgdir[a] + 1023L * 4, (int) (limit + 7) << 12 | TABLE);
            }
            if (kernelAddressKnown) {
                g.tables.setKernelAddress(KERNEL);
            }
            for (int cpu = 0; cpu < CPUS; cpu++) {
                g.tables.root(cpu);
            }

            // Boot: linear until the first NEW_PGTABLE.
            for (int i = 0; i < 2000; i++) {
                int cpu = rnd.nextInt(CPUS);
                long va = rnd.nextInt(10) == 0 ? (limit + rnd.nextInt(64)) * PAGE + rnd.nextInt(PAGE)
                        : rnd.nextLong(limit * PAGE);
                boolean write = rnd.nextBoolean();
                TestGuest.Access access = g.access(cpu, va, write, false);
                counts.count("boot access");
                counts.fault(access.fault());
                if (va < limit * PAGE) {
                    assertEquals(Fault.FILLED, access.fault());
                    assertEquals(va, access.phys());
                } else {
                    assertEquals(Fault.DEVICE, access.fault());
                }
            }
            int[] space = new int[CPUS];
            int first = rnd.nextInt(SPACES);
            g.tables.newPgtable(0, pgdir[first]);
            java.util.Arrays.fill(space, first);
            counts.count("newPgtable");

            for (int op = 0; op < operations; op++) {
                int cpu = rnd.nextInt(CPUS);
                int a = space[cpu];
                int pick = rnd.nextInt(100);
                if (pick < 40) {
                    counts.count("access");
                    long va = wellBehavedVa(rnd);
                    boolean write = rnd.nextBoolean();
                    boolean user = rnd.nextInt(3) == 0;
                    Expected expected = expect(g, pgdir[a], va, write, user, limit);
                    TestGuest.Access access = g.access(cpu, va, write, user);
                    counts.fault(access.fault());
                    assertEquals(expected.fault, access.fault(), () -> String.format("access %#x", va));
                    assertEquals(expected.phys, access.phys(), () -> String.format("access %#x", va));
                    if (expected.fault == Fault.FILLED) {
                        counts.fillsChecked++;
                    }
                } else if (pick < 55) {
                    counts.count("switch");
                    int to = rnd.nextInt(SPACES);
                    g.tables.newPgtable(cpu, pgdir[to]);
                    space[cpu] = to;
                } else if (pick < 70) {
                    counts.count("user pte + SET_PTE");
                    int b = rnd.nextInt(4) == 0 ? rnd.nextInt(SPACES) : a;
                    long va = (long) rnd.nextInt(USER_SLOTS) << 22 | (long) rnd.nextInt(SLOT_PAGES) << 12;
                    int pde = g.read(TestGuest.pdeAddress(pgdir[b], va));
                    if ((pde & P) == 0) {
                        continue; // nothing to change until the slot has a table
                    }
                    int pte = wellBehavedPte(rnd, limit);
                    g.write(TestGuest.pteAddress(pde, va), pte);
                    g.tables.setPte(pgdir[b], va, Integer.toUnsignedLong(pte));
                } else if (pick < 78) {
                    counts.count("kernel pte + SET_PTE");
                    int k = rnd.nextInt(KERNEL_SLOTS);
                    long va = KERNEL + ((long) k << 22) + ((long) rnd.nextInt(SLOT_PAGES) << 12);
                    int pte = wellBehavedPte(rnd, limit) & ~U;
                    g.write(TestGuest.pteAddress((int) kernelTable[k], va), pte);
                    g.tables.setPte(pgdir[rnd.nextInt(SPACES)], va, pte);
                } else if (pick < 86) {
                    counts.count("user pgd + SET_PGD/SET_PMD");
                    int b = rnd.nextInt(4) == 0 ? rnd.nextInt(SPACES) : a;
                    int slot = rnd.nextInt(USER_SLOTS);
                    int pde = rnd.nextInt(6) == 0 ? 0
                            : (int) userTables[b][slot * 2 + rnd.nextInt(2)] | P | (TABLE & rnd.nextInt(0x80));
                    g.write(pgdir[b] + slot * 4L, pde);
                    if (rnd.nextBoolean()) {
                        g.tables.setPgd(pgdir[b], slot);
                    } else {
                        g.tables.setPmd(pgdir[b], (long) slot << 22 | rnd.nextInt(1 << 22));
                    }
                } else if (pick < 92) {
                    counts.count("bulk user change + FLUSH_TLB");
                    for (int n = rnd.nextInt(1, 6); n > 0; n--) {
                        long va = (long) rnd.nextInt(USER_SLOTS) << 22 | (long) rnd.nextInt(SLOT_PAGES) << 12;
                        int pde = g.read(TestGuest.pdeAddress(pgdir[a], va));
                        if ((pde & P) != 0) {
                            g.write(TestGuest.pteAddress(pde, va), wellBehavedPte(rnd, limit));
                        }
                    }
                    g.tables.flushUserMappings(cpu);
                } else if (pick < 94) {
                    counts.count("bulk kernel change + clearAll");
                    for (int n = rnd.nextInt(1, 6); n > 0; n--) {
                        int k = rnd.nextInt(KERNEL_SLOTS);
                        long va = KERNEL + ((long) k << 22) + ((long) rnd.nextInt(SLOT_PAGES) << 12);
                        g.write(TestGuest.pteAddress((int) kernelTable[k], va), wellBehavedPte(rnd, limit) & ~U);
                    }
                    g.tables.clearAll();
                } else {
                    counts.count("guestPhysical");
                    long va = wellBehavedVa(rnd);
                    Expected expected = expect(g, pgdir[a], va, false, false, limit);
                    if (expected.fault == Fault.FILLED) {
                        assertEquals(expected.phys, g.tables.guestPhysical(cpu, va));
                    }
                }
                counts.maxShadows = Math.max(counts.maxShadows, g.tables.shadowRoots().length);
                counts.maxPages = Math.max(counts.maxPages, g.tables.pagesInUse());
                if (op % 100 == 0) {
                    assertCoherent(g);
                    g.assertInvariant();
                    counts.invariantChecks++;
                }
                assertTrue(g.kills.isEmpty(), () -> "a well-behaved guest was killed: " + g.kills);
            }
            assertCoherent(g);
            g.assertInvariant();
            counts.invariantChecks++;
            g.tables.close();
            assertEquals(g.hostBaseline, g.host.pagesInUse(), "host-area pages not returned on close");
        } finally {
            g.close();
        }
        counts.print("well-behaved, kernel address " + (kernelAddressKnown ? "known" : "unknown"), seed,
                operations);
        assertTrue(counts.faults.getOrDefault(Fault.FILLED, 0) > 5000);
        assertTrue(counts.faults.getOrDefault(Fault.GUEST, 0) > 1000);
        assertTrue(counts.faults.getOrDefault(Fault.DEVICE, 0) > 100);
    }

    private static long wellBehavedVa(SplittableRandom rnd) {
        int r = rnd.nextInt(100);
        long page = rnd.nextInt(SLOT_PAGES + 2); // a couple past what the tables fill
        long offset = rnd.nextInt(PAGE);
        if (r < 50) {
            return (long) rnd.nextInt(USER_SLOTS + 1) << 22 | page << 12 | offset;
        } else if (r < 95) {
            return KERNEL + ((long) rnd.nextInt(KERNEL_SLOTS + 1) << 22) + (page << 12) + offset;
        } else {
            return GuestMachine.SWITCHER_ADDRESS + rnd.nextLong(1L << 22);
        }
    }

    private static int wellBehavedPte(SplittableRandom rnd, long limit) {
        int r = rnd.nextInt(100);
        if (r < 15) {
            return 0;
        }
        long frame = r < 22 ? limit + rnd.nextInt(256) : 100 + rnd.nextLong(limit - 100);
        int flags = P | (rnd.nextBoolean() ? RW : 0) | (rnd.nextInt(3) > 0 ? U : 0)
                | (rnd.nextBoolean() ? A : 0) | (rnd.nextInt(3) == 0 ? D : 0)
                | (rnd.nextInt(4) == 0 ? TestGuest.G : 0);
        return (int) (frame << 12) | flags;
    }

    private record Expected(Fault fault, long phys) {
    }

    /** What the guest's own tables say an access should do (lguest's rules, both levels counted). */
    private static Expected expect(TestGuest g, long pgdir, long va, boolean write, boolean user, long limit) {
        if (va >= GuestMachine.SWITCHER_ADDRESS) {
            return new Expected(Fault.GUEST, -1);
        }
        int pde = g.read(TestGuest.pdeAddress(pgdir, va));
        if ((pde & P) == 0) {
            return new Expected(Fault.GUEST, -1);
        }
        int pte = g.read(TestGuest.pteAddress(pde, va));
        if ((pte & P) == 0 || write && (pde & pte & RW) == 0 || user && (pde & pte & U) == 0) {
            return new Expected(Fault.GUEST, -1);
        }
        long frame = Integer.toUnsignedLong(pte) >>> 12;
        if (frame >= limit) {
            return new Expected(Fault.DEVICE, -1);
        }
        return new Expected(Fault.FILLED, frame << 12 | (va & 0xFFF));
    }

    /**
     * Every present shadow entry of every cached shadow agrees with the guest directory it stands
     * for: the same frame, and no right the guest's two levels do not give (writable only once dirty).
     */
    private static void assertCoherent(TestGuest g) {
        long[] dirs = g.tables.shadowedDirectories();
        long[] roots = g.tables.shadowRoots();
        for (int s = 0; s < roots.length; s++) {
            if (dirs[s] < 0) {
                continue;
            }
            for (int i = 0; i < 1023; i++) {
                long slotVa = (long) i << 22;
                int spde = g.shadowPde(roots[s], slotVa);
                if ((spde & P) == 0) {
                    continue;
                }
                int gpde = g.read(TestGuest.pdeAddress(dirs[s], slotVa));
                assertTrue((gpde & P) != 0, "a shadow table where the guest has none");
                assertEquals(gpde & 0xFFF & TABLE, spde & 0xFFF, "shadow directory flags");
                for (int j = 0; j < 1024; j++) {
                    long va = slotVa | (long) j << 12;
                    int spte = g.shadowPte(roots[s], va);
                    if ((spte & P) == 0) {
                        continue;
                    }
                    int gpte = g.read(TestGuest.pteAddress(gpde, va));
                    String where = String.format("shadow %d va %#x: spte %#x gpte %#x", s, va, spte, gpte);
                    assertTrue((gpte & P) != 0, where);
                    assertEquals(gpte >>> 12, spte >>> 12, where);
                    assertTrue((gpte & (A | D)) != 0, where);
                    if ((spte & RW) != 0) {
                        assertTrue((gpte & RW) != 0 && (gpte & D) != 0, where);
                    }
                    if ((spte & U) != 0) {
                        assertTrue((gpte & U) != 0, where);
                    }
                }
            }
        }
    }

    // ====================================================== counting

    private static final class Counts {
        final Map<String, Integer> operations = new TreeMap<>();
        final Map<Fault, Integer> faults = new EnumMap<>(Fault.class);
        final Map<String, Integer> kills = new TreeMap<>();
        int guests;
        int invariantChecks;
        int fillsChecked;
        int maxShadows;
        int maxPages;

        void count(String what) {
            operations.merge(what, 1, Integer::sum);
        }

        void fault(Fault fault) {
            faults.merge(fault, 1, Integer::sum);
        }

        void print(String name, long seed, int requested) {
            int total = operations.values().stream().mapToInt(Integer::intValue).sum();
            System.out.printf("%n[paging fuzz: %s] seed %#x, %,d operations (%,d requested)%n", name, seed, total,
                    requested);
            operations.forEach((k, v) -> System.out.printf("  %-32s %,9d%n", k, v));
            System.out.printf("  fault outcomes: %s%n", faults);
            if (guests > 0) {
                System.out.printf("  guests booted: %,d; kills by reason: %s%n", guests, kills);
            }
            System.out.printf("  full invariant checks: %,d; translations checked against the guest's tables: %,d%n",
                    invariantChecks, fillsChecked);
            System.out.printf("  most shadows at once: %d; most host pages at once: %d%n", maxShadows, maxPages);
        }
    }
}
