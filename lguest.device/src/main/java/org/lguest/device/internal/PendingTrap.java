package org.lguest.device.internal;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;

/**
 * struct lguest_pending: a trap the Launcher must handle, returned by
 * read(). {@code u8 trap; u8 insn[7]; u32 addr}: 12 bytes.
 */
record PendingTrap(int trap, byte[] insn, long addr) {
    static final int SIZE = 12;
    static final int INSN_BYTES = 7;

    byte[] bytes() {
        ByteBuffer b = ByteBuffer.allocate(SIZE).order(ByteOrder.LITTLE_ENDIAN);
        b.put((byte) trap);
        b.put(insn, 0, INSN_BYTES);
        b.putInt((int) addr);
        return b.array();
    }
}
