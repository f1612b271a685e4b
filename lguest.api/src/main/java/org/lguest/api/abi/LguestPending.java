package org.lguest.api.abi;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.Arrays;
import java.util.HexFormat;

/**
 * {@code struct lguest_pending}: what a {@code read()} of {@link #SIZE}
 * bytes hands the Launcher when the guest trapped on something only the
 * Launcher can do, such as a page fault in device memory
 * ({@link #PAGE_FAULT}, {@code address} the guest-physical address) or an
 * {@code in}/{@code out} ({@link #GENERAL_PROTECTION}). The layout is
 * {@code u8 trap; u8 insn[7]; u32 addr}, little-endian.
 *
 * @param trap the x86 trap number, 0 to 255
 * @param insn the first {@link #INSN_BYTES} bytes of the faulting instruction (copied; shorter is padded with zeroes)
 * @param address the faulting address, an unsigned 32-bit value (0 when the trap has none)
 */
public record LguestPending(int trap, byte[] insn, long address) {
    /** Bytes in the record. */
    public static final int SIZE = 12;
    /** Instruction bytes the record carries. */
    public static final int INSN_BYTES = 7;
    /** x86 trap 13: the Launcher sees port I/O this way. */
    public static final int GENERAL_PROTECTION = 13;
    /** x86 trap 14: the Launcher sees device-memory accesses this way. */
    public static final int PAGE_FAULT = 14;

    private static final int ADDRESS_OFFSET = 8;

    /** Checks the fields fit the record and keeps a copy of {@code insn} padded to {@link #INSN_BYTES}. */
    public LguestPending {
        if (trap < 0 || trap > 0xFF) {
            throw new IllegalArgumentException("trap " + trap + " does not fit in a byte");
        }
        if (insn.length > INSN_BYTES) {
            throw new IllegalArgumentException(insn.length + " instruction bytes; the record holds " + INSN_BYTES);
        }
        if (address < 0 || address > 0xFFFF_FFFFL) {
            throw new IllegalArgumentException("address " + Long.toHexString(address) + " does not fit in 32 bits");
        }
        insn = Arrays.copyOf(insn, INSN_BYTES);
    }

    /** A copy of the instruction bytes, so the record stays as it was made. */
    @Override
    public byte[] insn() {
        return insn.clone();
    }

    /** The {@link #SIZE} bytes the Host copies to the Launcher's buffer. */
    public byte[] encode() {
        ByteBuffer record = ByteBuffer.allocate(SIZE).order(ByteOrder.LITTLE_ENDIAN);
        record.put((byte) trap).put(insn).putInt((int) address);
        return record.array();
    }

    /** Reads the record at the start of {@code buffer}, which must hold at least {@link #SIZE} bytes. */
    public static LguestPending decode(MemorySegment buffer) {
        if (buffer.byteSize() < SIZE) {
            throw new IllegalArgumentException("a pending trap takes " + SIZE + " bytes, not " + buffer.byteSize());
        }
        int trap = Byte.toUnsignedInt(buffer.get(ValueLayout.JAVA_BYTE, 0));
        byte[] insn = buffer.asSlice(1, INSN_BYTES).toArray(ValueLayout.JAVA_BYTE);
        long address = Integer.toUnsignedLong(
            buffer.get(ValueLayout.JAVA_INT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN), ADDRESS_OFFSET));
        return new LguestPending(trap, insn, address);
    }

    @Override
    public boolean equals(Object other) {
        return other instanceof LguestPending that && trap == that.trap && address == that.address
            && Arrays.equals(insn, that.insn);
    }

    @Override
    public int hashCode() {
        return (trap * 31 + Long.hashCode(address)) * 31 + Arrays.hashCode(insn);
    }

    @Override
    public String toString() {
        return "LguestPending[trap=" + trap + ", insn=" + HexFormat.ofDelimiter(" ").formatHex(insn)
            + ", address=0x" + Long.toHexString(address) + "]";
    }
}
