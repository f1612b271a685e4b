package org.lguest.device.internal;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.lang.foreign.ValueLayout;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.lguest.api.abi.Errno;
import org.lguest.api.abi.LguestData;
import org.lguest.api.abi.Lhcall;
import org.lguest.api.abi.Lhreq;
import org.lguest.api.cpu.Reg;
import org.lguest.api.cpu.VcpuExit;
import org.lguest.api.paging.GuestPageTables.Fault;

/** lguest_arch_handle_trap(): what each way out of the guest turns into. */
@Timeout(10)
class TrapTest {
    static final long STACK = 0x9000;
    /** Where the guest is after the setup (0x2000 plus three hypercalls' worth). */
    static final int EIP = 0x2004;
    private final Rig rig = new Rig();

    @BeforeEach
    void boot() {
        rig.boot();
        rig.backend.then(Rig.doing(s -> s.regs().set(Reg.ESP, (int) STACK)));
        assertEquals(EIP, rig.reg(Reg.EIP));
    }

    @AfterEach
    void close() {
        rig.close();
    }

    private static long handler(int vector) {
        return 0x3000 + vector * 0x10L;
    }

    private void handle(int... vectors) {
        handleAt(0, vectors);
    }

    /** Gates of privilege level {@code dpl}: "int n" reaches them from that level and below. */
    private void handleAt(int dpl, int... vectors) {
        for (int v : vectors) {
            rig.backend.then(Rig.idt(v, handler(v), 0xE, dpl));
        }
        rig.backend.then(s -> {
            s.regs().set(Reg.EIP, EIP);
            return VcpuExit.kicked(EIP);
        });
    }

    /** Runs {@code trap}, then a step that records the registers, then a NOTIFY. */
    private int[] afterTrap(FakeBackend.Step trap) {
        int[] seen = new int[4];
        rig.backend.then(trap, s -> {
            seen[0] = s.regs().get(Reg.EIP);
            seen[1] = s.regs().get(Reg.ESP);
            seen[2] = s.regs().get(Reg.TRAPNUM);
            seen[3] = s.regs().get(Reg.ERRCODE);
            return VcpuExit.kicked(0);
        }, Rig.hcall(Lhcall.NOTIFY, 0xF00D));
        Rig.Read r = rig.read();
        assertEquals(8, r.n(), () -> "died: " + rig.guest().dead());
        assertEquals(0xF00D, r.word());
        return seen;
    }

    private String dies(FakeBackend.Step trap) {
        rig.backend.then(trap);
        assertEquals(-Errno.ENOENT, rig.read().n());
        return rig.read(256).string();
    }

    // Page faults

    @Test
    void aFaultTheShadowsFillIsInvisibleToTheGuest() {
        handle(14);
        int[] seen = afterTrap(Rig.trap(14, 2, 0xC000_1000L));
        assertEquals(EIP, seen[0], "re-run at the same instruction");
        assertEquals((int) STACK, seen[1]);
        assertTrue(rig.paging.last().calls.contains("demand 0 c0001000 2"));
        assertTrue(rig.backend.last().filled.contains(0xC000_1000L), "the engine hears of the fill");
        assertEquals(0xC000_1000L, rig.cpu().lastPagefault);
        assertEquals(0, rig.get32(Rig.DATA + LguestData.CR2));
    }

    @Test
    void aFaultTheGuestsTablesForbidIsReflectedWithCr2AndTheErrorCode() {
        handle(14);
        rig.paging.last().answer(Fault.GUEST);
        int[] seen = afterTrap(Rig.trap(14, 6, 0xC000_1000L));
        assertEquals((int) handler(14), seen[0]);
        assertEquals((int) STACK - 16, seen[1], "eflags, cs, eip and the error code");
        assertEquals(6, rig.get32(STACK - 16), "error code");
        assertEquals(EIP, rig.get32(STACK - 12));
        assertEquals(0xC000_1000, rig.get32(Rig.DATA + LguestData.CR2));
        assertEquals(0xC000_1000L, rig.state().cr2());
        assertEquals(14, seen[2], "trapnum");
        assertEquals(6, seen[3], "errcode");
    }

    @Test
    void aGuestFaultWithoutAHandlerKills() {
        rig.paging.last().answer(Fault.GUEST);
        assertEquals("unhandled trap 14 at 0x2004 (0xc0001000)", dies(Rig.trap(14, 6, 0xC000_1000L)));
    }

