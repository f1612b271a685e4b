package org.lguest.launcher.internal;

import org.lguest.api.abi.LguestPending;
import org.lguest.api.abi.PtRegs;

/**
 * A guest instruction that touched device memory, decoded as lguest's
 * {@code emulate_mmio()} decoded one, but with 32-bit addressing right and
 * the {@code mov} forms a guest's compiler emits for device registers:
 * <ul>
 * <li>{@code 88}/{@code 89}: store r8, or r32 (r16 after {@code 66});</li>
 * <li>{@code 8A}/{@code 8B}: load into r8, or r32 (r16 after {@code 66});</li>
 * <li>{@code A0}-{@code A3}: the same with {@code AL}/{@code EAX} and an
 *     absolute address ({@code moffs32}, what gcc emits for a constant address);</li>
 * <li>{@code 0F B6}/{@code 0F B7}: {@code movzx} r32 (r16 after {@code 66}) from m8/m16;</li>
 * <li>{@code C6 /0}/{@code C7 /0}: store an immediate (imm8, imm32, imm16 after {@code 66}).</li>
 * </ul>
 * Anything else (other prefixes, register operands, other opcodes) is not
 * understood: the Launcher hands the fault back to the guest.
 *
 * @param length the instruction's bytes: where EIP goes next
 * @param kind what it does
 * @param size bytes of device memory it reads or writes (1, 2 or 4)
 * @param register the register operand's number in the instruction (for
 *        byte operations 0-3 are AL, CL, DL, BL and 4-7 AH, CH, DH, BH); -1 when none
 * @param width bytes of the register it loads (for {@code movzx}, the destination's), else {@code size}
 * @param immediate the value a {@link Kind#STORE_IMMEDIATE} writes
 */
record MmioInstruction(int length, Kind kind, int size, int register, int width, long immediate) {

    enum Kind {
        /** Device memory into the register's low {@code size} bytes; the rest of the register stays. */
        LOAD,
        /** Device memory, zero-extended to the register's {@code width} bytes. */
        LOAD_ZERO_EXTEND,
        STORE_REGISTER,
        STORE_IMMEDIATE
    }


    private static final int OPERAND_SIZE_PREFIX = 0x66;
    /** ptrace selectors by x86 register number: EAX, ECX, EDX, EBX, ESP, EBP, ESI, EDI. */
    private static final long[] SELECTORS = {PtRegs.AX, PtRegs.CX, PtRegs.DX, PtRegs.BX, PtRegs.SP, PtRegs.BP,
        PtRegs.SI, PtRegs.DI};

    /**
     * Decodes the first instruction in {@code insn}; null when it is not one of
     * the forms above, or is longer than the bytes the Host gave (a {@code C7}
     * with SIB, disp32 and imm32 is 11 bytes: the last ones are not there, so it
     * cannot be emulated and goes back to the guest).
     */
    static MmioInstruction decode(byte[] insn) {
        return new Decoder(insn).decode();
    }

    /** The ptrace selector of the register operand (for AH..BH, the full register they are part of). */
    long selector() {
        return SELECTORS[byteRegister() ? register & 3 : register];
    }

    /** Whether a load must read the register first: it keeps the bits the load does not reach. */
    boolean keepsUpperBits() {
        return (kind == Kind.LOAD || kind == Kind.LOAD_ZERO_EXTEND) && width < 4;
    }

    /** What a store writes to device memory, given the register's value. */
    long valueToStore(long registerValue) {
        if (kind == Kind.STORE_IMMEDIATE) {
            return immediate;
        }
        return (registerValue >>> shift()) & mask(size);
    }

    /** The register's new value after a load of {@code memoryValue}, given its old value. */
    long loadedRegister(long oldValue, long memoryValue) {
        long bits = kind == Kind.LOAD_ZERO_EXTEND ? mask(width) : mask(size) << shift();
        long value = (memoryValue & mask(size)) << shift();
        return ((oldValue & ~bits) | (value & bits)) & 0xFFFF_FFFFL;
    }

