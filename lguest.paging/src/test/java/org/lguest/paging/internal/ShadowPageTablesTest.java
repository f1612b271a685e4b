package org.lguest.paging.internal;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.lguest.paging.internal.TestGuest.A;
import static org.lguest.paging.internal.TestGuest.D;
import static org.lguest.paging.internal.TestGuest.G;
import static org.lguest.paging.internal.TestGuest.P;
import static org.lguest.paging.internal.TestGuest.PAGE;
import static org.lguest.paging.internal.TestGuest.PSE;
import static org.lguest.paging.internal.TestGuest.RW;
import static org.lguest.paging.internal.TestGuest.TABLE;
import static org.lguest.paging.internal.TestGuest.U;

import java.util.List;
import java.util.Optional;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.lguest.api.cpu.GuestMachine;
import org.lguest.api.cpu.HostArea;
import org.lguest.api.paging.GuestPageTables;
import org.lguest.api.paging.GuestPageTables.Fault;

class ShadowPageTablesTest {
    /** 1 MiB of guest RAM. */
    static final long LIMIT = 256;
    static final long KERNEL = 0xC000_0000L;

    private TestGuest g = new TestGuest(LIMIT, 512, 42);

    @AfterEach
    void tearDown() {
        g.close();
    }

    /** A guest directory with a few mappings, loaded with NEW_PGTABLE on CPU 0. */
    private long ownTables() {
        long pgdir = g.newPage();
        g.map(pgdir, 0x0040_0000L, 100, P | RW | U);      // user data
        g.map(pgdir, 0x0040_1000L, 101, P | U);           // user read-only
        g.map(pgdir, KERNEL, 102, P | RW | G);            // kernel data, global
        g.map(pgdir, KERNEL + 0x1000, 103, P);            // kernel read-only
        g.tables.newPgtable(0, pgdir);
        return pgdir;
    }

    // ------------------------------------------------------------- boot

    @Test
    void linearBootMapsEachAddressOntoItsOwnFrame() {
        assertTrue(g.tables.linearMode());
        for (long va : new long[] {0, 0x1234, 0x7_F000, LIMIT * PAGE - 4}) {
            TestGuest.Access read = g.access(0, va, false, false);
            assertEquals(Fault.FILLED, read.fault());
            assertEquals(va, read.phys());
            assertEquals(va, g.tables.guestPhysical(0, va));
        }
        // lguest's linear flags: present, writable (once written), accessed, supervisor + table-flagged directory.
        long root = g.tables.root(0);
        assertEquals(P | A, g.shadowPte(root, 0x1234) & 0xFFF, "a read maps read-only");
        assertEquals(TABLE, g.shadowPde(root, 0x1234) & 0xFFF);
        TestGuest.Access write = g.access(0, 0x1234, true, false);
        assertEquals(1, write.faults(), "the first write faults once more to set dirty");
        assertEquals(P | RW | A | D, g.shadowPte(root, 0x1234) & 0xFFF);
        // lguest's linear entry has no user bit: a ring-3 access is the guest's own fault.
        assertEquals(Fault.GUEST, g.access(0, 0x2000, false, true).fault());
        g.assertInvariant();
        assertTrue(g.kills.isEmpty());
    }

    @Test
    void linearBootDeviceRegionIsForTheLauncher() {
        assertEquals(Fault.DEVICE, g.access(0, LIMIT * PAGE, false, false).fault());
        assertEquals(Fault.DEVICE, g.access(0, 0xE000_0000L, true, false).fault());
        assertEquals(Fault.DEVICE, g.access(0, GuestMachine.SWITCHER_ADDRESS - 1, false, false).fault());
        assertEquals(0, g.shadowPte(g.tables.root(0), LIMIT * PAGE), "no shadow entry for device memory");
        assertEquals(0xE000_0000L, g.tables.guestPhysical(0, 0xE000_0000L), "the MMIO address, for the Launcher");
        g.assertInvariant();
        assertTrue(g.kills.isEmpty());
    }

    @Test
    void aKilledGuestStaysKilledWithItsFirstReason() {
        g.tables.setPgd(0, -1);
        assertEquals(List.of("Attempt to set pgd 4294967295/1024"), g.kills);
        assertEquals(Fault.KILLED, g.tables.demandPage(0, 0x1000, 0), "dead stays dead");
        assertEquals(-1, g.tables.guestPhysical(0, 0x1000));
        g.tables.setPte(0, GuestMachine.SWITCHER_ADDRESS, 0);
        assertEquals(1, g.kills.size(), "the first reason is the one");
        g.assertInvariant();
    }

