package org.lguest.cpu.x86.internal;

import static java.lang.foreign.ValueLayout.JAVA_BYTE;
import static java.lang.foreign.ValueLayout.JAVA_INT;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.ArrayList;
import java.util.List;
import java.util.function.IntPredicate;

import org.lguest.api.abi.Lguest;
import org.lguest.api.cpu.HostArea;
import org.lguest.api.cpu.LguestRegs;
import org.lguest.api.cpu.Reg;
import org.lguest.cpu.x86.internal.unicorn.Engine;
import org.lguest.cpu.x86.internal.unicorn.Unicorn;

/**
 * Where three fields of QEMU's CPU state sit inside a saved
 * {@code uc_context}, found at start-up by watching a probe engine take
 * known traps. Nothing here is hard-coded: the offsets change with the
 * build of the library.
 * <ul>
 * <li>{@code old_exception}: Unicorn never clears it after its hook takes a
 * fault (unicorn issue #1883), so the next fault would become a double
 * fault and the one after a silent triple fault. Writing -1 there after
 * every fault is the fix.
 * <li>{@code error_code}: Unicorn pushes nothing; the error code of a fault
 * lives only here.
 * <li>{@code exception_is_int}: tells an {@code int n} from a fault with the
 * same vector.
 * </ul>
 *
 * @param oldException byte offset of old_exception
 * @param errorCode byte offset of error_code
 * @param exceptionIsInt byte offset of exception_is_int
 */
record ContextLayout(int oldException, int errorCode, int exceptionIsInt) {

    private static final int PROBE_RAM = 64 * 1024;
    private static final int CODE = 0x1000, SELECTORS = 0x1800;
    private static final int DIVIDE_ERROR = 0, GENERAL_PROTECTION = 13, HYPERCALL = 0x1F;
    private static final int FIRST_SELECTOR = 0x1230, SECOND_SELECTOR = 0x2340;

    /** Clears old_exception in a saved context (then restore it). */
    void clearOldException(MemorySegment context) {
        context.set(JAVA_INT, oldException, -1);
    }

    int errorCode(MemorySegment context) {
        return context.get(JAVA_INT, errorCode);
    }

    boolean isSoftwareInterrupt(MemorySegment context) {
        return context.get(JAVA_INT, exceptionIsInt) != 0;
    }

    /**
     * Runs the probe: one divide error, two general-protection faults with
     * known error codes, one {@code int $0x1f}.
     *
     * @throws IllegalStateException when a field is not found exactly once
     */
    static ContextLayout calibrate(Unicorn unicorn) {
        try (Arena arena = Arena.ofConfined(); HostArea area = new HostArea(Switcher.PAGES); Engine engine = Engine.open(unicorn)) {
            MemorySegment ram = arena.allocate(PROBE_RAM, 4096);
            // SAFETY: resources close in reverse order: the engine first, then the host area and the arena it maps.
            engine.mapPointer(0, ram);
            engine.mapPointer(area.base(), area.memory());
            Switcher switcher = Switcher.allocate(area);
            switcher.install(engine);
            engine.write(Unicorn.CR0, engine.read(Unicorn.CR0) | 1); // protected mode; paging is not needed here
            long[] gdt = new long[Lguest.GDT_ENTRIES];
            GdtRules.load(gdt, Lguest.GDT_ENTRY_KERNEL_CS, Descriptors.flatCode(0));
            GdtRules.load(gdt, Lguest.GDT_ENTRY_KERNEL_DS, Descriptors.flatData(0));
            switcher.loadGuestGdt(gdt);

            byte[] code = {
                    0x31, (byte) 0xC9, (byte) 0xF7, (byte) 0xF1,          // 0x1000: xor %ecx,%ecx; div %ecx
                    (byte) 0x8E, 0x1D, 0x00, 0x18, 0x00, 0x00,            // 0x1004: mov 0x1800,%ds
                    (byte) 0x8E, 0x1D, 0x04, 0x18, 0x00, 0x00,            // 0x100a: mov 0x1804,%ds
                    (byte) 0xCD, 0x1F };                                  // 0x1010: int $0x1f
            MemorySegment.copy(code, 0, ram, JAVA_BYTE, CODE, code.length);
            // The selectors come from memory, so no register holds the error code's value.
            ram.set(JAVA_INT, SELECTORS, FIRST_SELECTOR);
            ram.set(JAVA_INT, SELECTORS + 4, SECOND_SELECTOR);

            int kernelCs = Lguest.KERNEL_CS | Lguest.GUEST_PL, kernelDs = Lguest.KERNEL_DS | Lguest.GUEST_PL;
            LguestRegs regs = new LguestRegs();
            for (Reg segment : new Reg[] { Reg.DS, Reg.ES, Reg.FS, Reg.GS }) {
                regs.set(segment, kernelDs);
            }
            regs.set(Reg.EIP, CODE);
            regs.set(Reg.ESP, PROBE_RAM);
            switcher.writeFrame(0, regs, 0x202, kernelCs, kernelDs);

            byte[] before = engine.snapshot();
            expect(engine.run(switcher.fromReset(), switcher.until()), DIVIDE_ERROR, "divide error");
            byte[] afterDivide = engine.snapshot();
            int oldException = unique("old_exception", before.length, at -> word(before, at) == -1 && word(afterDivide, at) == 0);

            clear(engine, oldException);
            expect(engine.run(CODE + 4, switcher.until()), GENERAL_PROTECTION, "general protection");
            byte[] firstFault = engine.snapshot();
            clear(engine, oldException);
            expect(engine.run(CODE + 10, switcher.until()), GENERAL_PROTECTION, "general protection");
            byte[] secondFault = engine.snapshot();
            int errorCode = unique("error_code", before.length,
                    at -> word(firstFault, at) == FIRST_SELECTOR && word(secondFault, at) == SECOND_SELECTOR);

            clear(engine, oldException);
            expect(engine.run(CODE + 16, switcher.until()), HYPERCALL, "int $0x1f");
            byte[] softwareInterrupt = engine.snapshot();
            int exceptionIsInt = unique("exception_is_int", before.length,
                    at -> word(softwareInterrupt, at) == 1 && word(afterDivide, at) == 0 && word(firstFault, at) == 0
                            && word(secondFault, at) == 0 && word(before, at) == 0);
            return new ContextLayout(oldException, errorCode, exceptionIsInt);
        }
    }

    private static void clear(Engine engine, int oldException) {
        engine.saveContext().set(JAVA_INT, oldException, -1);
        engine.restoreContext();
    }

    private static void expect(int vector, int expected, String what) {
        if (vector != expected) {
            throw new IllegalStateException("Unicorn calibration failed: the probe's " + what + " arrived as vector " + vector
                    + " instead of " + expected);
        }
    }

    private static int unique(String field, int size, IntPredicate matches) {
        List<Integer> found = new ArrayList<>();
        for (int at = 0; at + 4 <= size; at += 4) {
            if (matches.test(at)) {
                found.add(at);
            }
        }
        if (found.size() != 1) {
            throw new IllegalStateException("Unicorn calibration failed: expected exactly one " + field + " field in the "
                    + size + "-byte uc_context, found " + found.size() + (found.isEmpty() ? "" : " at " + found)
                    + "; this libunicorn build cannot be used safely");
        }
        return found.getFirst();
    }

    private static int word(byte[] bytes, int at) {
        return (bytes[at] & 0xFF) | (bytes[at + 1] & 0xFF) << 8 | (bytes[at + 2] & 0xFF) << 16 | (bytes[at + 3] & 0xFF) << 24;
    }
}
