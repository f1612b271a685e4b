package org.lguest.cpu.x86.internal;

import static java.lang.foreign.ValueLayout.JAVA_INT;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.lguest.api.cpu.GuestMachine;
import org.lguest.api.cpu.Reg;
import org.lguest.api.cpu.VcpuException;
import org.lguest.api.cpu.VcpuExit;

/**
 * Mappings whose virtual page is not their frame, on the real Unicorn
 * 2.0.1, which does not translate: the backend maps guest RAM at those
 * addresses too, following the shadow tables.
 */
class GuestMappingsTest {
    private static final int CODE = 0x1000, HYPERCALL = 0x1F, PF = 14;
    private static final long HIGH = 0x4000_0000L;   // above RAM: necessarily an alias
    private static final long LOW = 0x0030_0000L;    // inside RAM: an alias punches a hole there

    private TestGuest guest;

    @BeforeEach
    void boot() throws VcpuException {
        guest = new TestGuest();
        guest.ram.set(JAVA_INT, 0x200000, 0x1111_1111); // frame 0x200
        guest.ram.set(JAVA_INT, 0x100000, 0x2222_2222); // frame 0x100
        guest.ram.set(JAVA_INT, LOW, 0x3333_3333);      // frame 0x300, LOW's own
    }

    @AfterEach
    void shutDown() {
        guest.close();
    }

    private GuestMappings mappings() {
        return ((UnicornVcpu) guest.vcpu).mappings();
    }

    /** mov (%ebx),%eax; int $0x1f: the dword the guest sees at {@code vaddr}, or the fault. */
    private VcpuExit load(long vaddr) throws VcpuException {
        guest.code(CODE, 0x8B, 0x03, 0xCD, 0x1F);
        guest.set(Reg.EBX, (int) vaddr);
        return guest.vcpu.run();
    }

    private int read(long vaddr) throws VcpuException {
        VcpuExit exit = load(vaddr);
        assertEquals(VcpuExit.softwareInterrupt(HYPERCALL, CODE + 4), exit, () -> String.format("reading %#x", vaddr));
        return guest.reg(Reg.EAX);
    }

    private void write(long vaddr, int value) throws VcpuException {
        VcpuExit exit = store(vaddr, value);
        assertEquals(VcpuExit.softwareInterrupt(HYPERCALL, CODE + 0x104), exit);
    }

    /** mov %ecx,(%ebx); int $0x1f at CODE + 0x100 (code is never rewritten in place: Unicorn would not notice). */
    private VcpuExit store(long vaddr, int value) throws VcpuException {
        guest.code(CODE + 0x100, 0x89, 0x0B, 0xCD, 0x1F);
        guest.set(Reg.EBX, (int) vaddr);
        guest.set(Reg.ECX, value);
        return guest.vcpu.run();
    }

    /** The sum of the first dword of {@code pages} pages from {@code vaddr}, as the guest sees them. */
    private int sum(long vaddr, int pages) throws VcpuException {
        // xor %eax,%eax; 1: add (%ebx),%eax; add $0x1000,%ebx; loop 1b; int $0x1f
        guest.code(CODE + 0x200, 0x31, 0xC0, 0x03, 0x03, 0x81, 0xC3, 0x00, 0x10, 0x00, 0x00, 0xE2, 0xF6, 0xCD, 0x1F);
        guest.set(Reg.EBX, (int) vaddr);
        guest.set(Reg.ECX, pages);
        VcpuExit exit = guest.vcpu.run();
        assertEquals(VcpuExit.softwareInterrupt(HYPERCALL, CODE + 0x20E), exit);
        return guest.reg(Reg.EAX);
    }

    private void mapBoth() {
        guest.pte(HIGH, TestGuest.mapping(0x200000));
        guest.pte(LOW, TestGuest.mapping(0x100000));
        guest.vcpu.flushTlb();
    }

    @Test
    void nonIdentityMappingsReachTheFramesTheTablesName() throws VcpuException {
        mapBoth();

        assertEquals(0x1111_1111, read(HIGH));
        assertEquals(0x2222_2222, read(LOW), "not the RAM at LOW: the frame its entry names");
        assertEquals(0x2222_2222, read(0x100000), "the frame's own identity mapping still works");
        write(HIGH + 4, 0x5A5A_5A5A);
        assertEquals(0x5A5A_5A5A, guest.ram.get(JAVA_INT, 0x200004), "writes through an alias reach the frame");
        assertEquals(2, mappings().aliasCount());
        assertEquals(0x100, mappings().frameAt(LOW));
    }

