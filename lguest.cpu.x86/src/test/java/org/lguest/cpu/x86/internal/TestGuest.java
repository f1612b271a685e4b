package org.lguest.cpu.x86.internal;

import static java.lang.foreign.ValueLayout.JAVA_BYTE;
import static java.lang.foreign.ValueLayout.JAVA_INT;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;

import org.lguest.api.abi.Lguest;
import org.lguest.api.cpu.GuestMachine;
import org.lguest.api.cpu.HostArea;
import org.lguest.api.cpu.LguestRegs;
import org.lguest.api.cpu.Reg;
import org.lguest.api.cpu.Vcpu;
import org.lguest.api.cpu.VcpuException;
import org.lguest.api.cpu.VcpuState;

/**
 * A guest on the real Unicorn (4 MiB unless asked otherwise): identity shadow
 * tables over all its RAM but page 0, lguest's boot GDT and registers, and
 * hand-assembled code.
 */
final class TestGuest implements AutoCloseable {
    static final int KERNEL_CS = Lguest.KERNEL_CS | Lguest.GUEST_PL;   // 0x61
    static final int KERNEL_DS = Lguest.KERNEL_DS | Lguest.GUEST_PL;   // 0x69
    static final int USER_CS = 14 * 8 | 3;                             // 0x73
    static final int USER_DS = 15 * 8 | 3;                             // 0x7b
    static final int RAM_PAGES = 1024;
    static final int PRESENT = 1, WRITABLE = 2, USER = 4;

    /** Calibrating once per test JVM is enough. */
    static final UnicornBackend BACKEND = new UnicornBackend();

    final Arena arena = Arena.ofShared();
    final int ramPages;
    final MemorySegment ram;
    final HostArea hostArea;
    final GuestMachine machine;
    final VcpuState state = new VcpuState(0);
    final long directory;
    final long lowTable;
    Vcpu vcpu;

    TestGuest() throws VcpuException {
        this(RAM_PAGES, 64);
    }

    TestGuest(int ramPages, int hostPages) throws VcpuException {
        this.ramPages = ramPages;
        ram = arena.allocate((long) ramPages * Lguest.PAGE_SIZE, Lguest.PAGE_SIZE);
        hostArea = new HostArea(hostPages);
        machine = new GuestMachine(ram, ramPages, hostArea);
        directory = hostArea.allocatePage();
        lowTable = hostArea.allocatePage();
        hostArea.page(directory).set(JAVA_INT, 0, (int) lowTable | PRESENT | WRITABLE | USER);
        for (int page = 1; page < ramPages; page++) { // page 0 stays out: null pointers trap
            pte((long) page * Lguest.PAGE_SIZE, page * Lguest.PAGE_SIZE | PRESENT | WRITABLE | USER);
        }
        state.pageTableRoot(directory);
        vcpu = BACKEND.create(machine, state);
        installSwitcher(directory);
        // lguest's boot GDT (setup_guest_gdt) and a Linux-like user pair.
        vcpu.loadGdtEntry(Lguest.GDT_ENTRY_KERNEL_CS, Descriptors.flatCode(0));
        vcpu.loadGdtEntry(Lguest.GDT_ENTRY_KERNEL_DS, Descriptors.flatData(0));
        vcpu.loadGdtEntry(14, Descriptors.flatCode(3));
        vcpu.loadGdtEntry(15, Descriptors.flatData(3));
        LguestRegs regs = state.regs();
        regs.set(Reg.CS, KERNEL_CS);
        for (Reg segment : new Reg[] { Reg.SS, Reg.DS, Reg.ES, Reg.FS, Reg.GS }) {
            regs.set(segment, KERNEL_DS);
        }
        regs.set(Reg.EFLAGS, Lguest.X86_EFLAGS_IF | 2);
        regs.set(Reg.ESP, 0x9000);
    }

    void installSwitcher(long pageDirectory) {
        hostArea.page(pageDirectory).setAtIndex(JAVA_INT, GuestMachine.SWITCHER_PGD_INDEX, vcpu.switcherEntry());
    }

    /** Sets the shadow entry for a virtual address in {@link #directory}. */
    void pte(long vaddr, int entry) {
        pte(directory, vaddr, entry);
    }

    /** Sets the shadow entry for a virtual address in a directory, adding a page table if there is none. */
    void pte(long pageDirectory, long vaddr, int entry) {
        MemorySegment dir = hostArea.page(pageDirectory);
        int index = (int) (vaddr >>> 22);
        int pde = dir.getAtIndex(JAVA_INT, index);
        long table;
        if ((pde & PRESENT) == 0) {
            table = hostArea.allocatePage();
            dir.setAtIndex(JAVA_INT, index, (int) table | PRESENT | WRITABLE | USER);
        } else {
            table = pde & 0xFFFF_F000L;
        }
        hostArea.page(table).setAtIndex(JAVA_INT, (vaddr >>> 12) & 1023, entry);
    }

    /** The entry a page maps to itself with. */
    static int identity(long vaddr) {
        return (int) vaddr & ~0xFFF | PRESENT | WRITABLE | USER;
    }

    /** The entry mapping a page to {@code physical}. */
    static int mapping(long physical) {
        return (int) physical & ~0xFFF | PRESENT | WRITABLE | USER;
    }

    /** Places code and points EIP at it. */
    TestGuest code(int at, int... bytes) {
        for (int i = 0; i < bytes.length; i++) {
            ram.set(JAVA_BYTE, at + i, (byte) bytes[i]);
        }
        state.regs().set(Reg.EIP, at);
        return this;
    }

    int reg(Reg reg) {
        return state.regs().get(reg);
    }

    void set(Reg reg, int value) {
        state.regs().set(reg, value);
    }

    /** A new engine for the same state and machine, as after a backend update. */
    void replaceEngine() throws VcpuException {
        vcpu.close();
        vcpu = BACKEND.create(machine, state);
    }

    @Override
    public void close() {
        vcpu.close();
        hostArea.close();
        arena.close();
    }
}
