package org.lguest.cpu.x86.internal;

import static java.lang.foreign.ValueLayout.JAVA_INT;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.locks.LockSupport;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.lguest.api.cpu.GuestMachine;
import org.lguest.api.cpu.HostArea;
import org.lguest.api.cpu.PortIo;
import org.lguest.api.cpu.Reg;
import org.lguest.api.cpu.VcpuException;
import org.lguest.api.cpu.VcpuExit;
import org.lguest.api.cpu.VcpuState;

/** Guest CPUs on the real Unicorn, with tiny hand-assembled guests. */
class UnicornVcpuTest {
    private static final int CODE = 0x1000;
    private static final int HYPERCALL = 0x1F, GP = 13, PF = 14;
    private static final int INT_1F = 0xCD, INT_ARG = 0x1F;

    private TestGuest guest;

    @BeforeEach
    void boot() throws VcpuException {
        guest = new TestGuest();
    }

    @AfterEach
    void shutDown() {
        guest.close();
    }

    @Test
    void entersTheGuestAtRing1() throws VcpuException {
        guest.code(CODE, 0xFA); // cli: privileged at ring 1 with IOPL 0

        VcpuExit exit = guest.vcpu.run();

        assertEquals(VcpuExit.trap(GP, 0, 0, CODE), exit);
        assertEquals(TestGuest.KERNEL_CS, guest.reg(Reg.CS));
        assertEquals(TestGuest.KERNEL_DS, guest.reg(Reg.SS));
        assertEquals(TestGuest.KERNEL_DS, guest.reg(Reg.DS));
        assertEquals(GP, guest.reg(Reg.TRAPNUM));
    }

    @Test
    void hypercallsRoundTripWithResultsInEax() throws VcpuException {
        guest.code(CODE, 0x89, 0xC3, INT_1F, INT_ARG, 0xEB, 0xFA); // 1: mov %eax,%ebx; int $0x1f; jmp 1b
        for (int i = 1; i <= 10_000; i++) {
            guest.set(Reg.EAX, i);
            VcpuExit exit = guest.vcpu.run();
            assertEquals(VcpuExit.softwareInterrupt(HYPERCALL, CODE + 4), exit, "EIP is past the int");
            assertEquals(i, guest.reg(Reg.EBX), "the guest saw the value the host put in EAX");
        }
    }

    @Test
    void anyNumberOfFaultsInARowArriveAsThemselves() throws VcpuException {
        int[] code = new int[42];
        java.util.Arrays.fill(code, 0xFA);
        code[40] = INT_1F;
        code[41] = INT_ARG;
        guest.code(CODE, code);
        for (int i = 0; i < 40; i++) {
            VcpuExit exit = guest.vcpu.run();
            assertEquals(VcpuExit.trap(GP, 0, 0, CODE + i), exit, "fault " + i);
            guest.set(Reg.EIP, guest.reg(Reg.EIP) + 1); // the host skips the instruction
        }
        assertTrue(guest.vcpu.run().isTrap(HYPERCALL));
    }

    @Test
    void pageFaultsCarryAddressAndErrorCodeAndRetryAfterTheFill() throws VcpuException {
        for (int page = 0x200; page < 0x230; page++) {
            guest.pte(page * 4096L, 0);
        }
        // 1: mov (%ebx),%eax; add $0x1000,%ebx; jmp 1b
        guest.code(CODE, 0x8B, 0x03, 0x81, 0xC3, 0x00, 0x10, 0x00, 0x00, 0xEB, 0xF6);
        guest.set(Reg.EBX, 0x200000);
        for (int i = 0; i < 0x30; i++) {
            VcpuExit exit = guest.vcpu.run();
            long address = 0x200000 + i * 4096L;
            assertEquals(VcpuExit.trap(PF, 0, address, CODE), exit, "fault " + i);
            assertEquals(address, guest.state.cr2());
            guest.pte(address, (int) address | TestGuest.PRESENT | TestGuest.WRITABLE | TestGuest.USER);
        }
    }

    @Test
    void writesToReadOnlyPagesFaultAtRing1() throws VcpuException {
        guest.pte(0x5000, 0x5000 | TestGuest.PRESENT);
        guest.code(CODE, movlOneTo(0x5000));

        assertEquals(VcpuExit.trap(PF, 3, 0x5000, CODE), guest.vcpu.run());
    }