    @Test
    void eachRootGetsItsOwnMappings() throws VcpuException {
        mapBoth();
        long other = guest.hostArea.allocatePage(); // identity only, and nothing at HIGH
        guest.installSwitcher(other);
        for (long page = 1; page < guest.ramPages; page++) {
            guest.pte(other, page << 12, TestGuest.identity(page << 12));
        }
        assertEquals(0x2222_2222, read(LOW));

        guest.state.pageTableRoot(other);
        assertEquals(0x3333_3333, read(LOW), "LOW is its own page under the other root");
        assertEquals(VcpuExit.trap(PF, 0, HIGH, CODE), load(HIGH));
        assertEquals(0, mappings().aliasCount());

        guest.state.pageTableRoot(guest.directory);
        assertEquals(0x2222_2222, read(LOW));
        assertEquals(0x1111_1111, read(HIGH));
    }

    @Test
    void removedMappingsFaultAndIdentityComesBack() throws VcpuException {
        mapBoth();
        assertEquals(0x1111_1111, read(HIGH));
        assertEquals(0x2222_2222, read(LOW));

        guest.pte(HIGH, 0);
        guest.pte(LOW, 0);
        guest.vcpu.flushTlb();
        assertEquals(VcpuExit.trap(PF, 0, HIGH, CODE), load(HIGH));
        assertEquals(VcpuExit.trap(PF, 0, LOW, CODE), load(LOW));
        assertEquals(0, mappings().aliasCount());

        // The demand fault's fill, as the Host core reports it.
        guest.pte(LOW, TestGuest.identity(LOW));
        guest.vcpu.pageFilled(LOW);
        assertEquals(0x3333_3333, read(LOW), "the identity page is mapped back");
    }

    @Test
    void pageFilledMakesAFilledAliasEffective() throws VcpuException {
        guest.ram.set(JAVA_INT, 0x201000, 0x4444_4444);
        guest.ram.set(JAVA_INT, 0x105000, 0x5555_5555);
        assertEquals(0x3333_3333, read(LOW)); // reconciled once
        assertEquals(VcpuExit.trap(PF, 0, HIGH + 0x1000, CODE), load(HIGH + 0x1000));

        guest.pte(HIGH + 0x1000, TestGuest.mapping(0x201000));
        guest.vcpu.pageFilled(HIGH + 0x1000);
        assertEquals(0x4444_4444, read(HIGH + 0x1000));

        guest.pte(LOW + 0x2000, TestGuest.mapping(0x105000)); // inside RAM, the entry was identity before
        guest.vcpu.pageFilled(LOW + 0x2000);
        assertEquals(0x5555_5555, read(LOW + 0x2000));

        long calls = mappings().unicornCalls();
        guest.pte(0x5000, 0);
        guest.vcpu.flushTlb();
        read(0x6000);
        guest.pte(0x5000, TestGuest.identity(0x5000));
        guest.vcpu.pageFilled(0x5000);
        assertEquals(0, read(0x5000));
        assertEquals(calls, mappings().unicornCalls(), "identity fills and an unchanged walk cost no Unicorn call");
    }

    @Test
    void fiveHundredAliasesAndBack() throws VcpuException {
        int half = 250;
        int expectedHigh = 0, expectedLow = 0, identityLow = 0;
        for (int i = 0; i < half; i++) {
            long highFrame = 0x200 + i, lowFrame = 0x100 + i;
            guest.ram.set(JAVA_INT, highFrame << 12, (int) highFrame * 7 + 1);
            guest.ram.set(JAVA_INT, lowFrame << 12, (int) lowFrame * 7 + 1);
            guest.ram.set(JAVA_INT, LOW + ((long) i << 12), 0x10_0000 + i);
            expectedHigh += (int) highFrame * 7 + 1;
            expectedLow += (int) lowFrame * 7 + 1;
            identityLow += 0x10_0000 + i;
            guest.pte(HIGH + ((long) i << 12), TestGuest.mapping(highFrame << 12));
            guest.pte(LOW + ((long) i << 12), TestGuest.mapping(lowFrame << 12));
        }
        guest.vcpu.flushTlb();
        long start = System.nanoTime();
        assertEquals(expectedHigh, sum(HIGH, half));
        long realize = System.nanoTime() - start;
        assertEquals(expectedLow, sum(LOW, half));
        assertEquals(2 * half, mappings().aliasCount());

        long calls = mappings().unicornCalls();
        guest.vcpu.flushTlb();
        start = System.nanoTime();
        assertEquals(expectedHigh, sum(HIGH, half));
        long unchanged = System.nanoTime() - start;
        assertEquals(calls, mappings().unicornCalls(), "a walk that finds nothing new changes nothing");

        for (int i = 0; i < half; i++) {
            guest.pte(HIGH + ((long) i << 12), 0);
            guest.pte(LOW + ((long) i << 12), TestGuest.identity(LOW + ((long) i << 12)));
        }
        guest.vcpu.flushTlb();
        start = System.nanoTime();
        assertEquals(identityLow, sum(LOW, half), "every hole has its identity page back");
        long drop = System.nanoTime() - start;
        assertEquals(0, mappings().aliasCount());
        assertEquals(VcpuExit.trap(PF, 0, HIGH, CODE), load(HIGH));
        System.out.printf("[measure] 500 aliases (250 above RAM, 250 punched into RAM): realize %.2f ms, walk with nothing to change "
                + "%.3f ms, drop all %.2f ms (each including one run)%n", realize / 1e6, unchanged / 1e6, drop / 1e6);
    }