    @Test
    void aFaultInDeviceMemoryGoesToTheLauncher() {
        rig.paging.last().answer(Fault.DEVICE);
        rig.paging.last().translate = v -> v == 0xE000_0010L ? 0x0004_0010L : v;
        rig.putBytes(EIP, (byte) 0x8B, (byte) 0x05, (byte) 0x10, (byte) 0, (byte) 0, (byte) 0xE0, (byte) 0x90);
        rig.backend.then(Rig.trap(14, 0, 0xE000_0010L));
        Rig.Read r = rig.read();
        assertEquals(12, r.n());
        assertEquals(14, r.at(0));
        assertArrayEquals(new byte[] {(byte) 0x8B, 5, 0x10, 0, 0, (byte) 0xE0, (byte) 0x90},
            r.buffer().asSlice(1, 7).toArray(ValueLayout.JAVA_BYTE));
        assertEquals(0x0004_0010, r.u32(8), "the guest-physical device address");
        assertEquals(EIP, rig.reg(Reg.EIP), "the Launcher emulates it");
        assertEquals(0, rig.get32(Rig.DATA + LguestData.CR2), "4.x leaves cr2 alone for the Launcher's faults");
        // The next read clears it and runs on.
        rig.backend.then(Rig.hcall(Lhcall.NOTIFY, 5));
        assertEquals(5, rig.read().word());
        assertNull(rig.cpu().pendingTrap);
    }

    @Test
    void aPendingTrapTheBufferCannotTakeIsEfault() {
        rig.paging.last().answer(Fault.DEVICE);
        rig.backend.then(Rig.trap(14, 0, 0x10L));
        assertEquals(-Errno.EFAULT, rig.file.read(rig.buffer(11), 0));
    }

    @Test
    void aFaultThePageTablesKillForKills() {
        rig.paging.last().killOnFault = "bad page directory entry";
        assertEquals("bad page directory entry", dies(Rig.trap(14, 0, 0x10L)));
    }

    // General protection faults

    @ParameterizedTest
    @ValueSource(strings = {"e4 60", "e5 60", "ec", "ed", "e6 80", "e7 80", "ee", "ef", "66 ed", "66 e5 60"})
    void anIoInstructionGoesToTheLauncherWithItsBytes(String hex) {
        byte[] insn = new byte[7];
        String[] parts = hex.split(" ");
        for (int i = 0; i < parts.length; i++) {
            insn[i] = (byte) Integer.parseInt(parts[i], 16);
        }
        rig.putBytes(EIP, insn);
        rig.backend.then(Rig.trap(13, 0, 0));
        Rig.Read r = rig.read();
        assertEquals(12, r.n());
        assertEquals(13, r.at(0));
        assertArrayEquals(insn, r.buffer().asSlice(1, 7).toArray(ValueLayout.JAVA_BYTE));
        assertEquals(0, r.u32(8));
        assertEquals(EIP, rig.reg(Reg.EIP));
    }

    /** The bytes at EIP handed over with a #GP(0): 4.x's Host decodes none of them itself. */
    private byte[] handedOver(byte... bytes) {
        byte[] insn = new byte[7];
        System.arraycopy(bytes, 0, insn, 0, bytes.length);
        rig.putBytes(EIP, insn);
        rig.backend.then(Rig.trap(13, 0, 0));
        Rig.Read r = rig.read();
        assertEquals(12, r.n(), () -> "died: " + rig.guest().dead());
        assertEquals(13, r.at(0));
        assertEquals(EIP, rig.reg(Reg.EIP), "the Host moves nothing");
        return r.buffer().asSlice(1, 7).toArray(ValueLayout.JAVA_BYTE);
    }

    @Test
    void cliGoesToTheLauncherToo() {
        assertArrayEquals(new byte[] {(byte) 0xFA, (byte) 0x90, 0, 0, 0, 0, 0}, handedOver((byte) 0xFA, (byte) 0x90));
    }