    @Test
    void theGuestCannotWriteTheHostArea() throws VcpuException {
        long tables = ((UnicornVcpu) guest.vcpu).switcher().tables; // GDT, TSS, entry frame
        assertEquals(VcpuExit.trap(PF, 3, tables, CODE), guest.code(CODE, movlOneTo(tables)).vcpu.run(), "read-only");
        assertEquals(VcpuExit.trap(PF, 2, guest.directory, CODE + 0x100),
                guest.code(CODE + 0x100, movlOneTo(guest.directory)).vcpu.run(), "shadow page tables are not even present");
    }

    private static int[] movlOneTo(long address) {
        return new int[] { 0xC7, 0x05, (int) address & 0xFF, (int) (address >> 8) & 0xFF, (int) (address >> 16) & 0xFF,
                (int) (address >> 24) & 0xFF, 0x01, 0x00, 0x00, 0x00 };
    }

    @Test
    void anInvalidOpcodeIsATrapForTheGuestNotAnEngineFailure() throws VcpuException {
        guest.code(CODE, 0x0F, 0x0B, 0x0F, 0x0B); // ud2; ud2
        assertEquals(VcpuExit.trap(6, 0, 0, CODE), guest.vcpu.run());
        guest.state.regs().set(org.lguest.api.cpu.Reg.EIP, (int) CODE + 2);
        assertEquals(VcpuExit.trap(6, 0, 0, CODE + 2), guest.vcpu.run(), "and again: nothing escalates");
    }

    @Test
    void intSixIsASoftwareInterruptWithEipPastIt() throws VcpuException {
        guest.code(CODE, 0xCD, 0x06, 0xCD, 0x06); // int $6; int $6
        assertEquals(VcpuExit.softwareInterrupt(6, CODE + 2), guest.vcpu.run(), "the Host decides by the gate's DPL, as for any int n");
        assertEquals(CODE + 2, guest.reg(Reg.EIP));
        assertEquals(VcpuExit.softwareInterrupt(6, CODE + 4), guest.vcpu.run(), "and it resumes past it");
    }

    @Test
    void theGuestCannotUseTheEntryGate() throws VcpuException {
        guest.code(CODE, 0x9A, 0, 0, 0, 0, 0x07, 0x00); // lcall $0x07,$0: the entry gate's selector
        assertEquals(VcpuExit.trap(GP, 0x04, 0, CODE), guest.vcpu.run(), "no LDT while the guest runs");
    }

    @Test
    void aKickStopsASpinningGuestPromptly() throws Exception {
        guest.code(CODE, 0xEB, 0xFE); // jmp .
        for (int round = 0; round < 3; round++) {
            Thread kicker = Thread.ofPlatform().start(() -> {
                sleep(30);
                guest.vcpu.kick();
            });
            long start = System.nanoTime();
            VcpuExit exit = guest.vcpu.run();
            kicker.join();
            assertEquals(VcpuExit.Kind.KICKED, exit.kind());
            assertEquals(CODE, exit.eip());
            assertTrue(Duration.ofNanos(System.nanoTime() - start).toMillis() < 2_000);
        }
        guest.vcpu.kick();
        assertEquals(VcpuExit.kicked(CODE), guest.vcpu.run(), "a kick before the run makes it return at once");
    }

    /**
     * lguest.itest/README.md, fuzz finding 1: a kick that landed in the middle of a
     * translated block made the engine resume at a stale EIP, so an
     * instruction already done ran again. A register and a memory word are
     * counted up together in two blocks while another thread kicks; at every
     * stop they must agree.
     */
    @Test
    void kicksFromAnotherThreadNeverRepeatAnInstruction() throws Exception {
        int word = 0x8000;
        guest.code(CODE,
                0x41,                                  // inc %ecx
                0xFF, 0x05, 0x00, 0x80, 0x00, 0x00,    // incl 0x8000
                0xEB, 0x00,                            // jmp .+2: a second block
                0xA1, 0x00, 0x80, 0x00, 0x00,          // mov 0x8000,%eax
                0x39, 0xC8,                            // cmp %ecx,%eax
                0x75, 0x02,                            // jne out
                0xEB, 0xEC,                            // jmp CODE
                INT_1F, INT_ARG);                      // out: a hypercall ends the run
        guest.set(Reg.ECX, 0);
        var stop = new AtomicBoolean();
        Thread kicker = Thread.ofPlatform().start(() -> {
            while (!stop.get()) {
                guest.vcpu.kick();
                LockSupport.parkNanos(20_000);
            }
        });
        try {
            for (int kicks = 0; kicks < 3_000; kicks++) {
                VcpuExit exit = guest.vcpu.run();
                int counted = guest.ram.get(JAVA_INT, word);
                assertEquals(VcpuExit.Kind.KICKED, exit.kind(), () -> "after " + counted + " steps: " + exit);
                assertEquals(counted, guest.reg(Reg.ECX), "the register and the memory word count together");
            }
        } finally {
            stop.set(true);
            kicker.join();
        }
    }

