package org.lguest.device.internal;

import static org.junit.jupiter.api.Assertions.assertEquals;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.lguest.api.abi.Errno;
import org.lguest.api.abi.LguestData;
import org.lguest.api.abi.Lhcall;
import org.lguest.api.abi.Lhreq;
import org.lguest.api.cpu.Reg;
import org.lguest.api.paging.GuestPageTables.Fault;

/** LHREQ_TRAP (the later lguest's): the Launcher hands a trap back to the guest. */
@Timeout(10)
class TrapRequestTest {
    private final Rig rig = new Rig();

    @AfterEach
    void close() {
        rig.close();
    }

    private void bootWithHandler(int vector) {
        rig.boot();
        rig.backend.then(Rig.idt(vector, 0x3000, 0xE), Rig.doing(s -> s.regs().set(Reg.ESP, 0x9000)),
            Rig.hcall(Lhcall.NOTIFY, 1));
        assertEquals(1, rig.read().word());
    }

    @Test
    void aTrapWithAHandlerIsDeliveredAndAnswersZero() {
        bootWithHandler(6);
        int eip = rig.reg(Reg.EIP);
        assertEquals(0, rig.write(Lhreq.TRAP, 6));
        assertEquals(0x3000, rig.reg(Reg.EIP));
        assertEquals(0x9000 - 12, rig.reg(Reg.ESP));
        assertEquals(eip, rig.get32(0x9000 - 12));
    }

    @Test
    void aDeviceFaultTheLauncherCannotEmulateBecomesTheGuestsPageFault() {
        bootWithHandler(14);
        rig.put32(Rig.DATA + LguestData.CR2, 0x1234_5000);
        rig.paging.last().answer(Fault.DEVICE);
        rig.paging.last().translate = v -> v;
        rig.backend.then(Rig.trap(14, 4, 0x50_0000L));
        assertEquals(12, rig.read().n());
        assertEquals(0, rig.write(Lhreq.TRAP, 14));
        assertEquals(0x3000, rig.reg(Reg.EIP));
        assertEquals(4, rig.get32(0x9000 - 16), "the fault's error code");
        assertEquals(0x1234_5000, rig.get32(Rig.DATA + LguestData.CR2), "as in 4.x, the handler sees the old cr2");
    }

    @ParameterizedTest
    @ValueSource(longs = {6, 0, 256, -1, 1L << 32})
    void aTrapWithoutAHandlerIsEinval(long trap) {
        rig.boot();
        assertEquals(-Errno.EINVAL, rig.write(Lhreq.TRAP, trap));
    }

    @Test
    void aTrapWithoutItsNumberIsEfault() {
        rig.boot();
        assertEquals(-Errno.EFAULT, rig.write(Lhreq.TRAP));
    }

    @Test
    void aTrapForADeadGuestIsEnoent() {
        bootWithHandler(6);
        rig.guest().kill("gone");
        assertEquals(-Errno.ENOENT, rig.write(Lhreq.TRAP, 6));
    }
}
