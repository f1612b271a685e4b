package org.lguest.device.internal;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;

import java.util.Map;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.lguest.api.abi.Errno;
import org.lguest.api.abi.Lhcall;
import org.lguest.api.abi.Lhreq;
import org.lguest.api.abi.PtRegs;
import org.lguest.api.cpu.Reg;

/** LHREQ_GETREG and LHREQ_SETREG: getreg_setup(), setreg(), lguest_arch_regptr(). */
@Timeout(10)
class RegisterTest {
    /** Every register GETREG may read, by selector. */
    static final Map<Long, Reg> READABLE = Map.ofEntries(
        Map.entry(PtRegs.BX, Reg.EBX), Map.entry(PtRegs.CX, Reg.ECX), Map.entry(PtRegs.DX, Reg.EDX),
        Map.entry(PtRegs.SI, Reg.ESI), Map.entry(PtRegs.DI, Reg.EDI), Map.entry(PtRegs.BP, Reg.EBP),
        Map.entry(PtRegs.AX, Reg.EAX), Map.entry(PtRegs.DS, Reg.DS), Map.entry(PtRegs.ES, Reg.ES),
        Map.entry(PtRegs.FS, Reg.FS), Map.entry(PtRegs.GS, Reg.GS), Map.entry(PtRegs.IP, Reg.EIP),
        Map.entry(PtRegs.CS, Reg.CS), Map.entry(PtRegs.FLAGS, Reg.EFLAGS), Map.entry(PtRegs.SP, Reg.ESP),
        Map.entry(PtRegs.SS, Reg.SS));
    /** The ones SETREG may write. */
    static final Map<Long, Reg> WRITABLE = Map.of(
        PtRegs.BX, Reg.EBX, PtRegs.CX, Reg.ECX, PtRegs.DX, Reg.EDX, PtRegs.SI, Reg.ESI, PtRegs.DI, Reg.EDI,
        PtRegs.BP, Reg.EBP, PtRegs.AX, Reg.EAX, PtRegs.IP, Reg.EIP, PtRegs.SP, Reg.ESP);

    private final Rig rig = new Rig();

    @AfterEach
    void close() {
        rig.close();
    }

    @Test
    void getregReadsEveryRegisterOnTheNextRead() {
        assertEquals(24, rig.init());
        int i = 0;
        for (Reg r : Reg.values()) {
            rig.state().regs().set(r, 0x8000_0100 + i++);
        }
        for (var e : READABLE.entrySet()) {
            assertEquals(16, rig.write(Lhreq.GETREG, e.getKey()), "selector " + e.getKey());
            Rig.Read read = rig.read();
            assertEquals(8, read.n());
            assertEquals(rig.reg(e.getValue()) & 0xFFFF_FFFFL, read.word(), e.getValue().name());
            assertNull(rig.cpu().regRead, "one read per GETREG");
        }
        assertEquals(0, rig.backend.created.size(), "no guest ran for it");
    }

    @Test
    void getregReadsTheValueAtReadTime() {
        assertEquals(24, rig.init());
        assertEquals(16, rig.write(Lhreq.GETREG, PtRegs.AX));
        assertEquals(24, rig.write(Lhreq.SETREG, PtRegs.AX, 0x55));
        assertEquals(0x55, rig.read().word());
    }

    @ParameterizedTest
    @ValueSource(longs = {PtRegs.ORIG_AX, 2, 5, 68, 72, -4, Long.MIN_VALUE, 1L << 32})
    void getregOfSomethingElseIsEnoent(long selector) {
        assertEquals(24, rig.init());
        assertEquals(-Errno.ENOENT, rig.write(Lhreq.GETREG, selector));
    }

    @Test
    void aRefusedGetregForgetsTheOneBefore() {
        rig.boot();
        assertEquals(16, rig.write(Lhreq.GETREG, PtRegs.AX));
        assertEquals(-Errno.ENOENT, rig.write(Lhreq.GETREG, PtRegs.ORIG_AX));
        rig.backend.then(Rig.hcall(Lhcall.NOTIFY, 0xAA));
        assertEquals(0xAA, rig.read().word(), "the read ran the guest instead of answering eax");
    }

    @Test
    void getregWithoutItsSelectorIsEfault() {
        assertEquals(24, rig.init());
        assertEquals(-Errno.EFAULT, rig.write(Lhreq.GETREG));
    }

    @Test
    void aBufferTooSmallForTheRegisterIsEfaultAndTheRequestStays() {
        assertEquals(24, rig.init());
        rig.state().regs().set(Reg.EBX, 0x1234);
        assertEquals(16, rig.write(Lhreq.GETREG, PtRegs.BX));
        assertEquals(-Errno.EFAULT, rig.file.read(rig.buffer(7), 0));
        assertEquals(-Errno.EFAULT, rig.file.read(rig.buffer(8).asReadOnly(), 0));
        assertEquals(0x1234, rig.read().word());
    }

    @Test
    void getregNeedsNoBackend() {
        rig.host.unbindBackend(rig.backend);
        assertEquals(24, rig.init());
        assertEquals(16, rig.write(Lhreq.GETREG, PtRegs.IP));
        assertEquals(Rig.START, rig.read().word());
    }

    @Test
    void setregWritesWhatTheLauncherMayWrite() {
        assertEquals(24, rig.init());
        long value = 0x7_0000_0000L;
        for (var e : WRITABLE.entrySet()) {
            value++;
            assertEquals(24, rig.write(Lhreq.SETREG, e.getKey(), value), "selector " + e.getKey());
            assertEquals((int) value, rig.reg(e.getValue()), "a 32-bit register keeps the low half");
        }
    }

    @ParameterizedTest
    @ValueSource(longs = {PtRegs.DS, PtRegs.ES, PtRegs.FS, PtRegs.GS, PtRegs.CS, PtRegs.FLAGS, PtRegs.SS,
        PtRegs.ORIG_AX, 2, 68, -1})
    void setregOfAnythingElseIsEnoentAndChangesNothing(long selector) {
        assertEquals(24, rig.init());
        var before = new org.lguest.api.cpu.LguestRegs();
        before.copyFrom(rig.state().regs());
        assertEquals(-Errno.ENOENT, rig.write(Lhreq.SETREG, selector, 0x1111));
        assertEquals(before, rig.state().regs());
    }

    @Test
    void setregWithoutItsWordsIsEfault() {
        assertEquals(24, rig.init());
        assertEquals(-Errno.EFAULT, rig.write(Lhreq.SETREG));
        assertEquals(-Errno.EFAULT, rig.write(Lhreq.SETREG, PtRegs.AX));
        assertEquals(0, rig.reg(Reg.EAX));
    }

    @Test
    void regptrMapsExactlyLguestsTable() {
        for (long sel = -8; sel < 80; sel++) {
            assertEquals(READABLE.get(sel), X86.regptr(sel, true), "any " + sel);
            assertEquals(WRITABLE.get(sel), X86.regptr(sel, false), "settable " + sel);
        }
    }
}
