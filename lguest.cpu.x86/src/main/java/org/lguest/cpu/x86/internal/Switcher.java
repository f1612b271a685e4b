package org.lguest.cpu.x86.internal;

import static java.lang.foreign.ValueLayout.JAVA_BYTE;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;

import org.lguest.api.cpu.GuestMachine;
import org.lguest.api.cpu.HostArea;
import org.lguest.api.cpu.LguestRegs;
import org.lguest.api.cpu.Reg;
import org.lguest.cpu.x86.internal.unicorn.Engine;
import org.lguest.cpu.x86.internal.unicorn.Unicorn;

/**
 * One guest CPU's host-owned pages, taken from the guest's host area (the
 * switcher's 4 MiB at {@link GuestMachine#SWITCHER_ADDRESS}):
 * <ul>
 * <li>code: the switcher and its two ways in; user-readable, because the
 * trampoline runs at the guest's ring, and read-only;
 * <li>tables: GDT, the LDT holding the entry gate, TSS, IDT and the entry
 * frame; read-only (CR0.WP makes that hold at ring 1 too). The host writes
 * the frame through its own view of the memory, so no guest CPU, not even
 * another of the same guest, can change a frame between write and use;
 * <li>stack: the ring-0 stack the entry gate pushes onto; writable, never read.
 * </ul>
 * The host area sits at the same physical and virtual address (the
 * switcher's page table maps its pages where they are), so the addresses
 * below serve both ways.
 * <p>
 * Entry: the switcher runs at ring 0, loads the CR3 in the frame (if any;
 * on a first entry, when the host could not write it between runs), drops
 * the LDT, pops the guest's registers and {@code iret}s to the guest's ring.
 * From Unicorn's reset state the engine gets there through a far jump;
 * from the guest's ring through a trampoline that calls a gate in an LDT
 * the host loads only for that moment.
 */
final class Switcher {
    // What the switcher writes, the emulated x86 CPU reads: little-endian whatever the host's order.
    private static final ValueLayout.OfShort U16 = ValueLayout.JAVA_SHORT.withOrder(ByteOrder.LITTLE_ENDIAN);
    private static final ValueLayout.OfInt U32 = ValueLayout.JAVA_INT.withOrder(ByteOrder.LITTLE_ENDIAN);
    private static final ValueLayout.OfInt U32_UNALIGNED = ValueLayout.JAVA_INT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    private static final ValueLayout.OfLong U64 = ValueLayout.JAVA_LONG.withOrder(ByteOrder.LITTLE_ENDIAN);
    private static final int PAGE = 4096;
    static final int CODE_PAGE = 0, TABLES_PAGE = 1, STACK_PAGE = 2;
    static final int PAGES = 3;
    private static final int SWITCH_TO_GUEST = 0x000, FROM_RESET = 0x080, FROM_GUEST = 0x100;
    private static final int GDT = 0x000, LDT = 0x100, TSS = 0x200, FRAME = 0x300, IDT = 0x800;

    /**
     * Where uc_emu_start stops: a hlt in the code page that no switcher code
     * reaches. It must lie in a present page: Unicorn looks the address up
     * through the page tables when a run ends, and a failed walk there
     * overwrites CR2 and the fault's error code.
     */
    private static final int UNTIL = 0xFF0;

    static final int LGUEST_CS = GdtRules.GDT_ENTRY_LGUEST_CS * 8;
    static final int LGUEST_DS = GdtRules.GDT_ENTRY_LGUEST_DS * 8;
    static final int TSS_SELECTOR = GdtRules.GDT_ENTRY_TSS * 8;
    /** The LDT descriptor sits in the double-fault TSS slot, which lguest never gives the guest. */
    static final int LDT_SELECTOR = GdtRules.GDT_ENTRY_DOUBLEFAULT_TSS * 8;
    /** LDT entry 0, table indicator set, RPL 3: callable from ring 1 and ring 3. */
    private static final int GATE_SELECTOR = 0x07;
    static final int GDT_LIMIT = 32 * 8 - 1;
    private static final int TSS_LIMIT = 0x67;
    /** QEMU's cached TR flags must say "available 32-bit TSS": with "busy" it aborts the process. */
    private static final int TSS_CACHE_FLAGS = 0x8900;
    private static final int LDT_CACHE_FLAGS = 0x8200;

