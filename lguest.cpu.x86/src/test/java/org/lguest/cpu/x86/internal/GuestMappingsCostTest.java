package org.lguest.cpu.x86.internal;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;
import org.lguest.api.cpu.Reg;
import org.lguest.api.cpu.VcpuException;
import org.lguest.api.cpu.VcpuExit;

/** What keeping the engine's memory map in line with the shadow tables costs. Prints; asserts no times. */
class GuestMappingsCostTest {

    @Test
    void costs() throws VcpuException {
        try (TestGuest guest = new TestGuest()) {
            UnicornVcpu cpu = (UnicornVcpu) guest.vcpu;
            GuestMappings mappings = cpu.mappings();
            guest.code(0x1000, 0xCD, 0x1F, 0xEB, 0xFC); // 1: int $0x1f; jmp 1b
            cpu.run();
            long root = guest.directory;

            int fills = 5_000_000;
            long start = 0;
            for (int round = 0; round < 3; round++) {
                start = System.nanoTime();
                for (int i = 0; i < fills; i++) {
                    cpu.pageFilled((long) (i % 1023 + 1) << 12);
                }
            }
            double perFill = (System.nanoTime() - start) / (double) fills;
            long calls = mappings.unicornCalls();
            assertFalse(mappings.reconcile(root), "identity fills leave nothing to do");
            assertEquals(calls, mappings.unicornCalls());

            double walk4 = walk(mappings, root);

            int trips = 200_000;
            for (int round = 0; round < 2; round++) {
                start = System.nanoTime();
                for (int i = 0; i < trips; i++) {
                    cpu.run();
                }
            }
            double trip = (System.nanoTime() - start) / (double) trips;
            double flushed = flushAndRun(cpu, 500);
            System.out.printf("[measure] 4 MiB guest: pageFilled of an identity page %.1f ns; full walk of 1023 present entries %.1f us; "
                    + "hypercall round trip %.0f ns; flushTlb + hypercall %.1f us%n", perFill, walk4, trip, flushed);
        }

        try (TestGuest big = new TestGuest(16384, 64)) { // 64 MiB: 16 page tables, 16383 present entries
            UnicornVcpu cpu = (UnicornVcpu) big.vcpu;
            GuestMappings mappings = cpu.mappings();
            big.code(0x1000, 0xCD, 0x1F);
            cpu.run();
            long root = big.directory;
            double walk64 = walk(mappings, root);

            // Demand fills of aliases above RAM (a kernel's linear map, say): one at a time, as the Host core reports them.
            long high = 0xC000_0000L;
            int n = 200;
            long start = System.nanoTime();
            for (int i = 0; i < n; i++) {
                big.pte(high + ((long) i << 12), TestGuest.mapping((0x2000L + i) << 12));
                cpu.pageFilled(high + ((long) i << 12));
                assertTrue(mappings.reconcile(root));
            }
            double fillAlias = (System.nanoTime() - start) / 1e3 / n;
            start = System.nanoTime();
            for (int i = 0; i < n; i++) {
                big.pte(high + ((long) i << 12), 0);
            }
            mappings.flushAll();
            mappings.reconcile(root);
            double dropAlias = (System.nanoTime() - start) / 1e3 / n;

            // Aliases inside RAM: each one punches a hole, and Unicorn rebuilds the region around it.
            StringBuilder punches = new StringBuilder();
            for (int i = 0; i < 8; i++) {
                long vaddr = 0x0100_0000L + ((long) i << 22) + 0x5000;
                big.pte(vaddr, TestGuest.mapping(0x3000L << 12));
                cpu.pageFilled(vaddr);
                start = System.nanoTime();
                mappings.reconcile(root);
                punches.append(String.format(" %.0f", (System.nanoTime() - start) / 1e3));
            }
            StringBuilder restores = new StringBuilder();
            for (int i = 0; i < 8; i++) {
                long vaddr = 0x0100_0000L + ((long) i << 22) + 0x5000;
                big.pte(vaddr, TestGuest.identity(vaddr));
                cpu.pageFilled(vaddr);
                start = System.nanoTime();
                mappings.reconcile(root);
                restores.append(String.format(" %.0f", (System.nanoTime() - start) / 1e3));
            }
            big.code(0x1000, 0xCD, 0x1F);
            assertEquals(VcpuExit.softwareInterrupt(0x1F, 0x1002), cpu.run());
            assertEquals(0, mappings.aliasCount());

            // A root switch between two directories that differ in 500 aliases above RAM.
            long other = big.hostArea.allocatePage();
            big.installSwitcher(other);
            big.pte(other, 0x1000, TestGuest.identity(0x1000));
            for (int i = 0; i < 500; i++) {
                big.pte(other, high + ((long) i << 12), TestGuest.mapping((0x3000L + i) << 12));
            }
            double[] switches = new double[4];
            for (int i = 0; i < switches.length; i++) {
                big.state.pageTableRoot(i % 2 == 0 ? other : root);
                big.set(Reg.EIP, 0x1000);
                start = System.nanoTime();
                assertTrue(cpu.run().isTrap(0x1F));
                switches[i] = (System.nanoTime() - start) / 1e6;
            }
            // With the 500 aliases in place: what a TLB flush and the refills after it cost now.
            big.state.pageTableRoot(other);
            big.code(0x1000, 0xCD, 0x1F, 0xEB, 0xFC); // 1: int $0x1f; jmp 1b
            cpu.run();
            double flushed = flushAndRun(cpu, 200);
            double walk500 = walk(mappings, other);
            // xor %eax,%eax; 1: add (%ebx),%eax; add $0x1000,%ebx; loop 1b; int $0x1f
            big.code(0x1100, 0x31, 0xC0, 0x03, 0x03, 0x81, 0xC3, 0x00, 0x10, 0x00, 0x00, 0xE2, 0xF6, 0xCD, 0x1F);
            double[] touch = new double[2];
            for (int round = 0; round < 6; round++) {
                boolean flush = round % 2 == 1;
                if (flush) {
                    cpu.flushTlb();
                }
                big.set(Reg.EIP, 0x1100);
                big.set(Reg.EBX, (int) high);
                big.set(Reg.ECX, 500);
                start = System.nanoTime();
                assertTrue(cpu.run().isTrap(0x1F));
                touch[flush ? 1 : 0] = (System.nanoTime() - start) / 1e3;
            }
            System.out.printf("[measure] 64 MiB guest, 500 aliases mapped: flushTlb + hypercall %.1f us (of which the walk %.1f us); "
                    + "reading the 500 alias pages %.0f us, after a flushTlb %.0f us%n", flushed, walk500, touch[0], touch[1]);
            System.out.printf("[measure] 64 MiB guest: full walk of 16383 present entries %.1f us; alias above RAM: pageFilled + map "
                    + "%.1f us each, drop %.1f us each; hole punched in RAM (us, region splits get smaller):%s; identity mapped back "
                    + "(us):%s; root switch to/from 500 aliases (ms): %.2f %.2f %.2f %.2f%n", walk64, fillAlias, dropAlias, punches,
                    restores, switches[0], switches[1], switches[2], switches[3]);
        }
    }

    /** Microseconds for flushTlb and one hypercall (a switcher entry with a CR3 load), averaged. */
    private static double flushAndRun(UnicornVcpu cpu, int rounds) throws VcpuException {
        long start = 0;
        for (int round = 0; round < 2; round++) {
            start = System.nanoTime();
            for (int i = 0; i < rounds; i++) {
                cpu.flushTlb();
                cpu.run();
            }
        }
        return (System.nanoTime() - start) / 1e3 / rounds;
    }

    /** Microseconds for a full walk of the directory when nothing changes. */
    private static double walk(GuestMappings mappings, long root) throws VcpuException {
        int rounds = 2_000;
        long start = 0;
        for (int round = 0; round < 3; round++) {
            start = System.nanoTime();
            for (int i = 0; i < rounds; i++) {
                mappings.flushAll();
                mappings.reconcile(root);
            }
        }
        return (System.nanoTime() - start) / 1e3 / rounds;
    }
}
