package org.lguest.launcher.internal;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;

import java.util.HexFormat;

import org.junit.jupiter.api.Test;

class PortInstructionTest {

    private static PortInstruction decode(String hex) {
        return PortInstruction.decode(MmioInstructionTest.insn(hex));
    }

    @Test
    void eachFormOfInAndOut() {
        assertEquals(new PortInstruction(2, true, 1, 0x64), decode("e4 64")); // in $0x64,%al
        assertEquals(new PortInstruction(2, true, 4, 0x70), decode("e5 70")); // in $0x70,%eax
        assertEquals(new PortInstruction(3, true, 2, 0x70), decode("66 e5 70")); // in $0x70,%ax
        assertEquals(new PortInstruction(2, false, 1, 0x80), decode("e6 80")); // out %al,$0x80
        assertEquals(new PortInstruction(1, true, 4, PortInstruction.PORT_IN_DX), decode("ed")); // in (%dx),%eax
        assertEquals(new PortInstruction(1, true, 1, PortInstruction.PORT_IN_DX), decode("ec"));
        assertEquals(new PortInstruction(1, false, 4, PortInstruction.PORT_IN_DX), decode("ef")); // out %eax,(%dx)
        assertEquals(new PortInstruction(2, false, 2, PortInstruction.PORT_IN_DX), decode("66 ef")); // out %ax,(%dx)
    }

    @Test
    void anythingElseIsNotPortIo() {
        assertNull(decode("fa"), "cli");
        assertNull(decode("8b 02"));
        assertNull(PortInstruction.decode(HexFormat.of().parseHex("e4")), "truncated");
        assertNull(PortInstruction.decode(new byte[0]));
    }
}