    @Test
    void anyOtherProtectionFaultWithErrorCodeZeroGoesToTheLauncher() {
        handle(13);
        // mov %eax,%cr3: nothing the Launcher emulates, but deciding that is its job.
        assertArrayEquals(new byte[] {0x0F, 0x22, (byte) 0xD8, 0, 0, 0, 0}, handedOver((byte) 0x0F, (byte) 0x22, (byte) 0xD8));
        // Handed back with LHREQ_TRAP, it reaches the guest's handler with error code 0.
        assertEquals(0, rig.write(Lhreq.TRAP, 13));
        assertEquals((int) handler(13), rig.reg(Reg.EIP));
        assertEquals(0, rig.get32(STACK - 16), "error code 0 pushed");
        assertEquals(EIP, rig.get32(STACK - 12), "at the faulting instruction");
    }

    @Test
    void aProtectionFaultHandedBackWithoutAHandlerIsEinval() {
        handedOver((byte) 0x0F, (byte) 0x22, (byte) 0xD8);
        assertEquals(-Errno.EINVAL, rig.write(Lhreq.TRAP, 13));
    }

    @Test
    void aProtectionFaultWithAnErrorCodeIsNeverEmulated() {
        handle(13);
        rig.putBytes(EIP, (byte) 0xE4, (byte) 0x60);
        int[] seen = afterTrap(Rig.trap(13, 0x18, 0));
        assertEquals((int) handler(13), seen[0]);
        assertEquals(0x18, rig.get32(STACK - 16));
    }

    @Test
    void ioFromGuestUserModeGoesToTheLauncherWhichJudgesThePrivilege() {
        rig.backend.then(Rig.hcall(Lhcall.SET_STACK, 0x69, 0xA000, 1), Rig.doing(s -> {
            s.regs().set(Reg.CS, 0x73);
            s.regs().set(Reg.SS, 0x7B);
            s.regs().set(Reg.EIP, EIP);
        }));
        assertArrayEquals(new byte[] {(byte) 0xEC, 0, 0, 0, 0, 0, 0}, handedOver((byte) 0xEC));
        assertEquals(0x73, rig.reg(Reg.CS));
    }

    @Test
    void anInstructionAcrossAPageEndTakesTheNextPageWhenMapped() {
        long at = 0x2FFE;
        rig.backend.then(Rig.doing(s -> s.regs().set(Reg.EIP, (int) at)));
        rig.putBytes(at, (byte) 0x66, (byte) 0xE5);
        rig.putBytes(0x5000, (byte) 0x60, (byte) 1, (byte) 2, (byte) 3, (byte) 4);
        rig.putBytes(0x3000, (byte) 0x77, (byte) 0x77);
        // Virtually contiguous, physically not.
        rig.paging.last().translate = v -> v >= 0x3000 && v < 0x4000 ? v + 0x2000 : v;
        rig.backend.then(Rig.trap(13, 0, 0));
        Rig.Read r = rig.read();
        assertEquals(12, r.n());
        assertArrayEquals(new byte[] {0x66, (byte) 0xE5, 0x60, 1, 2, 3, 4},
            r.buffer().asSlice(1, 7).toArray(ValueLayout.JAVA_BYTE));
    }

    @Test
    void anInstructionAcrossAPageEndGetsZeroesWhenTheNextIsUnmapped() {
        long at = 0x2FFE;
        rig.backend.then(Rig.doing(s -> s.regs().set(Reg.EIP, (int) at)));
        rig.putBytes(at, (byte) 0xE4, (byte) 0x60);
        rig.putBytes(0x3000, (byte) 0x77, (byte) 0x77);
        rig.paging.last().translate = v -> v >= 0x3000 && v < 0x4000 ? -1 : v;
        rig.backend.then(Rig.trap(13, 0, 0));
        Rig.Read r = rig.read();
        assertArrayEquals(new byte[] {(byte) 0xE4, 0x60, 0, 0, 0, 0, 0},
            r.buffer().asSlice(1, 7).toArray(ValueLayout.JAVA_BYTE));
    }

    @Test
    void anUnmappedInstructionKills() {
        rig.paging.last().translate = v -> v == EIP ? -1 : v;
        assertEquals("Bad address 0x2004", dies(Rig.trap(13, 0, 0)));
    }

    // Device not available, the rest, and what vectors 32 and up mean.

    @Test
    void deviceNotAvailableIsQuietWithoutTs() {
        int[] seen = afterTrap(Rig.trap(7, 0, 0));
        assertEquals(EIP, seen[0]);
    }

