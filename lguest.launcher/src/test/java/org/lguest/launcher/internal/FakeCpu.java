package org.lguest.launcher.internal;

import java.lang.foreign.MemorySegment;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

import org.lguest.api.abi.Errno;
import org.lguest.api.abi.Lhreq;
import org.lguest.api.abi.ProtocolWords;
import org.lguest.api.abi.PtRegs;
import org.lguest.api.cpu.PortIo;
import org.lguest.api.device.LguestFile;

/**
 * A Host CPU that answers GETREG, SETREG and TRAP as the seed does (the
 * Launcher may write the general registers, EIP and ESP; the next read after
 * GETREG returns the register) and records what it was asked.
 */
final class FakeCpu implements LguestFile {
    final Map<Long, Long> registers = new HashMap<>();
    final List<Long> trapsHandedBack = new ArrayList<>();
    boolean refuseRegisters;
    /** LHREQ_TRAP answers EINVAL, as for a guest without a handler. */
    boolean refuseTraps;
    private Long pendingRead;
    PortIo portIo;

    FakeCpu() {
        for (long selector = PtRegs.BX; selector <= PtRegs.SS; selector += 4) {
            registers.put(selector, 0L);
        }
    }

    long get(long selector) {
        return registers.get(selector);
    }

    FakeCpu set(long selector, long value) {
        registers.put(selector, value);
        return this;
    }

    @Override
    public long write(MemorySegment request, long cpu) {
        long[] words = request.toArray(ProtocolWords.WORD_LAYOUT);
        if (refuseRegisters && (words[0] == Lhreq.GETREG || words[0] == Lhreq.SETREG)) {
            return -Errno.EBADF;
        }
        if (words[0] == Lhreq.GETREG) {
            pendingRead = PtRegs.name(words[1]) == null || words[1] == PtRegs.ORIG_AX ? null : registers.get(words[1]);
            return pendingRead == null ? -Errno.ENOENT : 16;
        }
        if (words[0] == Lhreq.SETREG) {
            boolean writable = words[1] <= PtRegs.AX && words[1] % 4 == 0 || words[1] == PtRegs.IP || words[1] == PtRegs.SP;
            if (!writable) {
                return -Errno.ENOENT;
            }
            registers.put(words[1], words[2] & 0xFFFF_FFFFL);
            return 24;
        }
        if (words[0] == Lhreq.TRAP) {
            if (refuseTraps) {
                return -Errno.EINVAL;
            }
            trapsHandedBack.add(words[1]);
            return 0;
        }
        return -Errno.EINVAL;
    }

    @Override
    public long read(MemorySegment buffer, long cpu) {
        if (pendingRead == null) {
            return -Errno.EINVAL;
        }
        buffer.set(ProtocolWords.WORD_LAYOUT, 0, pendingRead);
        pendingRead = null;
        return Lhreq.WORD;
    }

    @Override
    public void portIo(PortIo handler) {
        portIo = handler;
    }

    @Override
    public void close() {
    }
}