    @Test
    void linearBootSwitcherAddressIsTheGuestsFault() {
        assertEquals(Fault.GUEST, g.tables.demandPage(0, GuestMachine.SWITCHER_ADDRESS, 2));
        assertEquals(Fault.GUEST, g.tables.demandPage(0, 0xFFFF_FFFFL, 0));
        assertTrue(g.kills.isEmpty());
    }

    // ------------------------------------------------------- own tables

    @Test
    void ownTablesTranslateAndLinearMappingsGo() {
        g.access(0, 0x5000, true, false); // a linear mapping from boot
        long pgdir = ownTables();
        assertFalse(g.tables.linearMode());
        long root = g.tables.root(0);
        assertEquals(0, g.shadowPde(root, 0x5000), "boot mappings are thrown away");

        assertEquals(Fault.GUEST, g.access(0, 0x5000, false, false).fault(), "not mapped by the guest");
        assertEquals(100L * PAGE + 0x10, g.access(0, 0x0040_0010L, false, true).phys());
        assertEquals(101L * PAGE, g.access(0, 0x0040_1000L, false, true).phys());
        assertEquals(102L * PAGE + 0xFFC, g.access(0, KERNEL + 0xFFC, true, false).phys());
        assertEquals(103L * PAGE, g.access(0, KERNEL + 0x1000, false, false).phys());

        assertEquals(100L * PAGE + 0x10, g.tables.guestPhysical(0, 0x0040_0010L));
        assertEquals(0, g.shadowPte(root, KERNEL) & G, "the global bit never reaches a shadow");
        g.assertInvariant();
        assertTrue(g.kills.isEmpty());
        assertNotEquals(0, pgdir);
    }

    @Test
    void accessedAndDirtyGoBackToTheGuestsEntry() {
        long pgdir = ownTables();
        long va = 0x0040_0000L;
        assertEquals(P | RW | U, g.guestPte(pgdir, va) & 0xFFF);
        g.access(0, va, false, true);
        assertEquals(P | RW | U | A, g.guestPte(pgdir, va) & 0xFFF, "a read sets accessed");
        assertEquals(0, g.shadowPte(g.tables.root(0), va) & RW, "and maps read-only");
        TestGuest.Access write = g.access(0, va, true, true);
        assertEquals(1, write.faults());
        assertEquals(P | RW | U | A | D, g.guestPte(pgdir, va) & 0xFFF, "a write sets dirty");
        assertEquals(RW, g.shadowPte(g.tables.root(0), va) & RW);
    }

    @Test
    void guestPhysicalKillsForUnmappedAddresses() {
        ownTables();
        assertEquals(-1, g.tables.guestPhysical(0, 0x0800_0000L));
        assertEquals(List.of("Bad address 0x8000000"), g.kills);
    }

    @Test
    void guestPhysicalKillsForUnmappedPageInMappedTable() {
        ownTables();
        assertEquals(-1, g.tables.guestPhysical(0, 0x0040_2000L));
        assertEquals(List.of("Bad address 0x402000"), g.kills);
    }

    // ------------------------------------------------------ protection

    @Test
    void protectionViolationsAreTheGuestsFaults() {
        long pgdir = ownTables();
        long root = g.tables.root(0);
        assertEquals(Fault.GUEST, g.access(0, 0x0040_1000L, true, true).fault(), "write to read-only");
        assertEquals(Fault.GUEST, g.access(0, KERNEL + 0x1000, true, false).fault(), "kernel write to read-only");
        assertEquals(Fault.GUEST, g.access(0, KERNEL, false, true).fault(), "user read of a kernel page");
        assertEquals(Fault.GUEST, g.access(0, 0x0040_2000L, false, false).fault(), "table entry not present");
        assertEquals(Fault.GUEST, g.access(0, 0x0800_0000L, false, false).fault(), "directory entry not present");
        assertEquals(0, g.shadowPte(root, 0x0040_1000L), "a refused fault maps nothing");
        assertEquals(0, g.shadowPte(root, KERNEL));
        assertEquals(0, g.guestPte(pgdir, KERNEL) & A, "nor marks the guest's entry");

        // The directory level counts too: a read-only, supervisor directory entry over a
        // writable user page refuses user access and writes (the MMU would).
        long va = 0x0080_0000L;
        g.map(pgdir, va, 110, P | RW | U);
        g.write(TestGuest.pdeAddress(pgdir, va), g.read(TestGuest.pdeAddress(pgdir, va)) & ~(RW | U));
        assertEquals(Fault.GUEST, g.access(0, va, true, false).fault());
        assertEquals(Fault.GUEST, g.access(0, va, false, true).fault());
        assertEquals(110L * PAGE, g.access(0, va, false, false).phys());
        assertTrue(g.kills.isEmpty());
        g.assertInvariant();
    }

