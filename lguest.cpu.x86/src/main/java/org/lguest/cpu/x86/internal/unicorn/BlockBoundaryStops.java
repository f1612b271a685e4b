package org.lguest.cpu.x86.internal.unicorn;

import static java.lang.foreign.ValueLayout.JAVA_BYTE;
import static java.lang.foreign.ValueLayout.JAVA_INT_UNALIGNED;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;

/**
 * Makes a stop from another thread take effect only between translated
 * blocks, where Unicorn knows the guest's EIP.
 * <p>
 * Why: Unicorn (2.0.1 and 2.1.1 alike) compiles an exit check after every guest memory access
 * ({@code check_exit_request}), so that a hook can stop emulation at once.
 * A {@code uc_emu_stop} from another thread (our kick) can hit one of those
 * checks in the middle of a block; the block then leaves with "not started"
 * and the engine reports a stale EIP, so the instructions already done run
 * again (lguest.itest/README.md, fuzz finding 1: an {@code incl} counted
 * twice). The check at the start of each block is separate and always syncs
 * EIP correctly.
 * <p>
 * Unicorn has a per-engine flag that leaves the mid-block checks out of the
 * code it translates ({@code uc_struct.no_exit_request}, used for ARM IT
 * blocks). Its offset is not exported: it is read from the machine code of
 * the exported {@code check_exit_request_x86_64}, which early on loads
 * {@code tcg_ctx->uc} into a register and compares that flag with zero (2.1
 * builds put {@code endbr64}, and some a prologue, before the pair), and
 * then confirmed on a probe engine. Nothing is hard-coded; a library built
 * otherwise is refused with a message.
 * <p>
 * What the flag costs: a hook that stops emulation now stops it at the end
 * of the block rather than after the access. The backend's hooks do not rely
 * on that: faults and interrupts leave through QEMU's exception path, and an
 * access to memory the engine lacks is fatal for the guest anyway.
 *
 * @param flagOffset byte offset of {@code no_exit_request} in Unicorn's engine structure
 */