    @Test
    void corruptShadowTablesAreAnEngineErrorAndMapNothing() throws VcpuException {
        read(LOW);
        guest.pte(HIGH, TestGuest.mapping(0x200000)); // a good entry next to a bad one
        guest.pte(HIGH + 0x1000, TestGuest.mapping((long) guest.ramPages << 12)); // the page-frame limit
        guest.vcpu.flushTlb();

        VcpuException e = assertThrows(VcpuException.class, () -> load(HIGH));
        assertTrue(e.getMessage().contains("page-frame limit"), e.getMessage());
        assertEquals(0, mappings().aliasCount(), "nothing was mapped");
        assertEquals(-1, mappings().frameAt(HIGH));
        assertThrows(VcpuException.class, () -> load(HIGH), "the engine stays refused until the tables are sane");

        guest.pte(HIGH + 0x1000, 0);
        guest.vcpu.flushTlb();
        assertEquals(0x1111_1111, read(HIGH));

        guest.pte(HIGH + 0x2000, 0xFFFF_F000 | 7); // the host area's last page, as a guest frame
        guest.vcpu.pageFilled(HIGH + 0x2000);
        e = assertThrows(VcpuException.class, () -> load(HIGH));
        assertTrue(e.getMessage().contains("page-frame limit"), e.getMessage());
        guest.pte(HIGH + 0x2000, 0);
        guest.vcpu.flushTlb();

        // A directory entry pointing into guest RAM instead of the host area.
        guest.hostArea.page(guest.directory).setAtIndex(JAVA_INT, 0x101, 0x0050_0000 | 7);
        guest.vcpu.flushTlb();
        e = assertThrows(VcpuException.class, () -> load(HIGH));
        assertTrue(e.getMessage().contains("page table 257 lies at 0x500000"), e.getMessage());
        assertEquals(1, mappings().aliasCount(), "the earlier alias stays as it was");
    }

    @Test
    void aCorruptEntryNobodyReportedIsAnEngineErrorNamingTheAddress() throws VcpuException {
        read(LOW);
        guest.pte(HIGH + 0x3000, 0x7FFF_F000 | 7); // not reported: found by the unmapped-memory hook
        VcpuException e = assertThrows(VcpuException.class, () -> load(HIGH + 0x3000));
        assertTrue(e.getMessage().contains("at 0x40003000: the engine has no memory there"), e.getMessage());
        assertEquals(-1, mappings().frameAt(HIGH + 0x3000));
    }

    @Test
    void notPresentPagesAboveRamFaultPrecisely() throws VcpuException {
        // Unicorn looks for memory before it walks the tables: the backend puts a placeholder there so the walk can fault.
        assertEquals(VcpuExit.trap(PF, 0, HIGH + 0x5004, CODE), load(HIGH + 0x5004));
        assertEquals(VcpuExit.trap(PF, 0, 0xE000_0000L, CODE), load(0xE000_0000L), "the device region, say");
        assertEquals(2, mappings().placeholderCount());
        write(LOW, 1); // placeholders survive runs, walks and writes elsewhere
        guest.vcpu.flushTlb();
        assertEquals(VcpuExit.trap(PF, 2, 0xE000_0000L, CODE + 0x100), store(0xE000_0000L, 5), "a write: error code 2");
        guest.set(Reg.EIP, 0xE000_0010); // a jump there faults at the fetch
        assertEquals(VcpuExit.trap(PF, 0, 0xE000_0010L, 0xE000_0010L), guest.vcpu.run());

        guest.pte(HIGH + 0x5000, TestGuest.mapping(0x200000)); // the fill replaces the placeholder
        guest.vcpu.pageFilled(HIGH + 0x5000);
        assertEquals(0x1111_1111, read(HIGH + 0x5000));
        assertEquals(1, mappings().placeholderCount());
        assertEquals(0x200, mappings().frameAt(HIGH + 0x5000));
    }