    @Test
    void directoryFlagsChangedWithoutSetPgdDoNotLivelock() {
        long pgdir = ownTables();
        long va = 0x0040_0000L;
        long pde = TestGuest.pdeAddress(pgdir, va);
        int original = g.read(pde);
        g.write(pde, original & ~(RW | U)); // read-only, supervisor
        assertEquals(100L * PAGE, g.access(0, va, false, false).phys());
        g.write(pde, original); // back to writable, user: the guest forgets SET_PGD
        TestGuest.Access write = g.access(0, va, true, true);
        assertEquals(Fault.FILLED, write.fault());
        assertEquals(1, write.faults(), "one fault refreshes the shadow directory entry");
        assertTrue(g.kills.isEmpty());
        g.assertInvariant();
    }

    // ----------------------------------------------------- the frame limit

    @Test
    void aFrameAtTheLimitIsDeviceMemory() {
        long pgdir = ownTables();
        g.map(pgdir, 0x0100_0000L, LIMIT, P | RW);
        g.map(pgdir, 0x0100_1000L, 0xEFFFF, P | RW);
        assertEquals(Fault.DEVICE, g.access(0, 0x0100_0000L, true, false).fault());
        assertEquals(Fault.DEVICE, g.access(0, 0x0100_1000L, false, false).fault());
        assertEquals(LIMIT * PAGE + 0x24, g.tables.guestPhysical(0, 0x0100_0024L), "the MMIO address");
        assertEquals(0, g.shadowPte(g.tables.root(0), 0x0100_0000L));
        assertEquals(0, g.guestPte(pgdir, 0x0100_0000L) & A);
        assertTrue(g.kills.isEmpty());
        g.assertInvariant();
    }

    @Test
    void aFrameInTheHostAreaKills() {
        long pgdir = ownTables();
        g.map(pgdir, 0x0100_0000L, GuestMachine.HOST_AREA_BASE >>> 12, P | RW);
        assertEquals(Fault.KILLED, g.access(0, 0x0100_0000L, false, false).fault());
        assertEquals(List.of("bad page table entry"), g.kills);
        assertEquals(0, g.shadowPte(g.tables.root(0), 0x0100_0000L));
        g.assertInvariant();
    }

    @Test
    void aTableBeyondTheLimitKills() {
        long pgdir = ownTables();
        g.write(TestGuest.pdeAddress(pgdir, 0x0200_0000L), (int) (LIMIT * PAGE) | TABLE);
        assertEquals(Fault.KILLED, g.access(0, 0x0200_0000L, false, false).fault());
        assertEquals(List.of("bad page directory entry"), g.kills);
        g.assertInvariant();
    }

    @Test
    void aDirectoryOutsideRamKills() {
        g.tables.newPgtable(0, LIMIT * PAGE - 0x800); // the entry for 0x80000000 lies past the limit
        assertEquals(Fault.GUEST, g.access(0, 0x1000, false, false).fault(), "the first half is RAM (zeroed)");
        assertEquals(Fault.KILLED, g.access(0, 0x8000_0000L, false, false).fault());
        assertEquals(List.of("bad read address 0x100000 len 4"), g.kills);
        g.assertInvariant();
    }