public record BlockBoundaryStops(long flagOffset) {
    static final String SYMBOL = "check_exit_request_x86_64";
    private static final int PROBE_CODE = 0x1000;
    /** inc %ecx three times, then hlt: one translated block. */
    private static final byte[] PROBE = {0x41, 0x41, 0x41, (byte) 0xF4};
    private static final long PROBE_END = PROBE_CODE + 3;
    /** How far into the function the pair is looked for; 2.1.4's prologue puts it at byte 26. */
    private static final int SCAN_BYTES = 64;
    /** The pair: {@code mov disp32(%rdi),%reg} (7 bytes), {@code cmpb $0,disp32(%reg)} (7), {@code je}/{@code jne} (1). */
    private static final int PAIR_BYTES = 15;
    private static final int MODRM_DISP32 = 0b10, RDI = 7, RSP = 4, CMP = 7;
    /** An x86 displacement is little-endian whatever the host's order. */
    private static final ValueLayout.OfInt DISP32 = JAVA_INT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);

    /** Leaves the mid-block exit checks out of everything this engine translates; call before it runs. */
    public void apply(Engine engine) {
        // SAFETY: flagOffset is what calibrate() found in this library's code and checked on a probe engine (see
        // Engine.setEngineByte); the record is built nowhere else.
        engine.setEngineByte(flagOffset, (byte) 1);
    }

    /**
     * Finds the flag and checks it does what it should.
     *
     * @throws IllegalStateException when the code does not look as expected or the probe disagrees
     */
    public static BlockBoundaryStops calibrate(Unicorn unicorn) {
        BlockBoundaryStops stops = new BlockBoundaryStops(locate(unicorn.exitCheckCode));
        int withChecks = probe(unicorn, null);
        int withoutChecks = probe(unicorn, stops);
        if (withChecks != 1 || withoutChecks != 3) {
            throw new IllegalStateException(String.format("Unicorn's exit-request flag at offset %#x does not behave as expected "
                    + "(a stop from a code hook ran %d of 3 instructions, %d with the flag set; expected 1 and 3): "
                    + "this libunicorn build is not one the backend knows (Unicorn 2.1.1 is)", stops.flagOffset, withChecks,
                    withoutChecks));
        }
        return stops;
    }

    /**
     * Looks, in the first {@value #SCAN_BYTES} bytes of {@code code} (or
     * fewer when the segment is shorter), for {@code mov disp32(%rdi),%reg}
     * ({@code tcg_ctx->uc}) followed at once by {@code cmpb $0,disp32(%reg)}
     * with the same register and a conditional jump: the second displacement
     * is the flag's offset.
     */
    static long locate(MemorySegment code) {
        if (code == null || code.equals(MemorySegment.NULL)) {
            throw new IllegalStateException("Unicorn exports no " + SYMBOL + ": cannot make stops wait for a block boundary; "
                    + "this libunicorn is not a build the backend knows (Unicorn 2.1.1 is)");
        }
        // A symbol comes back as a zero-length segment: its function is at least this long.
        // SAFETY: only read, from the library's text, mapped as long as it is loaded; in 2.1 builds the function goes on
        // past the pair (at byte 26 at most), and any bytes past its end would be the next function's, mapped as well.
        MemorySegment bytes = code.byteSize() == 0 ? code.reinterpret(SCAN_BYTES) : code.asSlice(0, Math.min(SCAN_BYTES, code.byteSize()));
        for (long at = 0; at + PAIR_BYTES <= bytes.byteSize(); at++) {
            int load = u8(bytes, at + 2), compare = u8(bytes, at + 8);
            boolean loadsUc = u8(bytes, at) == 0x48 && u8(bytes, at + 1) == 0x8B && load >>> 6 == MODRM_DISP32 && (load & 7) == RDI;
            int register = load >>> 3 & 7;
            boolean comparesByte = u8(bytes, at + 7) == 0x80 && compare >>> 6 == MODRM_DISP32 && (compare >>> 3 & 7) == CMP
                    && (compare & 7) == register && register != RSP && u8(bytes, at + 13) == 0x00;
            boolean branches = u8(bytes, at + 14) == 0x74 || u8(bytes, at + 14) == 0x75;
            if (loadsUc && comparesByte && branches) {
                return Integer.toUnsignedLong(bytes.get(DISP32, at + 9));
            }
        }
        throw new IllegalStateException(String.format("%s does not load and test the exit-request flag as Unicorn 2.1.1 does "
                + "(first bytes %s): cannot find the flag, and without it a kick can make a guest instruction run twice", SYMBOL,
                hex(bytes.asSlice(0, Math.min(16, bytes.byteSize())))));
    }

    /** How many of the probe's three instructions ran when a code hook on the second one asked to stop. */
    private static int probe(Unicorn unicorn, BlockBoundaryStops stops) {
        try (Arena arena = Arena.ofConfined(); Engine engine = Engine.open(unicorn)) {
            if (stops != null) {
                stops.apply(engine);
            }
            MemorySegment ram = arena.allocate(64 * 1024, 4096);
            MemorySegment.copy(PROBE, 0, ram, JAVA_BYTE, PROBE_CODE, PROBE.length);
            // SAFETY: resources close in reverse order, so the engine is closed before the arena frees the RAM.
            engine.mapPointer(0, ram);
            engine.stopAt(PROBE_CODE + 1);
            engine.write(Unicorn.ECX, 0);
            engine.run(PROBE_CODE, PROBE_END);
            return (int) engine.read(Unicorn.ECX);
        }
    }

    private static int u8(MemorySegment bytes, long at) {
        return Byte.toUnsignedInt(bytes.get(JAVA_BYTE, at));
    }

    private static String hex(MemorySegment bytes) {
        StringBuilder text = new StringBuilder();
        for (long i = 0; i < bytes.byteSize(); i++) {
            text.append(String.format("%02x", u8(bytes, i)));
        }
        return text.toString();
    }
}