    /** Frame dwords, in the order the switcher pops them. */
    private static final Reg[] POPA_ORDER = { Reg.EDI, Reg.ESI, Reg.EBP, null, Reg.EBX, Reg.EDX, Reg.ECX, Reg.EAX };
    private static final Reg[] SEGMENT_ORDER = { Reg.GS, Reg.FS, Reg.ES, Reg.DS };
    private static final Reg[] IRET_ORDER = { Reg.EIP, Reg.CS, Reg.EFLAGS, Reg.ESP, Reg.SS };

    /** Addresses (virtual = physical) of the three pages. */
    final long code, tables, stack;
    private final MemorySegment codePage, tablesPage;

    /** Writes the switcher into three pages of the host area. */
    Switcher(HostArea area, long code, long tables, long stack) {
        this.code = code;
        this.tables = tables;
        this.stack = stack;
        this.codePage = area.page(code);
        this.tablesPage = area.page(tables);
        area.page(stack).fill((byte) 0);
        tablesPage.fill((byte) 0);
        writeCode();
        writeHostDescriptors();
    }

    /** Takes three fresh pages from the area. */
    static Switcher allocate(HostArea area) {
        return new Switcher(area, area.allocatePage(), area.allocatePage(), area.allocatePage());
    }

    long page(int which) {
        return switch (which) {
            case CODE_PAGE -> code;
            case TABLES_PAGE -> tables;
            default -> stack;
        };
    }

    long switchToGuest() {
        return code + SWITCH_TO_GUEST;
    }

    long fromReset() {
        return code + FROM_RESET;
    }

    long fromGuest() {
        return code + FROM_GUEST;
    }

    long until() {
        return code + UNTIL;
    }

    private void writeCode() {
        codePage.fill((byte) 0xF4); // hlt (a #GP at ring 1 and 3) wherever there is no switcher code
        byte[] switchToGuest = {
                (byte) 0xB8, (byte) LGUEST_DS, 0, 0, 0,  // mov $LGUEST_DS,%eax
                (byte) 0x8E, (byte) 0xD0,                // mov %eax,%ss   (the reset state has a 16-bit SS)
                (byte) 0xBC, 0, 0, 0, 0,                 // mov $frame,%esp
                0x58,                                    // pop %eax       (CR3 to load, or 0)
                (byte) 0x85, (byte) 0xC0,                // test %eax,%eax
                0x74, 0x03,                              // jz 1f
                0x0F, 0x22, (byte) 0xD8,                 // mov %eax,%cr3
                0x31, (byte) 0xC0,                       // 1: xor %eax,%eax
                0x0F, 0x00, (byte) 0xD0,                 // lldt %ax       (the entry gate is gone before the guest runs)
                0x61,                                    // popa
                0x0F, (byte) 0xA9, 0x0F, (byte) 0xA1,    // pop %gs; pop %fs
                0x07, 0x1F,                              // pop %es; pop %ds
                (byte) 0xCF };                           // iret
        put(SWITCH_TO_GUEST, switchToGuest);
        codePage.set(U32_UNALIGNED, SWITCH_TO_GUEST + 8, (int) (tables + FRAME));
        byte[] fromReset = { (byte) 0xEA, 0, 0, 0, 0, (byte) LGUEST_CS, 0 };   // ljmp $LGUEST_CS,$switch_to_guest
        put(FROM_RESET, fromReset);
        codePage.set(U32_UNALIGNED, FROM_RESET + 1, (int) switchToGuest());
        byte[] fromGuest = { (byte) 0x9A, 0, 0, 0, 0, GATE_SELECTOR, 0 };       // lcall $gate,$0
        put(FROM_GUEST, fromGuest);
    }