    @Test
    void setPteNeverInstallsAFrameAtOrPastTheLimit() {
        long pgdir = ownTables();
        long va = 0x0040_0000L;
        g.access(0, va, true, true); // a shadow table exists for the slot now
        long root = g.tables.root(0);
        g.tables.setPte(pgdir, va + 0x3000, (LIMIT << 12) | P | RW | A | D);
        assertEquals(0, g.shadowPte(root, va + 0x3000), "device memory is never shadowed");
        assertTrue(g.kills.isEmpty());
        g.tables.setPte(pgdir, va + 0x3000, (ShadowPageTables.DEVICE_LIMIT_PFN << 12) | P | RW | A | D);
        assertEquals(0, g.shadowPte(root, va + 0x3000));
        assertEquals(List.of("bad page table entry"), g.kills);
        g.assertInvariant();
    }

    // ---------------------------------------------------------- PSE

    @Test
    void fourMegabytePagesAreRefused() {
        long pgdir = ownTables();
        g.write(TestGuest.pdeAddress(pgdir, 0x0400_0000L), 0x0000_0000 | P | RW | PSE);
        assertEquals(Fault.KILLED, g.access(0, 0x0400_0000L, false, false).fault());
        assertEquals(List.of("bad page directory entry"), g.kills);
        g.assertInvariant();
    }

    @Test
    void thePseBitInATableEntryIsRefused() {
        long pgdir = ownTables();
        g.map(pgdir, 0x0040_5000L, 105, P | RW | PSE);
        assertEquals(Fault.KILLED, g.access(0, 0x0040_5000L, false, false).fault());
        assertEquals(List.of("bad page table entry"), g.kills);
        g.assertInvariant();
    }

    @Test
    void directoryFlagsOutsidePageTableAreRefused() {
        long pgdir = ownTables();
        int pde = g.read(TestGuest.pdeAddress(pgdir, 0x0040_0000L));
        g.write(TestGuest.pdeAddress(pgdir, 0x0040_0000L), pde | 0x200); // an "available" bit
        assertEquals(Fault.KILLED, g.access(0, 0x0040_0000L, false, false).fault());
        assertEquals(List.of("bad page directory entry"), g.kills);
    }

    // ------------------------------------------------------- switcher

    @Test
    void theSwitcherSlotIsAlwaysTheSwitchersEntry() {
        long pgdir = ownTables();
        // Whatever the guest writes in its own slot 1023 is never read.
        g.write(TestGuest.pdeAddress(pgdir, GuestMachine.SWITCHER_ADDRESS), 0x0000_1000 | TABLE);
        g.write(0x1000, 0x0000_5000 | P | RW | U);
        assertEquals(Fault.GUEST, g.access(0, GuestMachine.SWITCHER_ADDRESS, false, false).fault());
        assertEquals(0, g.guestPte(pgdir, GuestMachine.SWITCHER_ADDRESS) & A);

        g.tables.setPgd(pgdir, GuestMachine.SWITCHER_PGD_INDEX);
        g.tables.setPmd(pgdir, 0xFFFF_F000L);
        g.tables.flushUserMappings(0);
        g.tables.clearAll();
        for (int i = 0; i < 10; i++) {
            g.tables.newPgtable(0, g.newPage());
        }
        for (long root : g.tables.shadowRoots()) {
            assertEquals(g.switcherPde, g.shadowPde(root, GuestMachine.SWITCHER_ADDRESS));
        }
        assertTrue(g.kills.isEmpty());
        g.assertInvariant();

        g.tables.setPte(pgdir, GuestMachine.SWITCHER_ADDRESS + 0x2000, 0x5000 | P | A);
        assertEquals(List.of("attempt to set pte into Switcher pages"), g.kills);
    }

    @Test
    void aLaterSwitcherEntryReachesEveryDirectory() {
        var fresh = new TestGuest(LIMIT, 64, 1);
        try {
            for (int i = 0; i < 3; i++) {
                fresh.tables.newPgtable(0, fresh.newPage());
            }
            fresh.tables.setSwitcherEntry(0x1234_5000 | P);
            for (long root : fresh.tables.shadowRoots()) {
                assertEquals(0x1234_5000 | P, fresh.shadowPde(root, GuestMachine.SWITCHER_ADDRESS));
            }
        } finally {
            fresh.close();
        }
    }

    @Test
    void setPgdOutOfRangeKills() {
        long pgdir = ownTables();
        g.tables.setPgd(pgdir, 1024);
        assertEquals(List.of("Attempt to set pgd 1024/1024"), g.kills);
    }

    // ------------------------------------------------- address spaces

