package org.lguest.api.cpu;

import java.util.Arrays;

/**
 * A guest CPU's register set: lguest's {@code struct lguest_regs}. It is
 * the guest's, not the backend's: the Host core keeps it, the Launcher reads
 * and writes it through GETREG/SETREG, and a new backend resumes from it.
 * Values are the 32-bit register contents. Used by the CPU's owner thread.
 */
public final class LguestRegs {
    private final int[] values = new int[Reg.values().length];

    public int get(Reg reg) {
        return values[reg.ordinal()];
    }

    public void set(Reg reg, int value) {
        values[reg.ordinal()] = value;
    }

    public void copyFrom(LguestRegs other) {
        System.arraycopy(other.values, 0, values, 0, values.length);
    }

    @Override
    public String toString() {
        StringBuilder text = new StringBuilder();
        for (Reg reg : Reg.values()) {
            text.append(text.isEmpty() ? "" : " ").append(reg.name().toLowerCase())
                .append('=').append(String.format("%08x", get(reg)));
        }
        return text.toString();
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof LguestRegs r && Arrays.equals(values, r.values);
    }

    @Override
    public int hashCode() {
        return Arrays.hashCode(values);
    }
}
