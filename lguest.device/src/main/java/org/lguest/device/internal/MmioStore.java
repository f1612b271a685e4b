package org.lguest.device.internal;

/**
 * Just enough x86 decoding for the Host's ioeventfd: is the instruction
 * that faulted in device memory a {@code mov} to memory, and how long is
 * it, so the Host can signal the eventfd and step over it without the
 * Launcher. Everything else (loads, string moves, anything unusual) is
 * left to the Launcher, which decodes and emulates in full. 32-bit
 * addressing only, as the guest runs in protected mode with 32-bit
 * segments.
 */
final class MmioStore {
    private MmioStore() {
    }

    /** The length of a store to memory at the start of {@code insn}, or -1 when it is no such store. */
    static int length(byte[] insn) {
        int at = 0;
        boolean operand16 = false;
        if (at < insn.length && (insn[at] & 0xFF) == 0x66) {
            operand16 = true;
            at++;
        }
        if (at >= insn.length) {
            return -1;
        }
        int opcode = insn[at++] & 0xFF;
        int length = switch (opcode) {
            case 0x88 -> operand16 ? -1 : modrm(insn, at, false);
            case 0x89 -> modrm(insn, at, false);
            case 0xC6 -> operand16 ? -1 : plus(modrm(insn, at, true), 1);
            case 0xC7 -> plus(modrm(insn, at, true), operand16 ? 2 : 4);
            case 0xA2 -> operand16 ? -1 : 4; // mov %al,moffs32
            case 0xA3 -> 4; // mov %ax/%eax,moffs32
            default -> -1;
        };
        if (length < 0) {
            return -1;
        }
        int total = at + length;
        return total <= insn.length ? total : -1;
    }

    private static int plus(int length, int immediate) {
        return length < 0 ? -1 : length + immediate;
    }

    /** Bytes from the ModRM byte on (ModRM, SIB, displacement); -1 for a register operand or a C6/C7 with reg != 0. */
    private static int modrm(byte[] insn, int at, boolean immediateForm) {
        if (at >= insn.length) {
            return -1;
        }
        int modrm = insn[at] & 0xFF;
        int mod = modrm >>> 6;
        int reg = (modrm >>> 3) & 7;
        int rm = modrm & 7;
        if (mod == 3 || immediateForm && reg != 0) {
            return -1;
        }
        int length = 1;
        int base = rm;
        if (rm == 4) {
            if (at + 1 >= insn.length) {
                return -1;
            }
            base = insn[at + 1] & 7;
            length++;
        }
        if (mod == 1) {
            length += 1;
        } else if (mod == 2 || mod == 0 && base == 5) {
            length += 4;
        }
        return length;
    }
}