    @Test
    void aNewEngineResumesFromTheRegisterFile() throws VcpuException {
        guest.code(CODE, 0x40, INT_1F, INT_ARG, 0xEB, 0xFB); // 1: inc %eax; int $0x1f; jmp 1b
        guest.set(Reg.EAX, 100);
        guest.set(Reg.ESI, 0x5151);
        for (int i = 1; i <= 3; i++) {
            guest.vcpu.run();
        }
        assertEquals(103, guest.reg(Reg.EAX));

        guest.replaceEngine();
        guest.installSwitcher(guest.directory);

        assertTrue(guest.vcpu.run().isTrap(HYPERCALL));
        assertEquals(104, guest.reg(Reg.EAX));
        assertEquals(0x5151, guest.reg(Reg.ESI));
        assertEquals(TestGuest.KERNEL_CS, guest.reg(Reg.CS));
    }

    @Test
    void theHostMovesTheGuestBetweenRing3AndRing1() throws VcpuException {
        guest.code(0x3000, 0xCD, 0x80);            // user: int $0x80
        guest.code(0x2000, INT_1F, INT_ARG);       // kernel handler: int $0x1f
        guest.code(CODE, INT_1F, INT_ARG);         // kernel: first stop
        guest.vcpu.run();

        // Enter user mode, as the guest's own iret would.
        guest.set(Reg.CS, TestGuest.USER_CS);
        guest.set(Reg.SS, TestGuest.USER_DS);
        guest.set(Reg.DS, TestGuest.USER_DS);
        guest.set(Reg.ES, TestGuest.USER_DS);
        guest.set(Reg.EIP, 0x3000);
        guest.set(Reg.ESP, 0x7000);
        VcpuExit syscall = guest.vcpu.run();
        assertEquals(VcpuExit.softwareInterrupt(0x80, 0x3002), syscall);
        assertEquals(TestGuest.USER_CS, guest.reg(Reg.CS));

        // Deliver it to the guest kernel, as the Host core does with a trap from user mode.
        guest.set(Reg.CS, TestGuest.KERNEL_CS);
        guest.set(Reg.SS, TestGuest.KERNEL_DS);
        guest.set(Reg.DS, TestGuest.KERNEL_DS);
        guest.set(Reg.ES, TestGuest.KERNEL_DS);
        guest.set(Reg.EIP, 0x2000);
        guest.set(Reg.ESP, 0x9000);
        assertEquals(VcpuExit.softwareInterrupt(HYPERCALL, 0x2002), guest.vcpu.run());
        assertEquals(TestGuest.KERNEL_CS, guest.reg(Reg.CS));
        assertEquals(0x9000, guest.reg(Reg.ESP));
    }

    @Test
    void flushTlbDropsStaleTranslations() throws VcpuException {
        guest.ram.set(java.lang.foreign.ValueLayout.JAVA_INT, 0x300000, 0x1234);
        guest.code(CODE, 0xA1, 0x00, 0x00, 0x30, 0x00, INT_1F, INT_ARG, 0xEB, 0xF7); // 1: mov 0x300000,%eax; int $0x1f; jmp 1b
        assertTrue(guest.vcpu.run().isTrap(HYPERCALL));
        assertEquals(0x1234, guest.reg(Reg.EAX));

        guest.pte(0x300000, 0);
        guest.vcpu.flushTlb();
        assertEquals(VcpuExit.trap(PF, 0, 0x300000, CODE), guest.vcpu.run());
    }

    @Test
    void aNewPageTableRootTakesEffect() throws VcpuException {
        guest.code(CODE, 0xA1, 0x00, 0x00, 0x30, 0x00, INT_1F, INT_ARG, 0xEB, 0xF7);
        assertTrue(guest.vcpu.run().isTrap(HYPERCALL));

        long other = guest.hostArea.allocatePage(); // maps only the switcher
        guest.installSwitcher(other);
        guest.state.pageTableRoot(other);
        VcpuExit exit = guest.vcpu.run();
        assertEquals(VcpuExit.trap(PF, 0, CODE + 7, CODE + 7), exit, "not even the code is mapped now");
    }

