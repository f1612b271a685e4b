package org.lguest.launcher.internal;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

import org.lguest.api.abi.Errno;
import org.lguest.api.abi.Lhreq;
import org.lguest.api.device.LguestFile;

/**
 * A trap the Host hands to the Launcher ({@code struct lguest_pending}: u8
 * trap, u8 insn[7], u32 addr): an access to the device region above guest
 * RAM. With no device there, the Launcher gives the trap back to the guest
 * with {@code LHREQ_TRAP}, as lguest's Launcher did for memory nobody serves.
 * (The Host emulates port I/O itself: reads of absent ports give all ones.)
 */
final class PendingTrap {
    static final int SIZE = 12;

    private PendingTrap() {
    }

    /** Handles the pending trap in {@code pending}; null, or why the guest cannot go on. */
    static String handle(LguestFile file, int cpu, MemorySegment pending) {
        int trap = Byte.toUnsignedInt(pending.get(ValueLayout.JAVA_BYTE, 0));
        long address = Integer.toUnsignedLong(pending.get(ValueLayout.JAVA_INT_UNALIGNED, 8));
        long answer = Words.write(file, cpu, Lhreq.TRAP, trap);
        if (answer < 0) {
            return String.format("cannot hand trap %d (address %#x) back to the guest: LHREQ_TRAP answered %s",
                trap, address, Errno.name((int) answer));
        }
        return null;
    }
}