    @Test
    void moreAddressSpacesThanTheCacheHolds() {
        int spaces = 12;
        long va = 0x0800_0000L;
        long[] pgdirs = new long[spaces];
        for (int i = 0; i < spaces; i++) {
            pgdirs[i] = g.newPage();
            g.map(pgdirs[i], va, 120 + i, P | RW | U);
            g.map(pgdirs[i], KERNEL, 200, P | RW | A | D);
        }
        for (int round = 0; round < 5; round++) {
            for (int i = 0; i < spaces; i++) {
                g.tables.newPgtable(0, pgdirs[i]);
                assertEquals((120L + i) * PAGE + 8, g.access(0, va + 8, round % 2 == 0, true).phys(),
                        "space " + i + " round " + round);
                assertEquals(200L * PAGE, g.access(0, KERNEL, true, false).phys());
                assertTrue(g.tables.shadowRoots().length <= ShadowPageTables.LGUEST_PGDIRS);
                g.assertInvariant();
            }
        }
        // Back and forth between two cached spaces: their shadows stay, no faults.
        g.tables.newPgtable(0, pgdirs[spaces - 1]);
        g.tables.newPgtable(0, pgdirs[spaces - 2]);
        assertEquals(0, g.access(0, va, false, true).faults());
        g.tables.newPgtable(0, pgdirs[spaces - 1]);
        assertEquals(0, g.access(0, va, false, true).faults());
        assertEquals(ShadowPageTables.LGUEST_PGDIRS, g.tables.shadowRoots().length);
        assertTrue(g.kills.isEmpty());
    }

    @Test
    void aSwitchSaysWhetherTheShadowWasMadeOrRecycled() {
        assertTrue(g.tables.switchPgtable(0, g.newPage()), "leaving linear mode throws the boot shadow's entries away");
        long[] pgdirs = new long[ShadowPageTables.LGUEST_PGDIRS + 1];
        for (int i = 0; i < pgdirs.length; i++) {
            pgdirs[i] = g.newPage();
        }
        for (int i = 1; i < ShadowPageTables.LGUEST_PGDIRS; i++) {
            assertTrue(g.tables.switchPgtable(0, pgdirs[i]), "a new directory gets a new shadow: " + i);
        }
        for (int i = 1; i < ShadowPageTables.LGUEST_PGDIRS; i++) {
            assertFalse(g.tables.switchPgtable(0, pgdirs[i]), "cached, taken as it is: " + i);
        }
        assertFalse(g.tables.switchPgtable(0, pgdirs[ShadowPageTables.LGUEST_PGDIRS - 1]), "the one it is on");
        assertTrue(g.tables.switchPgtable(0, pgdirs[ShadowPageTables.LGUEST_PGDIRS]), "a fifth: a shadow is recycled");
        assertTrue(g.kills.isEmpty());
    }

    @Test
    void eachCpuKeepsItsDirectoryWhenAnotherSwitches() {
        long va = 0x0800_0000L;
        long[] pgdirs = new long[8];
        for (int i = 0; i < pgdirs.length; i++) {
            pgdirs[i] = g.newPage();
            g.map(pgdirs[i], va, 130 + i, P | RW | U);
        }
        // Five CPUs each on their own directory: more than lguest's four slots.
        for (int cpu = 0; cpu < 5; cpu++) {
            g.tables.newPgtable(cpu, pgdirs[cpu]);
            g.access(cpu, va, false, true);
        }
        for (int i = 0; i < 50; i++) {
            g.tables.newPgtable(4, pgdirs[5 + i % 3]); // CPU 4 switches round, evicting what it may
            for (int cpu = 0; cpu < 4; cpu++) {
                assertEquals((130L + cpu) * PAGE, g.access(cpu, va, false, true).phys());
            }
            assertEquals((130L + 5 + i % 3) * PAGE, g.access(4, va, false, true).phys());
        }
        assertEquals(5, g.tables.shadowRoots().length, "one slot beyond lguest's four, not more");
        g.assertInvariant();
    }

