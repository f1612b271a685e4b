package org.lguest.launcher.internal;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.HexFormat;

import org.junit.jupiter.api.Test;
import org.lguest.api.abi.LguestPending;
import org.lguest.api.abi.PtRegs;
import org.lguest.launcher.internal.MmioInstruction.Kind;

/** The decoder against the bytes GNU as emits for each form (objdump shown beside each). */
class MmioInstructionTest {

    /** The Host's seven instruction bytes: the instruction, then whatever follows it in the guest. */
    static byte[] insn(String hex) {
        byte[] code = HexFormat.of().parseHex(hex.replace(" ", ""));
        byte[] seven = new byte[LguestPending.INSN_BYTES];
        java.util.Arrays.fill(seven, (byte) 0x90);
        System.arraycopy(code, 0, seven, 0, Math.min(code.length, seven.length));
        return seven;
    }

    private static MmioInstruction decode(String hex) {
        MmioInstruction decoded = MmioInstruction.decode(insn(hex));
        assertNotNull(decoded, hex);
        return decoded;
    }

    @Test
    void loadsOfEachWidth() {
        MmioInstruction load32 = decode("8b 06"); // mov (%esi),%eax
        assertEquals(new MmioInstruction(2, Kind.LOAD, 4, 0, 4, 0), load32);
        assertEquals(PtRegs.AX, load32.selector());
        assertFalse(load32.keepsUpperBits());
        assertEquals(0xCAFE_F00DL, load32.loadedRegister(0x1111_1111L, 0xCAFE_F00DL));

        MmioInstruction load16 = decode("66 8b 4a 12"); // mov 0x12(%edx),%cx
        assertEquals(new MmioInstruction(4, Kind.LOAD, 2, 1, 2, 0), load16);
        assertEquals(PtRegs.CX, load16.selector());
        assertTrue(load16.keepsUpperBits());
        assertEquals(0xFFFF_0002L, load16.loadedRegister(0xFFFF_FFFFL, 0x0002), "only the low 16 bits change");

        MmioInstruction load8 = decode("8a 56 01"); // mov 0x1(%esi),%dl
        assertEquals(new MmioInstruction(3, Kind.LOAD, 1, 2, 1, 0), load8);
        assertEquals(PtRegs.DX, load8.selector());
        assertEquals(0x1234_56ABL, load8.loadedRegister(0x1234_5678L, 0xFFFF_FFABL), "only DL changes");
    }

    @Test
    void byteRegistersFourToSevenAreTheHighBytes() {
        MmioInstruction bh = decode("8a 7e 08"); // mov 0x8(%esi),%bh
        assertEquals(7, bh.register());
        assertEquals(PtRegs.BX, bh.selector());
        assertEquals(0x1234_0178L, bh.loadedRegister(0x1234_5678L, 0x01));

        for (int reg = 4; reg < 8; reg++) {
            // mov %ah..%bh,(%edx): ModRM 00 reg 010
            MmioInstruction store = decode(String.format("88 %02x", reg << 3 | 2));
            assertEquals(new long[] {PtRegs.AX, PtRegs.CX, PtRegs.DX, PtRegs.BX}[reg - 4], store.selector());
            assertEquals(0x56, store.valueToStore(0x1234_5678L), "bits 8-15 of the register");
        }
        MmioInstruction bl = decode("88 1a"); // mov %bl,(%edx)
        assertEquals(PtRegs.BX, bl.selector());
        assertEquals(0x78, bl.valueToStore(0x1234_5678L));
        MmioInstruction ah = decode("88 62 14"); // mov %ah,0x14(%edx)
        assertEquals(new MmioInstruction(3, Kind.STORE_REGISTER, 1, 4, 1, 0), ah);
        assertEquals(0x03, ah.valueToStore(0x0000_0300L));
    }

    @Test
    void storesOfRegisters() {
        MmioInstruction store32 = decode("89 42 10"); // mov %eax,0x10(%edx)
        assertEquals(new MmioInstruction(3, Kind.STORE_REGISTER, 4, 0, 4, 0), store32);
        assertEquals(0x8765_4321L, store32.valueToStore(0x8765_4321L));

        MmioInstruction store16 = decode("66 89 42 16"); // mov %ax,0x16(%edx)
        assertEquals(new MmioInstruction(4, Kind.STORE_REGISTER, 2, 0, 2, 0), store16);
        assertEquals(0x4321, store16.valueToStore(0x8765_4321L));

        MmioInstruction edi = decode("89 3a"); // mov %edi,(%edx)
        assertEquals(PtRegs.DI, edi.selector());
    }

    @Test
    void zeroExtendingLoads() {
        MmioInstruction byteToLong = decode("0f b6 42 14"); // movzbl 0x14(%edx),%eax
        assertEquals(new MmioInstruction(4, Kind.LOAD_ZERO_EXTEND, 1, 0, 4, 0), byteToLong);
        assertFalse(byteToLong.keepsUpperBits());
        assertEquals(0xAB, byteToLong.loadedRegister(0xFFFF_FFFFL, 0xFFFF_FFABL));

        MmioInstruction wordToLong = decode("0f b7 4e 02"); // movzwl 0x2(%esi),%ecx
        assertEquals(new MmioInstruction(4, Kind.LOAD_ZERO_EXTEND, 2, 1, 4, 0), wordToLong);
        assertEquals(PtRegs.CX, wordToLong.selector());
        assertEquals(0x1043, wordToLong.loadedRegister(0xFFFF_FFFFL, 0x1AF4_1043L));

        MmioInstruction byteToWord = decode("66 0f b6 42 14"); // movzbw 0x14(%edx),%ax
        assertEquals(new MmioInstruction(5, Kind.LOAD_ZERO_EXTEND, 1, 0, 2, 0), byteToWord);
        assertTrue(byteToWord.keepsUpperBits());
        assertEquals(0xFFFF_00ABL, byteToWord.loadedRegister(0xFFFF_FFFFL, 0xAB), "AX only, zero-extended");
        assertEquals(0x0000_0007L, decode("0f b6 3a").loadedRegister(0xFFFF_FFFFL, 7), "movzbl (%edx),%edi");
        assertEquals(PtRegs.DI, decode("0f b6 3a").selector(), "movzx's register is a full register, never BH");
    }

