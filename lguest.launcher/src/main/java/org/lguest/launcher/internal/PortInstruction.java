package org.lguest.launcher.internal;

/**
 * An {@code in} or {@code out} the Host handed over as trap 13, decoded as
 * lguest's Launcher decoded one ({@code emulate_insn()}): {@code E4}/{@code E5}
 * and {@code E6}/{@code E7} with an 8-bit port, {@code EC}/{@code ED} and
 * {@code EE}/{@code EF} with the port in DX; the low bit picks AL or EAX (AX
 * after {@code 66}).
 *
 * @param length the instruction's bytes
 * @param in whether it reads the port into EAX
 * @param size 1, 2 or 4 bytes
 * @param port the port, or -1 when it is in DX
 */
record PortInstruction(int length, boolean in, int size, int port) {
    static final int PORT_IN_DX = -1;

    /** The instruction at the start of {@code insn}, or null when it is no {@code in}/{@code out}. */
    static PortInstruction decode(byte[] insn) {
        if (insn.length < 1) {
            return null;
        }
        boolean operand16 = Byte.toUnsignedInt(insn[0]) == 0x66;
        int at = operand16 ? 1 : 0;
        if (insn.length < at + 1) {
            return null;
        }
        int op = Byte.toUnsignedInt(insn[at]);
        int size = (op & 1) == 0 ? 1 : operand16 ? 2 : 4;
        return switch (op & 0xFE) {
            case 0xE4, 0xE6 -> insn.length < at + 2 ? null
                : new PortInstruction(at + 2, op < 0xE6, size, Byte.toUnsignedInt(insn[at + 1]));
            case 0xEC, 0xEE -> new PortInstruction(at + 1, op < 0xEE, size, PORT_IN_DX);
            default -> null;
        };
    }
}