    @Test
    void gdtEntriesFollowLguestsRules() throws VcpuException {
        long[] gdt = guest.state.gdt();
        assertNull(guest.vcpu.loadGdtEntry(20, Descriptors.flatData(0) & ~Descriptors.ACCESSED));
        assertEquals(1, Descriptors.dpl(gdt[20]), "privilege 0 becomes the guest's ring");
        assertTrue((gdt[20] & Descriptors.ACCESSED) != 0, "accessed bit preset");
        assertNull(guest.vcpu.loadGdtEntry(21, Descriptors.flatData(3)));
        assertEquals(3, Descriptors.dpl(gdt[21]));
        assertEquals("too many gdt entries 32", guest.vcpu.loadGdtEntry(32, 0));
        assertTrue(guest.vcpu.loadGdtEntry(5, Descriptors.callGate(0x50, 0, 3)).contains("system descriptor"));
        assertNull(guest.vcpu.loadTls(new long[] { Descriptors.flatData(0), 0, Descriptors.flatData(3) }));
        assertEquals(1, Descriptors.dpl(gdt[6]));
        assertTrue(guest.vcpu.loadTls(new long[] { 0, 0 }).contains("3 entries"));
    }

    @Test
    void theSwitchersOwnGdtSlotsStayTheHosts() throws VcpuException {
        // The guest loads a ring-3 segment over LGUEST_DS; the switcher keeps its own.
        assertNull(guest.vcpu.loadGdtEntry(GdtRules.GDT_ENTRY_LGUEST_DS, Descriptors.flatData(3)));
        guest.set(Reg.FS, GdtRules.GDT_ENTRY_LGUEST_DS * 8 | 1);
        guest.code(CODE, INT_1F, INT_ARG);

        VcpuExit exit = guest.vcpu.run();

        assertEquals(VcpuExit.SWITCHER_FAILED, exit.vector(), "the ring-0 segment cannot be loaded for ring 1");
        guest.set(Reg.FS, TestGuest.KERNEL_DS);
        assertTrue(guest.vcpu.run().isTrap(HYPERCALL), "the CPU recovers once the state is sane");
    }

    @Test
    void aNewGdtEntryIsUsedByTheGuest() throws VcpuException {
        guest.code(CODE, 0xB8, 0xA3, 0x00, 0x00, 0x00, 0x8E, 0xE0, INT_1F, INT_ARG); // mov $0xa3,%eax; mov %eax,%fs; int $0x1f
        assertEquals(VcpuExit.trap(GP, 0xA0, 0, CODE + 5), guest.vcpu.run(), "entry 20 is empty");

        assertNull(guest.vcpu.loadGdtEntry(20, Descriptors.flatData(3)));
        assertTrue(guest.vcpu.run().isTrap(HYPERCALL));
        assertEquals(0xA3, guest.reg(Reg.FS));
    }

    @Test
    void theHostCannotPutTheGuestAtRing0OrRaiseIopl() throws VcpuException {
        guest.code(CODE, 0x9C, 0x58, INT_1F, INT_ARG); // pushf; pop %eax; int $0x1f
        guest.set(Reg.CS, TestGuest.KERNEL_CS & ~3);
        guest.set(Reg.SS, TestGuest.KERNEL_DS & ~3);
        guest.set(Reg.EFLAGS, 0x3202 | 1 << 17); // IOPL 3, VM

        assertTrue(guest.vcpu.run().isTrap(HYPERCALL));
        assertEquals(TestGuest.KERNEL_CS, guest.reg(Reg.CS));
        assertEquals(0x202, guest.reg(Reg.EAX) & 0x23202, "IOPL and VM cleared, IF kept");
    }

    @Test
    void aDirectoryWithoutTheSwitcherIsReportedClearly() throws VcpuException {
        long bare = guest.hostArea.allocatePage();
        guest.state.pageTableRoot(bare);
        guest.code(CODE, INT_1F, INT_ARG);

        VcpuException e = assertThrows(VcpuException.class, guest.vcpu::run);
        assertTrue(e.getMessage().contains("switcherEntry"), e.getMessage());
    }

    @Test
    void runningWithoutPageTablesIsRefused() {
        guest.state.pageTableRoot(0);
        assertThrows(VcpuException.class, guest.vcpu::run);
    }

