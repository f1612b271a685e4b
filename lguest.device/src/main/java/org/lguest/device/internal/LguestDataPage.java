package org.lguest.device.internal;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.time.Instant;

import org.lguest.api.abi.LguestData;
import org.lguest.api.abi.Lhcall;

/*H:035
 * struct lguest_data: the page the Guest shares with the Host, at the
 * guest-physical address LHCALL_LGUEST_INIT gave us. The whole structure
 * was checked against the page-frame limit then, so each access here can
 * only fail if the Launcher's memory went away: every method says whether
 * it worked, and the caller kills the Guest with lguest's words for that
 * place. Reads answer -1 when they fail (the fields are 32-bit).
 */
final class LguestDataPage {
    private final GuestMemory memory;
    private final long base;

    LguestDataPage(GuestMemory memory, long base) {
        this.memory = memory;
        this.base = base;
    }

    /** Guest-physical address of the structure. */
    long base() {
        return base;
    }

    private long read32(int offset) {
        int[] word = new int[1];
        return memory.tryRead32(base + offset, word) ? word[0] & 0xFFFF_FFFFL : -1;
    }

    /** X86_EFLAGS_IF when the Guest takes interrupts. */
    long irqEnabled() {
        return read32(LguestData.IRQ_ENABLED);
    }

    boolean setIrqEnabled(int value) {
        return memory.put32(base + LguestData.IRQ_ENABLED, value);
    }

    /** The Guest's one-word bitmap of blocked interrupts (LGUEST_IRQS bits), or -1. */
    long blockedInterrupts() {
        return read32(LguestData.BLOCKED_INTERRUPTS);
    }

    boolean setCr2(long cr2) {
        return memory.put32(base + LguestData.CR2, (int) cr2);
    }

    /** The wall-clock time, a 32-bit struct timespec. */
    boolean setTime(Instant now) {
        return memory.put32(base + LguestData.TIME, (int) now.getEpochSecond())
            && memory.put32(base + LguestData.TIME + 4, now.getNano());
    }

    boolean setIrqPending(int value) {
        return memory.put32(base + LguestData.IRQ_PENDING, value);
    }

    /** The status byte of every slot of the asynchronous hypercall ring. */
    boolean hcallStatus(byte[] into) {
        return memory.copyIn(base + LguestData.HCALL_STATUS, into);
    }

    /** The arguments (arg0, the call, to arg4) of ring slot {@code slot}, or null. */
    long[] hcallArgs(int slot) {
        byte[] raw = new byte[LguestData.HCALL_ARGS_SIZE];
        if (!memory.copyIn(base + LguestData.HCALLS + (long) slot * LguestData.HCALL_ARGS_SIZE, raw)) {
            return null;
        }
        ByteBuffer b = ByteBuffer.wrap(raw).order(ByteOrder.LITTLE_ENDIAN);
        long[] args = new long[5];
        for (int a = 0; a < args.length; a++) {
            args[a] = b.getInt() & 0xFFFF_FFFFL;
        }
        return args;
    }

    /** Marks ring slot {@code slot} done (0xFF). */
    boolean hcallDone(int slot) {
        return slot >= 0 && slot < Lhcall.RING_SIZE
            && memory.put8(base + LguestData.HCALL_STATUS + slot, LguestData.HCALL_SLOT_EMPTY);
    }

    boolean setReserveMem(int bytes) {
        return memory.put32(base + LguestData.RESERVE_MEM, bytes);
    }

    boolean setTscKhz(int khz) {
        return memory.put32(base + LguestData.TSC_KHZ, khz);
    }

    /** The address of the Guest's interrupt-return iret. */
    long noirqIret() {
        return read32(LguestData.NOIRQ_IRET);
    }

    long kernelAddress() {
        return read32(LguestData.KERNEL_ADDRESS);
    }

    long syscallVec() {
        return read32(LguestData.SYSCALL_VEC);
    }
}
