package org.lguest.launcher.internal;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

import org.lguest.api.abi.Errno;
import org.lguest.api.abi.Lhreq;
import org.lguest.api.abi.PtRegs;
import org.lguest.api.device.LguestFile;

/**
 * What the Host hands back as a pending trap ({@code struct lguest_pending}:
 * u8 trap, u8 insn[7], u32 addr) and the Launcher emulates, as lguest's
 * {@code emulate_insn} did: a general-protection fault on an I/O
 * instruction of the guest kernel becomes the port access (reads of ports
 * nobody serves give all ones), then EIP moves past it. Anything else goes
 * back to the guest as the trap it was.
 */
final class IoEmulator {
    static final int PENDING_SIZE = 12;
    private static final int TRAP_GP = 13;
    private static final int PS2_STATUS_PORT = 0x64;

    private final LguestFile file;
    private final int cpu;

    IoEmulator(LguestFile file, int cpu) {
        this.file = file;
        this.cpu = cpu;
    }

    /** Handles the pending trap in {@code pending}; null, or why the guest cannot go on. */
    String emulate(MemorySegment pending) {
        int trap = Byte.toUnsignedInt(pending.get(ValueLayout.JAVA_BYTE, 0));
        byte[] insn = pending.asSlice(1, 7).toArray(ValueLayout.JAVA_BYTE);
        long address = Integer.toUnsignedLong(pending.get(ValueLayout.JAVA_INT_UNALIGNED, 8));
        if (trap == TRAP_GP && (getreg(PtRegs.CS) & 3) == 1) {
            Integer length = emulatePortIo(insn);
            if (length != null) {
                setreg(PtRegs.IP, getreg(PtRegs.IP) + length);
                return null;
            }
        }
        long answer = Words.write(file, cpu, Lhreq.TRAP, trap);
        if (answer < 0) {
            return String.format("cannot hand trap %d (address %#x) back to the guest: LHREQ_TRAP answered %s",
                trap, address, Errno.name((int) answer));
        }
        return null;
    }

    /** The length of the I/O instruction it emulated, or null when {@code insn} is none. */
    private Integer emulatePortIo(byte[] insn) {
        int at = 0;
        boolean smallOperand = false;
        if (Byte.toUnsignedInt(insn[at]) == 0x66) {
            smallOperand = true;
            at++;
        }
        int opcode = Byte.toUnsignedInt(insn[at]);
        boolean byteAccess = (opcode & 1) == 0;
        boolean in;
        long port;
        switch (opcode & 0xFE) {
            case 0xE4 -> { in = true; port = Byte.toUnsignedInt(insn[at + 1]); at += 2; }
            case 0xEC -> { in = true; port = getreg(PtRegs.DX) & 0xFFFF; at += 1; }
            case 0xE6 -> { in = false; port = Byte.toUnsignedInt(insn[at + 1]); at += 2; }
            case 0xEE -> { in = false; port = getreg(PtRegs.DX) & 0xFFFF; at += 1; }
            default -> {
                return null;
            }
        }
        long mask = byteAccess ? 0xFF : smallOperand ? 0xFFFF : 0xFFFF_FFFFL;
        if (in) {
            long value = port == PS2_STATUS_PORT ? 1 : 0xFFFF_FFFFL;
            long eax = getreg(PtRegs.AX);
            setreg(PtRegs.AX, (eax & ~mask) | (value & mask));
        }
        return at;
    }

    private long getreg(long selector) {
        long answer = Words.write(file, cpu, Lhreq.GETREG, selector);
        if (answer < 0) {
            throw new IllegalStateException("GETREG " + PtRegs.name(selector) + " answered " + Errno.name((int) answer));
        }
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment word = arena.allocate(Lhreq.WORD);
            long n = file.read(word, cpu);
            if (n != Lhreq.WORD) {
                throw new IllegalStateException("reading " + PtRegs.name(selector) + " answered " + n);
            }
            return word.get(ValueLayout.JAVA_LONG_UNALIGNED, 0) & 0xFFFF_FFFFL;
        }
    }

    private void setreg(long selector, long value) {
        long answer = Words.write(file, cpu, Lhreq.SETREG, selector, value & 0xFFFF_FFFFL);
        if (answer < 0) {
            throw new IllegalStateException("SETREG " + PtRegs.name(selector) + " answered " + Errno.name((int) answer));
        }
    }
}