    @Test
    void deviceNotAvailableGoesToTheGuestWithTs() {
        handle(7);
        rig.backend.then(Rig.hcall(Lhcall.TS, 1), Rig.doing(s -> s.regs().set(Reg.EIP, EIP)));
        int[] seen = afterTrap(Rig.trap(7, 0, 0));
        assertEquals((int) handler(7), seen[0]);
        assertEquals((int) STACK - 12, seen[1], "no error code");
    }

    @ParameterizedTest
    @ValueSource(ints = {10, 11, 12, 17})
    void theTrapsWithAnErrorCodePushIt(int vector) {
        handle(vector);
        int[] seen = afterTrap(Rig.trap(vector, 0x55, 0));
        assertEquals((int) handler(vector), seen[0]);
        assertEquals((int) STACK - 16, seen[1]);
        assertEquals(0x55, rig.get32(STACK - 16));
    }

    @ParameterizedTest
    @ValueSource(ints = {0, 1, 3, 4, 5, 6, 9, 16, 18, 19})
    void theOthersDoNot(int vector) {
        handle(vector);
        int[] seen = afterTrap(Rig.trap(vector, 0x55, 0));
        assertEquals((int) handler(vector), seen[0]);
        assertEquals((int) STACK - 12, seen[1]);
    }

    @Test
    void errorCodeVectorsAreIntelsList() {
        for (int v = 0; v < 32; v++) {
            assertEquals(v == 8 || (v >= 10 && v <= 14) || v == 17, Interrupts.hasErr(v), "vector " + v);
        }
    }

    @Test
    void anUnhandledTrapKillsWithLguestsMessage() {
        assertEquals("unhandled trap 6 at 0x2004 (0)", dies(Rig.trap(6, 0, 0)));
    }

    @Test
    void anImpossibleVectorKills() {
        assertEquals("unhandled trap 256 at 0x2004 (0)", dies(Rig.trap(256, 0, 0)));
    }

    @Test
    void theSystemCallVectorGoesToTheGuestsHandler() {
        rig.backend.then(Rig.idt(0x80, 0x4000, 0xF), Rig.doing(s -> s.regs().set(Reg.EIP, EIP)));
        int[] seen = afterTrap(Rig.trap(0x80, 0, 0));
        assertEquals(0x4000, seen[0]);
        assertEquals(0x200, rig.get32(Rig.DATA + LguestData.IRQ_ENABLED), "a trap gate");
    }

    @Test
    void theSystemCallVectorWithoutAHandlerIsIgnored() {
        int[] seen = afterTrap(Rig.trap(0x80, 0, 0));
        assertEquals(EIP, seen[0]);
        assertFalse(rig.guest().isDead());
    }

    @Test
    void otherVectorsFrom32AreIgnoredEvenWithAHandler() {
        handle(0x40);
        int[] seen = afterTrap(Rig.trap(0x40, 0, 0));
        assertEquals(EIP, seen[0]);
    }

    @Test
    void aKickJustRunsOn() {
        int[] seen = afterTrap(s -> VcpuExit.kicked(EIP));
        assertEquals(EIP, seen[0]);
    }

    // int n: the gate's privilege level, no error code.

    private void userMode() {
        rig.backend.then(Rig.hcall(Lhcall.SET_STACK, 0x69, 0xA000, 1), Rig.doing(s -> {
            s.regs().set(Reg.CS, 0x73);
            s.regs().set(Reg.SS, 0x7B);
            s.regs().set(Reg.ESP, 0x5000);
            s.regs().set(Reg.EIP, EIP);
        }));
    }

    @Test
    void intOfTheHypercallVectorFromTheKernelIsAHypercall() {
        rig.backend.then(s -> {
            s.regs().set(Reg.EAX, Lhcall.NOTIFY);
            s.regs().set(Reg.EBX, 0x4242);
            return VcpuExit.softwareInterrupt(Lhcall.TRAP_ENTRY, EIP + 2);
        });
        assertEquals(0x4242, rig.read().word());
    }

    @Test
    void guestUserModeCannotMakeHypercalls() {
        handle(13);
        userMode();
        int[] seen = afterTrap(s -> {
            s.regs().set(Reg.EAX, Lhcall.SHUTDOWN);
            s.regs().set(Reg.EIP, EIP + 2);
            return VcpuExit.softwareInterrupt(Lhcall.TRAP_ENTRY, EIP + 2);
        });
        assertEquals((int) handler(13), seen[0], "a general protection fault instead");
        assertEquals(13, seen[2]);
        assertEquals((0x1F << 3) | 2, seen[3]);
        assertEquals((0x1F << 3) | 2, rig.get32(0xA000 - 24), "error code: the vector, IDT flag");
        assertEquals(EIP, rig.get32(0xA000 - 20), "at the int instruction");
        assertFalse(rig.guest().isDead());
    }