    @Test
    void codeTheHostRewritesRunsAfterInvalidation() throws VcpuException {
        guest.code(CODE, 0xB8, 1, 0, 0, 0, INT_1F, INT_ARG); // mov $1,%eax; int $0x1f
        guest.vcpu.run();
        guest.code(CODE, 0xB8, 2, 0, 0, 0, INT_1F, INT_ARG); // the host loads other code at the same place
        guest.vcpu.run();
        assertEquals(1, guest.reg(Reg.EAX), "Unicorn still runs its old translation");

        guest.vcpu.invalidateCode(CODE, 7);
        guest.set(Reg.EIP, CODE);
        guest.vcpu.run();
        assertEquals(2, guest.reg(Reg.EAX));
    }

    @Test
    void sseWorksAsUnderALinuxHost() throws VcpuException {
        // pcmpeqd %xmm0,%xmm0; movd %xmm0,%eax; int $0x1f: #UD (6) unless CR4.OSFXSR is set
        // (Unicorn's reset sets it too; the backend sets it, and OSXMMEXCPT, whatever the default).
        guest.code(CODE, 0x66, 0x0F, 0x76, 0xC0, 0x66, 0x0F, 0x7E, 0xC0, INT_1F, INT_ARG);
        assertTrue(guest.vcpu.run().isTrap(HYPERCALL));
        assertEquals(0xFFFF_FFFF, guest.reg(Reg.EAX));
    }

    @Test
    void withoutAPortHandlerEveryPortIsAbsent() throws VcpuException {
        // Unicorn never faults on in/out: out is dropped, in reads all ones.
        guest.code(CODE, 0x31, 0xC0, 0xE6, 0x80, 0x66, 0xED, INT_1F, INT_ARG); // xor %eax,%eax; out %al,$0x80; in (%dx),%ax; int $0x1f
        assertTrue(guest.vcpu.run().isTrap(HYPERCALL));
        assertEquals(0xFFFF, guest.reg(Reg.EAX));
    }

    /** Owns ports 0x70-0x77; an in answers 0xCAFEBA00 plus the port; every access is recorded. */
    private static class Ports implements PortIo {
        final List<String> accesses = new ArrayList<>();

        @Override
        public boolean owns(int port) {
            return port >= 0x70 && port < 0x78;
        }

        @Override
        public int in(int port, int size) {
            accesses.add(String.format("in %x/%d", port, size));
            return 0xCAFE_BA00 | port;
        }

        @Override
        public void out(int port, int size, int value) {
            accesses.add(String.format("out %x/%d=%x", port, size, value));
        }
    }

    @Test
    void inPutsTheHandlersAnswerInTheLowBytesOfEaxAndKeepsTheRest() throws VcpuException {
        Ports ports = new Ports();
        guest.vcpu.portIo(ports);
        guest.set(Reg.EAX, 0x1122_3344);
        guest.code(CODE, 0xE4, 0x71, 0x89, 0xC3,   // in $0x71,%al; mov %eax,%ebx
                0x66, 0xE5, 0x72, 0x89, 0xC1,       // in $0x72,%ax; mov %eax,%ecx
                0xE5, 0x74, 0x89, 0xC6,             // in $0x74,%eax; mov %eax,%esi
                INT_1F, INT_ARG);

        assertTrue(guest.vcpu.run().isTrap(HYPERCALL));
        assertEquals(0x1122_3371, guest.reg(Reg.EBX));
        assertEquals(0x1122_BA72, guest.reg(Reg.ECX));
        assertEquals(0xCAFE_BA74, guest.reg(Reg.ESI));
        assertEquals(List.of("in 71/1", "in 72/2", "in 74/4"), ports.accesses);
    }

    @Test
    void theDxFormsReachThePortInDx() throws VcpuException {
        Ports ports = new Ports();
        guest.vcpu.portIo(ports);
        guest.set(Reg.EDX, 0x0001_0076); // only DX counts
        guest.set(Reg.EAX, 0x5566_7788);
        guest.code(CODE, 0xEE, 0x66, 0xEF, 0xEF,   // out %al,(%dx); out %ax,(%dx); out %eax,(%dx)
                0xEC, 0x89, 0xC3,                   // in (%dx),%al; mov %eax,%ebx
                0x66, 0xED, 0x89, 0xC1,             // in (%dx),%ax; mov %eax,%ecx
                0xED,                               // in (%dx),%eax
                INT_1F, INT_ARG);

        assertTrue(guest.vcpu.run().isTrap(HYPERCALL));
        assertEquals(List.of("out 76/1=88", "out 76/2=7788", "out 76/4=55667788", "in 76/1", "in 76/2", "in 76/4"), ports.accesses);
        assertEquals(0x5566_7776, guest.reg(Reg.EBX));
        assertEquals(0x5566_BA76, guest.reg(Reg.ECX));
        assertEquals(0xCAFE_BA76, guest.reg(Reg.EAX));
    }