    /** Byte operations name AH, CH, DH, BH as 4-7: bits 8-15 of EAX, ECX, EDX, EBX. */
    private boolean byteRegister() {
        return width == 1 && register >= 0;
    }

    private int shift() {
        return byteRegister() && register >= 4 ? 8 : 0;
    }

    static long mask(int bytes) {
        return bytes >= 8 ? -1L : (1L << (8 * bytes)) - 1;
    }

    /** One pass over the bytes; any read past the seventh byte means "not understood". */
    private static final class Decoder {
        private final byte[] insn;
        private int at;
        private boolean truncated;

        Decoder(byte[] insn) {
            this.insn = insn;
        }

        private int next() {
            if (at >= insn.length || at >= LguestPending.INSN_BYTES) {
                truncated = true;
                at++;
                return 0;
            }
            return Byte.toUnsignedInt(insn[at++]);
        }

        private long little(int bytes) {
            long value = 0;
            for (int i = 0; i < bytes; i++) {
                value |= (long) next() << (8 * i);
            }
            return value;
        }

        MmioInstruction decode() {
            boolean operand16 = false;
            int op = next();
            if (op == OPERAND_SIZE_PREFIX) {
                operand16 = true;
                op = next();
            }
            int wide = operand16 ? 2 : 4;
            MmioInstruction decoded = switch (op) {
                case 0x88 -> withModrm(Kind.STORE_REGISTER, 1, 1);
                case 0x89 -> withModrm(Kind.STORE_REGISTER, wide, wide);
                case 0x8A -> withModrm(Kind.LOAD, 1, 1);
                case 0x8B -> withModrm(Kind.LOAD, wide, wide);
                case 0xA0 -> absolute(Kind.LOAD, 1);
                case 0xA1 -> absolute(Kind.LOAD, wide);
                case 0xA2 -> absolute(Kind.STORE_REGISTER, 1);
                case 0xA3 -> absolute(Kind.STORE_REGISTER, wide);
                case 0xC6 -> immediate(1);
                case 0xC7 -> immediate(wide);
                case 0x0F -> switch (next()) {
                    case 0xB6 -> withModrm(Kind.LOAD_ZERO_EXTEND, 1, wide);
                    case 0xB7 -> withModrm(Kind.LOAD_ZERO_EXTEND, 2, wide);
                    default -> null;
                };
                default -> null;
            };
            return truncated ? null : decoded;
        }

        private MmioInstruction withModrm(Kind kind, int size, int width) {
            int reg = memoryOperand();
            return reg < 0 ? null : new MmioInstruction(at, kind, size, reg, width, 0);
        }

        /** {@code A0}-{@code A3}: the register is AL/AX/EAX, the address a 32-bit offset. */
        private MmioInstruction absolute(Kind kind, int size) {
            little(4);
            return new MmioInstruction(at, kind, size, 0, size, 0);
        }

        /** {@code C6}/{@code C7}: only {@code /0} is a mov. */
        private MmioInstruction immediate(int size) {
            int reg = memoryOperand();
            if (reg != 0) {
                return null;
            }
            long value = little(size);
            return new MmioInstruction(at, Kind.STORE_IMMEDIATE, size, -1, size, value);
        }

        /**
         * Steps over ModRM, SIB and displacement with 32-bit addressing; the
         * ModRM reg field, or -1 when the operand is a register, not memory.
         */
        private int memoryOperand() {
            int modrm = next();
            int mod = modrm >>> 6;
            int reg = (modrm >>> 3) & 7;
            int rm = modrm & 7;
            if (mod == 3) {
                return -1;
            }
            int displacement = switch (mod) {
                case 1 -> 1;
                case 2 -> 4;
                default -> rm == 5 ? 4 : 0;
            };
            if (rm == 4) {
                int sib = next();
                if (mod == 0 && (sib & 7) == 5) {
                    displacement = 4;
                }
            }
            little(displacement);
            return reg;
        }
    }
}
