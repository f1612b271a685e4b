package org.lguest.device.internal;

/** The few printf conversions lguest's kill messages use, with C's output. */
final class Fmt {
    private Fmt() {
    }

    /** C's {@code %#lx}: "0" for zero (the '#' flag adds no prefix to 0), else "0x" and lower-case hex. */
    static String hex(long value) {
        return value == 0 ? "0" : "0x" + Long.toHexString(value);
    }

    /** C's {@code %li} / {@code %i} of a 32-bit guest value: signed decimal. */
    static String signed(long value) {
        return Integer.toString((int) value);
    }

    /** C's {@code %u} of a 32-bit guest value: unsigned decimal. */
    static String unsigned(long value) {
        return Long.toString(value & 0xFFFF_FFFFL);
    }
}
