package org.lguest.launcher.internal;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

/**
 * A trap the Host hands to the Launcher ({@code struct lguest_pending}: u8
 * trap, u8 insn[7], u32 addr): a page fault in the device region above guest
 * RAM (trap 14, {@code addr} the guest-physical address), or an {@code in} or
 * {@code out} (trap 13). {@link TrapEmulator} emulates what it can and gives
 * the rest back to the guest.
 *
 * @param trap the trap number
 * @param insn the first bytes of the faulting instruction
 * @param address the guest-physical address a page fault was at
 */
record PendingTrap(int trap, byte[] insn, long address) {
    static final int SIZE = 12;
    static final int PAGE_FAULT = 14;
    static final int GENERAL_PROTECTION = 13;

    /** Reads the 12 bytes the Host's {@code read()} returned. */
    static PendingTrap read(MemorySegment pending) {
        int trap = Byte.toUnsignedInt(pending.get(ValueLayout.JAVA_BYTE, 0));
        byte[] insn = pending.asSlice(1, MmioInstruction.INSN_BYTES).toArray(ValueLayout.JAVA_BYTE);
        long address = Integer.toUnsignedLong(pending.get(ValueLayout.JAVA_INT_UNALIGNED, 8));
        return new PendingTrap(trap, insn, address);
    }
}
