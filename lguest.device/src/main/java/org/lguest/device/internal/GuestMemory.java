package org.lguest.device.internal;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;

import org.lguest.api.abi.Lguest;

/*H:032
 * Host access to Guest-physical memory. A Guest-physical address is an
 * offset into the segment the Launcher gave at INITIALIZE. Addresses come
 * from the Guest, so each range is checked against pfnLimit before use
 * (lguest_address_ok); a bad one kills the Guest with the same message
 * Linux uses. A failed read yields zeroes so callers need no error path:
 * the dead Guest will not run again to see them.
 */
final class GuestMemory {
    private static final ValueLayout.OfInt U32 = ValueLayout.JAVA_INT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);

    private final MemorySegment ram;
    private final long pfnLimit;

    GuestMemory(MemorySegment ram, long pfnLimit) {
        this.ram = ram;
        this.pfnLimit = pfnLimit;
    }

    MemorySegment ram() {
        return ram;
    }

    long pfnLimit() {
        return pfnLimit;
    }

    /**
     * lguest_address_ok(): the range must end below the page-frame limit,
     * and must not wrap. (As in lguest, this also refuses a range that ends
     * exactly at the limit.)
     */
    boolean addressOk(long addr, long len) {
        long end = addr + len;
        return addr >= 0 && len >= 0 && end >= addr && end / Lguest.PAGE_SIZE < pfnLimit;
    }

    /** __lgread(): {@code len} bytes at guest-physical {@code addr}, or zeroes and a dead guest. */
    byte[] read(Guest lg, long addr, int len) {
        byte[] bytes = new byte[len];
        if (!addressOk(addr, len) || !copyIn(addr, bytes)) {
            java.util.Arrays.fill(bytes, (byte) 0);
            lg.kill("bad read address " + Fmt.hex(addr) + " len " + len);
        }
        return bytes;
    }

    /** lgread() of a u32. */
    int read32(Guest lg, long addr) {
        if (!addressOk(addr, 4)) {
            lg.kill("bad read address " + Fmt.hex(addr) + " len 4");
            return 0;
        }
        try {
            return ram.get(U32, addr);
        } catch (RuntimeException e) {
            lg.kill("bad read address " + Fmt.hex(addr) + " len 4");
            return 0;
        }
    }

    /** __lgwrite(). */
    void write(Guest lg, long addr, byte[] bytes) {
        if (!addressOk(addr, bytes.length) || !copyOut(addr, bytes)) {
            lg.kill("bad write address " + Fmt.hex(addr) + " len " + bytes.length);
        }
    }

    /** lgwrite() of a u32. */
    void write32(Guest lg, long addr, int value) {
        if (!addressOk(addr, 4) || !put32(addr, value)) {
            lg.kill("bad write address " + Fmt.hex(addr) + " len 4");
        }
    }

    /** lgwrite() of a u8. */
    void write8(Guest lg, long addr, int value) {
        write(lg, addr, new byte[] {(byte) value});
    }

    /**
     * get_user() on a range already checked (lguest_data, checked once at
     * LGUEST_INIT): false only if the Launcher's memory went away.
     */
    boolean tryRead32(long addr, int[] into) {
        try {
            into[0] = ram.get(U32, addr);
            return true;
        } catch (RuntimeException e) {
            return false;
        }
    }

    /** put_user() on a range already checked. */
    boolean put32(long addr, int value) {
        try {
            ram.set(U32, addr, value);
            return true;
        } catch (RuntimeException e) {
            return false;
        }
    }

    /** put_user() of a byte on a range already checked. */
    boolean put8(long addr, int value) {
        try {
            ram.set(ValueLayout.JAVA_BYTE, addr, (byte) value);
            return true;
        } catch (RuntimeException e) {
            return false;
        }
    }

    /** copy_from_user() on a range already checked. */
    boolean copyIn(long addr, byte[] into) {
        try {
            MemorySegment.copy(ram, ValueLayout.JAVA_BYTE, addr, into, 0, into.length);
            return true;
        } catch (RuntimeException e) {
            return false;
        }
    }

    private boolean copyOut(long addr, byte[] bytes) {
        try {
            MemorySegment.copy(bytes, 0, ram, ValueLayout.JAVA_BYTE, addr, bytes.length);
            return true;
        } catch (RuntimeException e) {
            return false;
        }
    }
}