    @Test
    void aCpuThatHasNeverRunStartsOnTheFirstDirectory() {
        long first = ownTables();
        long other = g.newPage();
        g.map(other, 0x0040_0000L, 190, P | RW | U);
        g.tables.newPgtable(0, other);
        // CPU 1 shows up now: it starts where the boot CPU's first NEW_PGTABLE put it.
        assertEquals(100L * PAGE, g.access(1, 0x0040_0000L, false, true).phys());
        assertEquals(190L * PAGE, g.access(0, 0x0040_0000L, false, true).phys());
        assertNotEquals(g.tables.root(0), g.tables.root(1));
        assertNotEquals(0, first);
        assertThrows(IllegalArgumentException.class, () -> g.tables.root(-1));
        assertThrows(IllegalArgumentException.class, () -> g.tables.root(ShadowPageTables.MAX_CPUS));
    }

    @Test
    void duringBootEveryCpuSharesTheLinearShadowAndMovesWithTheFirstDirectory() {
        g.access(1, 0x3000, false, false);
        assertEquals(g.tables.root(0), g.tables.root(1));
        long pgdir = g.newPage();
        g.map(pgdir, 0x3000, 77, P | RW);
        g.tables.newPgtable(1, pgdir);
        assertEquals(77L * PAGE, g.access(0, 0x3000, false, false).phys());
        assertEquals(g.tables.root(0), g.tables.root(1));
    }

    // ------------------------------------------------------- SET_PTE & co

    @Test
    void setPteMapsAndUnmaps() {
        long pgdir = ownTables();
        long va = 0x0040_0000L;
        long root = g.tables.root(0);
        g.access(0, va, false, true);
        // A new mapping the guest marks accessed goes in at once, read-only until dirty.
        g.map(pgdir, va + 0x4000, 140, P | RW | U | A);
        g.tables.setPte(pgdir, va + 0x4000, 140L << 12 | P | RW | U | A);
        assertEquals(140L << 12 | P | U | A, Integer.toUnsignedLong(g.shadowPte(root, va + 0x4000)));
        assertEquals(0, g.access(0, va + 0x4000, false, true).faults());
        // Dirty: writable at once.
        g.map(pgdir, va + 0x4000, 141, P | RW | U | A | D);
        g.tables.setPte(pgdir, va + 0x4000, 141L << 12 | P | RW | U | A | D);
        assertEquals(0, g.access(0, va + 0x4000, true, true).faults());
        assertEquals(141L * PAGE, g.access(0, va + 0x4000, true, true).phys());
        // Neither accessed nor dirty: dropped, faults in later.
        g.map(pgdir, va + 0x4000, 142, P | RW | U);
        g.tables.setPte(pgdir, va + 0x4000, 142L << 12 | P | RW | U);
        assertEquals(0, g.shadowPte(root, va + 0x4000));
        assertEquals(142L * PAGE, g.access(0, va + 0x4000, false, true).phys());
        // Unmapped.
        g.map(pgdir, va + 0x4000, 0, 0);
        g.tables.setPte(pgdir, va + 0x4000, 0);
        assertEquals(0, g.shadowPte(root, va + 0x4000));
        assertEquals(Fault.GUEST, g.access(0, va + 0x4000, false, true).fault());
        // A directory we have no shadow of: nothing is installed; with no kernel address known the
        // address is dropped from the other shadows (it might have been a shared kernel mapping).
        g.tables.setPte(0x7_0000, va, 150L << 12 | P | A);
        TestGuest.Access again = g.access(0, va, false, true);
        assertEquals(1, again.faults());
        assertEquals(100L * PAGE, again.phys());
        g.tables.setKernelAddress(KERNEL);
        g.tables.setPte(0x7_0000, va, 150L << 12 | P | A);
        assertEquals(0, g.access(0, va, false, true).faults(), "with it, other shadows are left alone");
        assertTrue(g.kills.isEmpty());
        g.assertInvariant();
    }

    @Test
    void setPteWithoutKernelAddressDropsTheAddressInOtherShadows() {
        long a = g.newPage();
        long b = g.newPage();
        g.map(a, KERNEL, 160, P | RW);
        g.map(b, KERNEL, 160, P | RW);
        g.tables.newPgtable(0, a);
        g.access(0, KERNEL, false, false);
        g.tables.newPgtable(0, b);
        g.access(0, KERNEL, false, false);
        long rootA = g.tables.shadowRoots()[0];
        assertNotEquals(0, g.shadowPte(rootA, KERNEL));
        g.tables.setPte(b, KERNEL, 161L << 12 | P | RW | A);
        assertEquals(0, g.shadowPte(rootA, KERNEL), "stale in A otherwise, if it was a kernel mapping");
        assertEquals(161L << 12 | P | A, Integer.toUnsignedLong(g.shadowPte(g.tables.root(0), KERNEL)));
    }