    @Test
    void immediateStoresOfEachWidth() {
        assertEquals(new MmioInstruction(6, Kind.STORE_IMMEDIATE, 4, -1, 4, 1), decode("c7 02 01 00 00 00"));
        assertEquals(new MmioInstruction(7, Kind.STORE_IMMEDIATE, 4, -1, 4, 0x1122_3344L), decode("c7 42 10 44 33 22 11"));
        assertEquals(new MmioInstruction(6, Kind.STORE_IMMEDIATE, 2, -1, 2, 0xBEEF), decode("66 c7 42 10 ef be"));
        MmioInstruction imm8 = decode("c6 42 14 7f");
        assertEquals(new MmioInstruction(4, Kind.STORE_IMMEDIATE, 1, -1, 1, 0x7F), imm8);
        assertEquals(0x7F, imm8.valueToStore(0xFFFF_FFFFL), "an immediate ignores the registers");
        assertEquals(0xFF, decode("c6 02 ff").immediate(), "imm8 is unsigned data, not sign-extended");
        assertNull(MmioInstruction.decode(insn("c7 4a 10 01 00 00 00")), "C7 /1 is no mov");
        assertNull(MmioInstruction.decode(insn("c6 c0 01")), "mov $1,%al: a register, not memory");
    }

    @Test
    void absoluteAddressForms() {
        assertEquals(new MmioInstruction(5, Kind.LOAD, 4, 0, 4, 0), decode("a1 00 80 00 e0")); // mov 0xe0008000,%eax
        assertEquals(new MmioInstruction(6, Kind.LOAD, 2, 0, 2, 0), decode("66 a1 00 80 00 e0")); // %ax
        assertEquals(new MmioInstruction(5, Kind.LOAD, 1, 0, 1, 0), decode("a0 00 80 00 e0")); // %al
        assertEquals(new MmioInstruction(5, Kind.STORE_REGISTER, 4, 0, 4, 0), decode("a3 00 80 00 e0"));
        assertEquals(new MmioInstruction(5, Kind.STORE_REGISTER, 1, 0, 1, 0), decode("a2 00 80 00 e0"));
        assertEquals(0x34, decode("a0 00 80 00 e0").loadedRegister(0x1234_5600L, 0x34) & 0xFF);
    }

    @Test
    void theLengthOfEachAddressingForm() {
        assertEquals(2, decode("8b 06").length(), "(%esi)");
        assertEquals(3, decode("8b 04 24").length(), "(%esp): SIB");
        assertEquals(3, decode("8b 45 00").length(), "0x0(%ebp): mod 01 rm 101 is EBP + disp8");
        assertEquals(3, decode("8a 7e 08").length(), "disp8");
        assertEquals(4, decode("8b 54 3e 10").length(), "SIB + disp8");
        assertEquals(6, decode("8b 15 78 56 34 12").length(), "mod 00 rm 101: disp32 (lguest counted 2)");
        assertEquals(6, decode("8b 93 78 56 34 12").length(), "mod 10: disp32");
        assertEquals(7, decode("8b 14 bd 78 56 34 12").length(), "SIB with base 101 and mod 00: disp32");
        assertEquals(7, decode("8b 0c 05 00 00 00 00").length());
        assertEquals(7, decode("8b 94 3a 78 56 34 12").length(), "mod 10 with SIB: SIB + disp32");
    }

    @Test
    void whatIsNotUnderstoodIsRefused() {
        assertNull(MmioInstruction.decode(insn("89 d8")), "mov %ebx,%eax: mod 11 is no memory access");
        assertNull(MmioInstruction.decode(insn("a5")), "movsl");
        assertNull(MmioInstruction.decode(insn("f3 a5")), "rep movsl");
        assertNull(MmioInstruction.decode(insn("01 02")), "add %eax,(%edx)");
        assertNull(MmioInstruction.decode(insn("64 8b 02")), "a segment prefix");
        assertNull(MmioInstruction.decode(insn("67 8b 02")), "16-bit addressing");
        assertNull(MmioInstruction.decode(insn("66 66 8b 02")), "a second prefix");
        assertNull(MmioInstruction.decode(insn("0f b8 02")), "0F opcodes other than movzx");
        assertNull(MmioInstruction.decode(insn("0f be 02")), "movsx is not emulated");
    }

    @Test
    void anInstructionLongerThanTheSevenBytesIsRefused() {
        // movl $0x12345678,0x12345678(%edx,%edi,1): C7 84 3A disp32 imm32, 11 bytes.
        assertNull(MmioInstruction.decode(HexFormat.of().parseHex("c7843a78563412")));
        // movl $1,0x12345678(%edx): 10 bytes.
        assertNull(MmioInstruction.decode(insn("c7 82 78 56 34 12 01 00 00 00")));
        // Fewer bytes than the instruction needs (the Host gives seven; a short array is as good as truncated).
        assertNull(MmioInstruction.decode(HexFormat.of().parseHex("8b15785634")));
        assertNull(MmioInstruction.decode(new byte[0]));
        assertNull(MmioInstruction.decode(HexFormat.of().parseHex("66")));
        assertNull(MmioInstruction.decode(HexFormat.of().parseHex("0f")));
    }
}