    @Test
    void outHandsOverTheLowBytesOfEax() throws VcpuException {
        Ports ports = new Ports();
        guest.vcpu.portIo(ports);
        guest.set(Reg.EAX, 0x1122_3344);
        guest.code(CODE, 0xE6, 0x71, 0x66, 0xE7, 0x72, 0xE7, 0x74, INT_1F, INT_ARG); // out %al,$0x71; out %ax,$0x72; out %eax,$0x74

        assertTrue(guest.vcpu.run().isTrap(HYPERCALL));
        assertEquals(List.of("out 71/1=44", "out 72/2=3344", "out 74/4=11223344"), ports.accesses);
    }

    @Test
    void portsTheHandlerDoesNotOwnReadAllOnesAndDropWrites() throws VcpuException {
        Ports ports = new Ports();
        guest.vcpu.portIo(ports);
        guest.set(Reg.EAX, 0);
        guest.code(CODE, 0xE6, 0x80, 0x66, 0xE7, 0x80, 0xE7, 0x80,   // out to 0x80 in all three sizes
                0xE4, 0x80, 0x89, 0xC3,                               // in $0x80,%al; mov %eax,%ebx
                0x31, 0xC0, 0x66, 0xE5, 0x80, 0x89, 0xC1,             // xor %eax,%eax; in $0x80,%ax; mov %eax,%ecx
                0xE5, 0x80,                                           // in $0x80,%eax
                INT_1F, INT_ARG);

        assertTrue(guest.vcpu.run().isTrap(HYPERCALL));
        assertEquals(0xFF, guest.reg(Reg.EBX));
        assertEquals(0xFFFF, guest.reg(Reg.ECX));
        assertEquals(0xFFFF_FFFF, guest.reg(Reg.EAX));
        assertEquals(List.of(), ports.accesses, "the handler is asked only about its own ports");
    }

    @Test
    void aPortHandlerThatFailsEndsTheRunWithTheEngineNamingThePort() {
        guest.vcpu.portIo(new Ports() {
            @Override
            public int in(int port, int size) {
                throw new IllegalStateException("broken device");
            }
        });
        guest.code(CODE, 0xE4, 0x71, INT_1F, INT_ARG);
        VcpuException e = assertThrows(VcpuException.class, guest.vcpu::run);
        assertTrue(e.getMessage().contains("port 0x71") && e.getMessage().contains("broken device"), e.getMessage());
    }

    // Unicorn 2.1 translates through the shadow tables: what replaced mapping guest RAM a second time at each virtual address.

    private static final long HIGH = 0xC000_0000L;

    @Test
    void aPageMappedAwayFromItsFrameReadsWritesAndRunsThatFrame() throws VcpuException {
        guest.pte(HIGH, TestGuest.mapping(0x10_0000));
        guest.pte(HIGH + 0x1000, TestGuest.mapping(0x10_1000));
        guest.pte(0x30_0000, TestGuest.mapping(0x10_0000)); // inside RAM too: the frame, not RAM at 0x300000
        guest.ram.set(JAVA_INT, 0x10_0000, 0xAAAA);
        guest.ram.set(JAVA_INT, 0x30_0000, 0xBAD);
        guest.code(0x10_1000, 0xBB, 0xDE, 0xC0, 0, 0, INT_1F, INT_ARG);         // at frame 0x101000: mov $0xc0de,%ebx; int $0x1f
        guest.code(CODE, 0xA1, 0x00, 0x00, 0x00, 0xC0,                          // mov 0xc0000000,%eax
                0xC7, 0x05, 0x04, 0x00, 0x00, 0xC0, 0x78, 0x56, 0x34, 0x12,     // movl $0x12345678,0xc0000004
                0x8B, 0x15, 0x04, 0x00, 0x30, 0x00,                             // mov 0x300004,%edx
                0xB9, 0x00, 0x10, 0x00, 0xC0, 0xFF, 0xE1);                      // mov $0xc0001000,%ecx; jmp *%ecx

        assertEquals(VcpuExit.softwareInterrupt(HYPERCALL, HIGH + 0x1007), guest.vcpu.run());
        assertEquals(0xAAAA, guest.reg(Reg.EAX));
        assertEquals(0x1234_5678, guest.ram.get(JAVA_INT, 0x10_0004), "the write landed in the frame");
        assertEquals(0x1234_5678, guest.reg(Reg.EDX), "0x300000 maps the same frame");
        assertEquals(0xC0DE, guest.reg(Reg.EBX), "the code ran from the frame");
    }