    @Test
    void withAKernelAddressKernelMappingsAreSharedAndKept() {
        g.tables.setKernelAddress(KERNEL);
        long a = g.newPage();
        long b = g.newPage();
        long kernelTable = g.newPage();
        for (long pgdir : new long[] {a, b}) {
            g.write(TestGuest.pdeAddress(pgdir, KERNEL), (int) kernelTable | TABLE);
        }
        g.map(a, KERNEL, 170, P | RW);
        g.map(a, 0x1000, 171, P | RW | U);
        g.map(b, 0x1000, 172, P | RW | U);
        g.tables.newPgtable(0, a);
        g.access(0, KERNEL, false, false);
        g.access(0, 0x1000, false, true);
        g.tables.newPgtable(0, b);
        g.access(0, KERNEL, false, false);
        long rootA = g.tables.shadowRoots()[0];
        long rootB = g.tables.root(0);

        // A kernel SET_PTE naming either directory changes every shadow.
        g.write(TestGuest.pteAddress((int) kernelTable | TABLE, KERNEL), 173 << 12 | P | RW | A | D);
        g.tables.setPte(a, KERNEL, 173L << 12 | P | RW | A | D);
        assertEquals(173L * PAGE, g.translate(rootA, KERNEL, true, false));
        assertEquals(173L * PAGE, g.translate(rootB, KERNEL, true, false));
        // A user SET_PTE changes only the named one.
        g.tables.setPte(b, 0x1000, 0);
        assertEquals(171L * PAGE, g.translate(rootA, 0x1000, false, true));

        // FLUSH_TLB drops user mappings, keeps kernel ones.
        g.tables.newPgtable(0, a);
        g.tables.flushUserMappings(0);
        assertEquals(-1, g.translate(rootA, 0x1000, false, true));
        assertEquals(173L * PAGE, g.translate(rootA, KERNEL, false, false));
        // clearAll drops everything.
        g.tables.clearAll();
        assertEquals(-1, g.translate(rootA, KERNEL, false, false));
        assertEquals(-1, g.translate(rootB, KERNEL, false, false));
        assertTrue(g.kills.isEmpty());
        g.assertInvariant();
    }

    @Test
    void withoutAKernelAddressFlushDropsEverythingButTheSwitcher() {
        long pgdir = ownTables();
        g.access(0, KERNEL, false, false);
        g.access(0, 0x0040_0000L, false, true);
        g.tables.flushUserMappings(0);
        long root = g.tables.root(0);
        assertEquals(-1, g.translate(root, KERNEL, false, false));
        assertEquals(-1, g.translate(root, 0x0040_0000L, false, true));
        assertEquals(g.tables.shadowRoots().length, g.tables.pagesInUse(), "only the directory is left");
        assertNotEquals(0, pgdir);
        g.assertInvariant();
    }

    @Test
    void kernelAddressInTheSwitcherKills() {
        g.tables.setKernelAddress(GuestMachine.SWITCHER_ADDRESS);
        assertEquals(List.of("bad kernel address 0xffc00000"), g.kills);
    }

    @Test
    void setPgdAndSetPmdDropTheDirectoryEntry() {
        long pgdir = ownTables();
        long root = g.tables.root(0);
        g.access(0, 0x0040_0000L, false, true);
        g.access(0, KERNEL, false, false);
        int before = g.tables.pagesInUse();
        g.tables.setPgd(pgdir, 1);
        assertEquals(0, g.shadowPde(root, 0x0040_0000L));
        assertEquals(before - 1, g.tables.pagesInUse());
        g.tables.setPmd(pgdir, KERNEL + 0x3456);
        assertEquals(0, g.shadowPde(root, KERNEL));
        assertEquals(before - 2, g.tables.pagesInUse());
        // And they fault back in from whatever the guest says now.
        g.map(pgdir, 0x0040_0000L, 180, P | U);
        assertEquals(180L * PAGE, g.access(0, 0x0040_0000L, false, true).phys());
        g.assertInvariant();
    }

    // ------------------------------------------------------ lifecycle