    @Test
    void aUserHypercallWithoutAProtectionHandlerKills() {
        userMode();
        rig.backend.then(Rig.softint(Lhcall.TRAP_ENTRY, 2));
        assertEquals(-Errno.ENOENT, rig.read().n());
        assertEquals("unhandled trap 13 at 0x2004 (0xfa)", rig.read().string());
    }

    @Test
    void aSystemCallThroughAUserGateIsDeliveredWithoutAnErrorCode() {
        rig.backend.then(Rig.hcall(Lhcall.LOAD_IDT_ENTRY, 0x80, 0x0060_4000L, 0x0000_EF00L));
        userMode();
        int[] seen = afterTrap(Rig.softint(0x80, 2));
        assertEquals(0x4000, seen[0]);
        assertEquals(0xA000 - 20, seen[1], "ss, esp, eflags, cs, eip: no error code");
        assertEquals(EIP + 2, rig.get32(0xA000 - 20), "returns after the int");
    }

    @Test
    void aSystemCallThroughAKernelGateFromUserModeIsAProtectionFault() {
        handle(13);
        rig.backend.then(Rig.hcall(Lhcall.LOAD_IDT_ENTRY, 0x80, 0x0060_4000L, 0x0000_AF00L));
        userMode();
        int[] seen = afterTrap(Rig.softint(0x80, 2));
        assertEquals((int) handler(13), seen[0]);
        assertEquals((0x80 << 3) | 2, rig.get32(0xA000 - 24));
    }

    @Test
    void int3ThroughItsGateHasNoErrorCodeAndReturnsAfterIt() {
        handleAt(3, 3);
        rig.putBytes(EIP, (byte) 0xCC);
        int[] seen = afterTrap(Rig.softint(3, 1));
        assertEquals((int) handler(3), seen[0]);
        assertEquals((int) STACK - 12, seen[1]);
        assertEquals(EIP + 1, rig.get32(STACK - 12));
    }

    @Test
    void intThroughAKernelOnlyGateIsAProtectionFault() {
        handle(13);
        handle(14);
        int[] seen = afterTrap(Rig.softint(14, 2));
        assertEquals((int) handler(13), seen[0]);
        assertEquals((14 << 3) | 2, rig.get32(STACK - 16));
        assertEquals(EIP, rig.get32(STACK - 12), "at the int instruction");
    }

    @Test
    void int3WithoutAGateIsAProtectionFaultAtTheOneByteInstruction() {
        rig.putBytes(EIP, (byte) 0xCC);
        rig.backend.then(Rig.softint(3, 1));
        assertEquals(-Errno.ENOENT, rig.read().n());
        assertEquals("unhandled trap 13 at 0x2004 (0x1a)", rig.read().string());
    }

    @Test
    void intOfThePageFaultVectorIsNoPageFault() {
        handleAt(1, 14);
        int[] seen = afterTrap(Rig.softint(14, 2));
        assertEquals((int) handler(14), seen[0]);
        assertEquals((int) STACK - 12, seen[1], "no error code");
        assertFalse(rig.paging.last().calls.stream().anyMatch(c -> c.startsWith("demand")));
    }

    @Test
    void intOfAnotherHighVectorIsIgnoredWhenItsGateAllowsIt() {
        handleAt(1, 0x40);
        int[] seen = afterTrap(Rig.softint(0x40, 2));
        assertEquals(EIP + 2, seen[0]);
    }

    @Test
    void intOfAHighVectorWithoutAGateIsAProtectionFault() {
        rig.backend.then(Rig.softint(0x40, 2));
        assertEquals(-Errno.ENOENT, rig.read().n());
        assertEquals("unhandled trap 13 at 0x2004 (0x202)", rig.read().string());
    }

    @Test
    void aSwitcherThatCannotLoadTheGuestKills() {
        assertEquals("unhandled trap 256 at 0x2004 (0xd0018)",
            dies(Rig.trap(VcpuExit.SWITCHER_FAILED, (13 << 16) | 0x18, 0)));
    }
}