    private void put(int offset, byte[] bytes) {
        MemorySegment.copy(bytes, 0, codePage, JAVA_BYTE, offset, bytes.length);
    }

    private void writeHostDescriptors() {
        gdt(GdtRules.GDT_ENTRY_LGUEST_CS, Descriptors.flatCode(0) | Descriptors.ACCESSED);
        gdt(GdtRules.GDT_ENTRY_LGUEST_DS, Descriptors.flatData(0) | Descriptors.ACCESSED);
        gdt(GdtRules.GDT_ENTRY_TSS, Descriptors.segment(tables + TSS, TSS_LIMIT, 0x89, 0));
        gdt(GdtRules.GDT_ENTRY_DOUBLEFAULT_TSS, Descriptors.segment(tables + LDT, 7, 0x82, 0));
        tablesPage.set(U64, LDT, Descriptors.callGate(LGUEST_CS, switchToGuest(), 3));
        // TSS: the ring-0 stack for the gate's privilege change; no I/O bitmap.
        tablesPage.set(U32, TSS + 4, (int) (stack + PAGE));
        tablesPage.set(U32, TSS + 8, LGUEST_DS);
        tablesPage.set(U16, TSS + 102, (short) (TSS_LIMIT + 1));
    }

    private void gdt(int index, long descriptor) {
        tablesPage.set(U64, GDT + index * 8L, descriptor);
    }

    /** Copies the guest's (checked) entries into the real GDT, keeping the host's own slots. */
    void loadGuestGdt(long[] guestGdt) {
        for (int i = 0; i < guestGdt.length; i++) {
            if (!GdtRules.ignored(i)) {
                gdt(i, guestGdt[i]);
            }
        }
    }

    /** Points GDTR, IDTR and TR at the tables (the host area must be mapped). */
    void install(Engine engine) {
        engine.writeTableRegister(Unicorn.GDTR, 0, tables + GDT, GDT_LIMIT, 0);
        engine.writeTableRegister(Unicorn.IDTR, 0, tables + IDT, 256 * 8 - 1, 0);
        engine.writeTableRegister(Unicorn.TR, TSS_SELECTOR, tables + TSS, TSS_LIMIT, TSS_CACHE_FLAGS);
    }

    /** Arms the entry gate; the switcher disarms it before the guest runs again. */
    void armGate(Engine engine) {
        engine.writeTableRegister(Unicorn.LDTR, LDT_SELECTOR, tables + LDT, 7, LDT_CACHE_FLAGS);
    }

    /** The frame the switcher pops: CR3 (0: keep), the general registers, segments, and the iret frame. */
    void writeFrame(long cr3, LguestRegs regs, int eflags, int cs, int ss) {
        long at = FRAME;
        tablesPage.set(U32, at, (int) cr3);
        at += 4;
        for (Reg reg : POPA_ORDER) {
            tablesPage.set(U32, at, reg == null ? 0 : regs.get(reg));
            at += 4;
        }
        for (Reg reg : SEGMENT_ORDER) {
            tablesPage.set(U32, at, regs.get(reg) & 0xFFFF);
            at += 4;
        }
        for (Reg reg : IRET_ORDER) {
            int value = switch (reg) {
                case EFLAGS -> eflags;
                case CS -> cs;
                case SS -> ss;
                default -> regs.get(reg);
            };
            tablesPage.set(U32, at, value);
            at += 4;
        }
    }

    /** Page-table entry flags: only the code is user-visible (the trampoline runs at ring 3 too); only the stack is writable. */
    static int pteFlags(int which) {
        int present = 1, writable = 2, user = 4;
        return switch (which) {
            case CODE_PAGE -> present | user;
            case STACK_PAGE -> present | writable;
            default -> present;
        };
    }

    boolean contains(long address) {
        return (address & ~(PAGE - 1L)) == code || (address & ~(PAGE - 1L)) == tables || (address & ~(PAGE - 1L)) == stack;
    }
}