    @Test
    void codeRewrittenThroughOneAddressIsSeenThroughAnother() throws VcpuException {
        guest.pte(HIGH + 0x1000, TestGuest.mapping(0x10_1000));
        guest.pte(HIGH + 0x2000, TestGuest.mapping(0x10_1000));
        guest.code(0x10_1000, 0xB8, 1, 0, 0, 0, 0xC3);                         // mov $1,%eax; ret
        guest.code(CODE, 0xB9, 0x00, 0x10, 0x00, 0xC0, 0xFF, 0xD1, 0x89, 0xC3, // mov $0xc0001000,%ecx; call *%ecx; mov %eax,%ebx
                0xC6, 0x05, 0x01, 0x20, 0x00, 0xC0, 0x02,                      // movb $2,0xc0002001 (the immediate, through the other address)
                0xFF, 0xD1, INT_1F, INT_ARG);                                  // call *%ecx; int $0x1f

        assertTrue(guest.vcpu.run().isTrap(HYPERCALL));
        assertEquals(1, guest.reg(Reg.EBX));
        assertEquals(2, guest.reg(Reg.EAX), "the rewritten code ran");
    }

    /**
     * Unicorn 2.1.1 marks a frame's code as written only through translations
     * cached after the frame first ran as code: a write through another
     * address whose translation was cached before that leaves the old code
     * running. A TLB flush (which a guest does after changing mappings)
     * makes the write count. README.md, "What it does".
     */
    @Test
    void codeWrittenThroughAnAddressCachedBeforeItRanIsSeenAfterATlbFlush() throws VcpuException {
        guest.pte(HIGH + 0x1000, TestGuest.mapping(0x10_1000));
        guest.code(CODE, 0xC7, 0x05, 0x00, 0x10, 0x00, 0xC0, 0xB8, 1, 0, 0,   // movl $0x1b8,0xc0001000 (mov $1,%eax...)
                0xC6, 0x05, 0x04, 0x10, 0x00, 0xC0, 0x00,                     // movb $0,0xc0001004
                0xC6, 0x05, 0x05, 0x10, 0x00, 0xC0, 0xC3,                     // movb $0xc3,0xc0001005 (ret)
                0xB9, 0x00, 0x10, 0x10, 0x00, 0xFF, 0xD1, 0x89, 0xC3,         // mov $0x101000,%ecx; call *%ecx; mov %eax,%ebx
                0xC6, 0x05, 0x01, 0x10, 0x00, 0xC0, 0x02,                     // movb $2,0xc0001001
                0xFF, 0xD1, INT_1F, INT_ARG,                                  // call *%ecx; int $0x1f
                0xC6, 0x05, 0x01, 0x10, 0x00, 0xC0, 0x03,                     // movb $3,0xc0001001
                0xFF, 0xD1, INT_1F, INT_ARG);                                 // call *%ecx; int $0x1f

        assertTrue(guest.vcpu.run().isTrap(HYPERCALL));
        assertEquals(1, guest.reg(Reg.EBX));
        assertEquals(1, guest.reg(Reg.EAX), "Unicorn 2.1.1 runs the old code: if this fails, the limitation is gone");
        guest.vcpu.flushTlb();
        assertTrue(guest.vcpu.run().isTrap(HYPERCALL));
        assertEquals(3, guest.reg(Reg.EAX), "after the flush the write through the alias counts");
    }

    @Test
    void aNotPresentPageAboveTheMappingFaultsWithItsAddressAndRunsOnceFilled() throws VcpuException {
        guest.pte(HIGH, TestGuest.mapping(0x10_0000));
        guest.ram.set(JAVA_INT, 0x10_5000, 0x5555);
        guest.code(CODE, 0xA1, 0x00, 0x50, 0x00, 0xC0,                         // mov 0xc0005000,%eax
                0xC7, 0x05, 0x00, 0x00, 0x00, 0xD0, 1, 0, 0, 0,                // movl $1,0xd0000000 (no page table there)
                INT_1F, INT_ARG);

        assertEquals(VcpuExit.trap(PF, 0, HIGH + 0x5000, CODE), guest.vcpu.run());
        assertEquals(HIGH + 0x5000, guest.state.cr2());
        guest.pte(HIGH + 0x5000, TestGuest.mapping(0x10_5000));
        guest.vcpu.pageFilled(HIGH + 0x5000);
        assertEquals(VcpuExit.trap(PF, 2, 0xD000_0000L, CODE + 5), guest.vcpu.run(), "a write fault, after the read went through");
        assertEquals(0x5555, guest.reg(Reg.EAX));
    }

