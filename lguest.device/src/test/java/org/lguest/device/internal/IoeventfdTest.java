package org.lguest.device.internal;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;

import java.util.concurrent.TimeUnit;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.lguest.api.abi.Lhcall;
import org.lguest.api.abi.Lhreq;
import org.lguest.api.cpu.Reg;
import org.lguest.api.cpu.VcpuExit;
import org.lguest.api.device.Eventfd;
import org.lguest.api.paging.GuestPageTables.Fault;

/**
 * The eventfd map's extension to device memory: a store to an attached
 * guest-physical address signals the eventfd inside the Host and steps
 * over the store; everything else still goes to the Launcher.
 */
@Timeout(10)
class IoeventfdTest {
    /** A notify register (BAR0 + 56) and the virtual address the guest maps it at. */
    private static final long REGISTER = 0x0110_0038L;
    private static final long VIRTUAL = 0xD000_0038L;
    private final Rig rig = new Rig();
    private final Eventfd eventfd = new Eventfd();
    private int eip;

    @BeforeEach
    void boot() {
        rig.boot();
        eip = rig.reg(Reg.EIP);
        int fd = rig.task.descriptors().install(eventfd);
        assertEquals(0, rig.write(Lhreq.EVENTFD, REGISTER, fd));
        rig.paging.last().answer(Fault.DEVICE);
        rig.paging.last().translate = v -> (v & ~0xFFFL) == (VIRTUAL & ~0xFFFL) ? (REGISTER & ~0xFFFL) | (v & 0xFFF) : v;
    }

    @AfterEach
    void close() {
        rig.close();
        eventfd.close();
    }

    private static byte[] hex(String hex) {
        String[] parts = hex.split(" ");
        byte[] bytes = new byte[parts.length];
        for (int i = 0; i < parts.length; i++) {
            bytes[i] = (byte) Integer.parseInt(parts[i], 16);
        }
        return bytes;
    }

    /** Runs the instruction's fault at {@code address}, then a step that records EIP, then a NOTIFY. */
    private Rig.Read fault(String insn, long address, int[] eipAfter) {
        rig.putBytes(eip, hex(insn));
        rig.backend.then(Rig.trap(14, 2, address), s -> {
            eipAfter[0] = s.regs().get(Reg.EIP);
            return VcpuExit.kicked(0);
        }, Rig.hcall(Lhcall.NOTIFY, 0xF00D));
        return rig.read();
    }

    @ParameterizedTest
    @CsvSource({
        "66 89 02, 3", // mov %ax,(%edx): what a virtio driver does
        "66 89 42 38, 4", // mov %ax,0x38(%edx)
        "66 89 82 38 00 00 00, 7", // mov %ax,0x38(%edx) with disp32
        "66 89 04 24, 4", // mov %ax,(%esp): SIB
        "66 89 05 38 00 00 d0, 7", // mov %ax,0xd0000038: disp32 without base
        "66 c7 02 01 00, 5", // movw $1,(%edx)
        "c7 02 01 00 00 00, 6", // movl $1,(%edx)
        "88 02, 2", // mov %al,(%edx)
        "66 a3 38 00 00 d0, 6", // mov %ax,0xd0000038
    })
    void aStoreThereSignalsTheEventfdWithoutTheLauncher(String insn, int length) throws InterruptedException {
        int[] after = new int[1];
        Rig.Read r = fault(insn, VIRTUAL, after);
        assertEquals(8, r.n(), "the NOTIFY after it, not a trap for the Launcher");
        assertEquals(0xF00D, r.word());
        assertEquals(eip + length, after[0], "the store was stepped over");
        assertEquals(1, eventfd.read(0, TimeUnit.NANOSECONDS), "signalled before read() returned");
        assertNull(rig.cpu().pendingTrap);
    }

    @ParameterizedTest
    @CsvSource({
        "66 8b 02", // a load: the Launcher answers it
        "a5", // movsl: not decoded here
        "66 89 c2", // a register move is no store (and never faults; decoded all the same)
        "c7 82 38 00 00 00 01 00 00 00", // movl $1,0x38(%edx) with disp32: 10 bytes, more than the Host copies
    })
    void anythingElseThereGoesToTheLauncher(String insn) throws InterruptedException {
        rig.putBytes(eip, hex(insn));
        rig.backend.then(Rig.trap(14, 2, VIRTUAL));
        Rig.Read r = rig.read();
        assertEquals(12, r.n(), "trap 14 for the Launcher");
        assertEquals(REGISTER, r.u32(8) & 0xFFFF_FFFFL);
        assertEquals(eip, rig.reg(Reg.EIP));
        assertEquals(0, eventfd.read(0, TimeUnit.NANOSECONDS), "nothing signalled");
    }

    @Test
    void aStoreElsewhereInDeviceMemoryGoesToTheLauncher() throws InterruptedException {
        rig.putBytes(eip, hex("66 89 02"));
        rig.backend.then(Rig.trap(14, 2, VIRTUAL + 2));
        Rig.Read r = rig.read();
        assertEquals(12, r.n());
        assertEquals(REGISTER + 2, r.u32(8) & 0xFFFF_FFFFL);
        assertEquals(0, eventfd.read(0, TimeUnit.NANOSECONDS));
    }
}