    @Test
    void placeholdersAreBounded() throws VcpuException {
        int n = GuestMappings.MAX_PLACEHOLDERS + 1;
        for (int i = 0; i < n; i++) {
            assertEquals(PF, load(HIGH + ((long) i << 12)).vector());
        }
        assertEquals(n, mappings().placeholderCount());
        read(LOW);
        assertEquals(0, mappings().placeholderCount(), "past the bound they all go");
        assertEquals(VcpuExit.trap(PF, 0, HIGH, CODE), load(HIGH));
    }

    @Test
    void theSwitcherSlotIsSkipped() throws VcpuException {
        // The switcher's table maps host pages, whose frames lie far above the page-frame limit:
        // walked like a guest table it would be refused, and mapped it would hide the host area.
        guest.vcpu.flushTlb();
        assertEquals(0x3333_3333, read(LOW));
        assertEquals(0, mappings().aliasCount());
        assertEquals(-1, mappings().frameAt(GuestMachine.SWITCHER_ADDRESS));
    }

    @Test
    void codeAtAnAliasIsRetranslatedWhenItsFrameChanges() throws VcpuException {
        putCode(0x200000, 1);
        putCode(0x201000, 2);
        guest.pte(HIGH, TestGuest.mapping(0x200000));
        guest.vcpu.flushTlb();
        assertEquals(1, runAt(HIGH));

        guest.pte(HIGH, TestGuest.mapping(0x201000));
        guest.vcpu.flushTlb();
        assertEquals(2, runAt(HIGH));

        putCode(0x200000, 3); // new contents while the frame was mapped nowhere (no invalidateCode)
        guest.pte(HIGH, TestGuest.mapping(0x200000));
        guest.vcpu.flushTlb();
        assertEquals(3, runAt(HIGH), "mapping a frame drops what was translated from it before");
    }

    @Test
    void invalidateCodeReachesCodeRunThroughAnAlias() throws VcpuException {
        putCode(0x200000, 1);
        guest.pte(HIGH, TestGuest.mapping(0x200000));
        guest.vcpu.flushTlb();
        assertEquals(1, runAt(HIGH));
        putCode(0x200000, 2);
        guest.vcpu.invalidateCode(0x200000, 7);
        assertEquals(2, runAt(HIGH));

        // Now the frame's own address holds another frame: the backend finds the frame through its alias.
        guest.pte(0x200000, TestGuest.mapping(0x150000));
        guest.vcpu.flushTlb();
        assertEquals(2, runAt(HIGH));
        putCode(0x200000, 3);
        guest.vcpu.invalidateCode(0x200000, 7);
        assertEquals(3, runAt(HIGH));
    }

    @Test
    void guestWritesToCodeThroughAnAliasAreNotSeen() throws VcpuException {
        // Unicorn 2.0.1 watches translated code through the RAM block it was keyed by (here: guest RAM at 0);
        // a write through another mapping of the same frame does not drop the translation. See FINDINGS.md.
        putCode(0x200000, 1);
        guest.pte(HIGH, TestGuest.mapping(0x200000));
        guest.vcpu.flushTlb();
        assertEquals(1, runAt(HIGH));

        write(0x200000 + 1, 2); // through the identity mapping: seen (a dword at +1: the mov's immediate)
        assertEquals(2, runAt(HIGH));
        write(HIGH + 1, 3); // through the alias: not seen
        assertEquals(3, guest.ram.get(java.lang.foreign.ValueLayout.JAVA_INT_UNALIGNED, 0x200001));
        assertEquals(2, runAt(HIGH), "Unicorn keeps its old translation (a limitation, not a goal)");
        guest.vcpu.invalidateCode(0x200000, 4096);
        assertEquals(3, runAt(HIGH));
    }

    /** mov $value,%eax; int $0x1f at a physical address. */
    private void putCode(long physical, int value) {
        int[] code = { 0xB8, value, 0, 0, 0, 0xCD, 0x1F };
        for (int i = 0; i < code.length; i++) {
            guest.ram.set(java.lang.foreign.ValueLayout.JAVA_BYTE, physical + i, (byte) code[i]);
        }
    }

    private int runAt(long vaddr) throws VcpuException {
        guest.set(Reg.EIP, (int) vaddr);
        VcpuExit exit = guest.vcpu.run();
        assertEquals(VcpuExit.softwareInterrupt(HYPERCALL, vaddr + 7), exit);
        return guest.reg(Reg.EAX);
    }
}
