package org.lguest.api.abi;

/**
 * Register selectors for {@link Lhreq#GETREG} and {@link Lhreq#SETREG}: the
 * seed reuses the ptrace structure, so a register is named by its byte offset
 * in the i386 {@code struct pt_regs}.
 */
public final class PtRegs {
    public static final long BX = 0;
    public static final long CX = 4;
    public static final long DX = 8;
    public static final long SI = 12;
    public static final long DI = 16;
    public static final long BP = 20;
    public static final long AX = 24;
    public static final long DS = 28;
    public static final long ES = 32;
    public static final long FS = 36;
    public static final long GS = 40;
    public static final long ORIG_AX = 44;
    public static final long IP = 48;
    public static final long CS = 52;
    public static final long FLAGS = 56;
    public static final long SP = 60;
    public static final long SS = 64;

    private PtRegs() {
    }

    private static final String[] NAMES = {
        "bx", "cx", "dx", "si", "di", "bp", "ax", "ds", "es", "fs", "gs", "orig_ax", "ip", "cs", "flags", "sp", "ss"};

    /** The lower-case ptrace name of a selector ("ax", "ip", ...), or null when it names no register. */
    public static String name(long selector) {
        if (selector < BX || selector > SS || selector % 4 != 0) {
            return null;
        }
        return NAMES[(int) (selector / 4)];
    }

    /** The selector for a ptrace register name, or -1 when there is none. */
    public static long byName(String name) {
        for (int i = 0; i < NAMES.length; i++) {
            if (NAMES[i].equalsIgnoreCase(name)) {
                return i * 4L;
            }
        }
        return -1;
    }
}
