package org.lguest.launcher.internal;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;

import org.lguest.api.abi.Errno;
import org.lguest.api.abi.Lhreq;
import org.lguest.api.abi.ProtocolWords;
import org.lguest.api.abi.PtRegs;
import org.lguest.api.device.LguestFile;
import org.lguest.api.guest.LaunchException;

/**
 * A guest CPU's registers as the protocol lets the Launcher reach them:
 * {@code LHREQ_GETREG} then a {@code read()} for the value, {@code
 * LHREQ_SETREG} to change one (the Host allows the general registers, EIP
 * and ESP). Only the CPU's own thread may do the read.
 */
final class GuestRegisters {
    private final LguestFile file;
    private final int cpu;

    GuestRegisters(LguestFile file, int cpu) {
        this.file = file;
        this.cpu = cpu;
    }

    /** The register's 32-bit value. */
    long get(long selector) throws LaunchException {
        long answer = Requests.write(file, cpu, Lhreq.GETREG, selector);
        if (answer < 0) {
            throw new LaunchException("LHREQ_GETREG " + PtRegs.name(selector) + " answered " + Errno.name((int) answer));
        }
        try (Arena scratch = Arena.ofConfined()) {
            MemorySegment word = scratch.allocate(Lhreq.WORD);
            long n = file.read(word, cpu);
            if (n != Lhreq.WORD) {
                throw new LaunchException("reading " + PtRegs.name(selector) + " after LHREQ_GETREG answered "
                    + (n < 0 ? Errno.name((int) n) : n + " bytes"));
            }
            return word.get(ProtocolWords.WORD_LAYOUT, 0) & 0xFFFF_FFFFL;
        }
    }

    void set(long selector, long value) throws LaunchException {
        long answer = Requests.write(file, cpu, Lhreq.SETREG, selector, value & 0xFFFF_FFFFL);
        if (answer < 0) {
            throw new LaunchException("LHREQ_SETREG " + PtRegs.name(selector) + " answered " + Errno.name((int) answer));
        }
    }
}