    @Test
    void closeReturnsEveryPage() {
        int baseline = g.hostBaseline;
        long pgdir = ownTables();
        for (int i = 0; i < 8; i++) {
            long other = g.newPage();
            g.map(other, (long) i << 22, 150 + i, P | RW);
            g.tables.newPgtable(0, other);
            g.access(0, (long) i << 22, true, false);
        }
        g.tables.newPgtable(0, pgdir);
        g.access(0, KERNEL, false, false);
        assertTrue(g.host.pagesInUse() > baseline + 4);
        g.tables.close();
        assertEquals(baseline, g.host.pagesInUse());
        assertEquals(0, g.tables.pagesInUse());
        g.tables.close(); // idempotent
        assertThrows(IllegalStateException.class, () -> g.tables.root(0));
    }

    @Test
    void runningOutOfHostPagesKills() {
        HostArea small = new HostArea(2);
        long other = small.allocatePage(); // someone else's page: there is nothing to reclaim
        var ram = java.lang.foreign.Arena.ofAuto().allocate(LIMIT * PAGE, PAGE);
        List<String> kills = new java.util.ArrayList<>();
        var tables = new ShadowPageTables(new GuestMachine(ram, LIMIT, small), kills::add,
                new java.util.SplittableRandom(1));
        assertEquals(Fault.KILLED, tables.demandPage(0, 0x1000, 0));
        assertEquals(List.of("out of memory allocating pte page"), kills);
        tables.close();
        assertEquals(1, small.pagesInUse());
        small.freePage(other);
        small.close();
    }

    @Test
    void aFullHostAreaCostsShadowsNotTheGuest() {
        // 16 pages: the switcher's, four directories, and eleven tables to share.
        var small = new TestGuest(0x400, 16, 7);
        try {
            long[] pgdirs = new long[4];
            for (int i = 0; i < pgdirs.length; i++) {
                pgdirs[i] = small.newPage();
                for (int slot = 0; slot < 16; slot++) {
                    small.map(pgdirs[i], (long) slot << 22, 0x100 + slot * 8 + i, P | RW);
                }
            }
            for (int round = 0; round < 3; round++) {
                for (int i = 0; i < pgdirs.length; i++) {
                    small.tables.newPgtable(0, pgdirs[i]);
                    for (int slot = 0; slot < 16; slot++) {
                        assertEquals((0x100L + slot * 8 + i) * PAGE, small.access(0, (long) slot << 22, true, false).phys());
                    }
                    small.assertInvariant();
                }
            }
            assertTrue(small.kills.isEmpty(), () -> "killed: " + small.kills);
            assertTrue(small.tables.reclaims() > 0);
        } finally {
            small.close();
        }
    }

    @Test
    void theServiceCreatesIndependentTables() {
        var manager = new ShadowPageTableManager();
        HostArea area = new HostArea(16);
        var ram = java.lang.foreign.Arena.ofAuto().allocate(LIMIT * PAGE, PAGE);
        GuestMachine machine = new GuestMachine(ram, LIMIT, area);
        try (GuestPageTables one = manager.create(machine, r -> { });
                GuestPageTables two = manager.create(machine, r -> { })) {
            assertNotEquals(one.root(0), two.root(0));
            assertEquals(2, area.pagesInUse());
        }
        assertEquals(0, area.pagesInUse());
        area.close();
    }

    @Test
    void addressesAreThirtyTwoBits() {
        long pgdir = ownTables();
        // Bits above 31 are not part of an i386 address: they are ignored, as a 32-bit register would.
        assertEquals(100L * PAGE + 0x10, g.tables.guestPhysical(0, 0x1_0040_0010L));
        assertEquals(Fault.FILLED, g.tables.demandPage(0, 0x1_0040_0000L, 4));
        assertEquals(100L * PAGE, g.translate(g.tables.root(0), 0x0040_0000L, false, true));
        int shadows = g.tables.shadowRoots().length;
        g.tables.newPgtable(0, pgdir | 0x1_0000_0000L);
        assertEquals(shadows, g.tables.shadowRoots().length, "the same directory, the same shadow");
        assertEquals(100L * PAGE, g.translate(g.tables.root(0), 0x0040_0000L, false, true));
        assertEquals(Optional.empty(), g.tables.deathReason());
    }
}