    @Test
    void aTlbFlushAfterAShadowChangeTakesEffect() throws VcpuException {
        guest.pte(HIGH, TestGuest.mapping(0x10_0000));
        guest.ram.set(JAVA_INT, 0x10_0000, 0x1111);
        guest.ram.set(JAVA_INT, 0x10_2000, 0x2222);
        guest.code(CODE, 0xA1, 0x00, 0x00, 0x00, 0xC0, INT_1F, INT_ARG, 0xEB, 0xF7); // 1: mov 0xc0000000,%eax; int $0x1f; jmp 1b
        assertTrue(guest.vcpu.run().isTrap(HYPERCALL));
        assertEquals(0x1111, guest.reg(Reg.EAX));

        guest.pte(HIGH, TestGuest.mapping(0x10_2000));
        assertTrue(guest.vcpu.run().isTrap(HYPERCALL));
        assertEquals(0x1111, guest.reg(Reg.EAX), "without a flush the engine keeps its cached translation, as a CPU does");
        guest.vcpu.flushTlb();
        assertTrue(guest.vcpu.run().isTrap(HYPERCALL));
        assertEquals(0x2222, guest.reg(Reg.EAX));
    }

    @Test
    void aShadowEntryToAFrameWithNoMemoryIsAnEngineErrorNamingIt() {
        guest.pte(HIGH, TestGuest.mapping(0x80_0000)); // past the 4 MiB of RAM, below the host area
        guest.code(CODE, 0xA1, 0x00, 0x00, 0x00, 0xC0, INT_1F, INT_ARG);
        VcpuException e = assertThrows(VcpuException.class, guest.vcpu::run);
        assertTrue(e.getMessage().contains("0x800000"), e.getMessage());
    }

    @Test
    void aMappingFilledWithoutAFlushIsSeenAtTheNextAccess() throws VcpuException {
        guest.ram.set(java.lang.foreign.ValueLayout.JAVA_INT, 0x5000, 0xC0DE);
        guest.code(CODE + 0x100, INT_1F, INT_ARG);
        guest.vcpu.run();
        // A directory entry for 4-8 MiB that reuses the low table, without pageFilled or flushTlb (another CPU's fill, say).
        guest.hostArea.page(guest.directory).setAtIndex(java.lang.foreign.ValueLayout.JAVA_INT, 1, (int) guest.lowTable | 7);
        guest.code(CODE, 0xA1, 0x00, 0x50, 0x40, 0x00, INT_1F, INT_ARG); // mov 0x405000,%eax

        assertTrue(guest.vcpu.run().isTrap(HYPERCALL));
        assertEquals(0xC0DE, guest.reg(Reg.EAX), "0x405000 maps frame 5");
    }

    @Test
    void guestRamIsSharedWithoutCopies() throws VcpuException {
        guest.code(CODE, 0xC7, 0x05, 0x00, 0x60, 0x00, 0x00, 0x78, 0x56, 0x34, 0x12, INT_1F, INT_ARG); // movl $0x12345678,0x6000
        guest.vcpu.run();
        assertEquals(0x12345678, guest.ram.get(java.lang.foreign.ValueLayout.JAVA_INT, 0x6000));
    }

    @Test
    void twoCpusOfOneGuestShareRamAndTheSwitcherTable() throws VcpuException {
        try (var second = TestGuest.BACKEND.create(guest.machine, new VcpuState(1))) {
            assertEquals(guest.vcpu.switcherEntry(), second.switcherEntry());
        }
        try (Arena arena = Arena.ofConfined(); HostArea other = new HostArea(4)) {
            GuestMachine machine = new GuestMachine(arena.allocate(1 << 20, 4096), 256, other);
            try (var cpu = TestGuest.BACKEND.create(machine, new VcpuState(0))) {
                assertTrue(other.contains(Integer.toUnsignedLong(cpu.switcherEntry()) & ~0xFFFL), "each guest gets its own switcher table");
            }
        }
    }

    @Test
    void misalignedRamIsRefused() {
        MemorySegment odd = guest.arena.allocate(2 << 20, 4096).asSlice(16, 1 << 20);
        GuestMachine machine = new GuestMachine(odd, 16, guest.hostArea);
        assertThrows(VcpuException.class, () -> TestGuest.BACKEND.create(machine, new VcpuState(2)));
    }

    private static void sleep(long millis) {
        try {
            Thread.sleep(millis);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
