package org.lguest.bench;

import java.io.IOException;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.charset.StandardCharsets;

import org.lguest.api.abi.Lhcall;
import org.lguest.api.cpu.AnonymousMemory;
import org.lguest.cpu.x86.internal.unicorn.Engine;
import org.lguest.cpu.x86.internal.unicorn.Unicorn;

/**
 * The floor: a guest image on a bare Unicorn engine, through the backend's
 * own binding ({@link Engine}: the same FFM downcalls, the same INTR hook,
 * which records the vector and stops emulation) and nothing else: no Host
 * core, no shadow page tables, no switcher, no ring 1, no paging. Guest RAM
 * is mapped at 0 (the image's boot data and code loaded exactly as for the
 * Host), a host page at the switcher's address holds a flat ring-0 GDT and a
 * short stub that far-jumps into it, loads the data segments and jumps to
 * the entry.
 * <p>
 * Every exit comes back to {@link #next}'s loop, which reads EIP (where to
 * resume) and EAX (the call), and does only what the image needs to go on:
 * NOTIFY prints a line, SHUTDOWN ends the run, every other call (INIT,
 * FLUSH_ASYNC, ...) is a no-op.
 */
final class BareRun implements AutoCloseable {
    /** How hypercalls are handled: every one stops the run (the Host before exits ran in its hook), or in the hook. */
    enum Floor {
        /** The hook stops at every int $0x1f; the Java loop reads EAX and EIP and restarts. */
        STOP,
        /** The same Engine's hook reads EAX (one FFM downcall inside the upcall) and goes on unless the call is NOTIFY or SHUTDOWN. */
        JAVA_HOOK,
        /** {@link CHookHost}: a C host doing the same in a C hook, back in Java only at NOTIFY and SHUTDOWN. */
        C_HOOK
    }

    private static final long PAGE = 4096;
    private static final long HOST_PAGE = 0xFFC0_0000L;
    private static final int STUB = 0x100, STUB_SEGMENTS = 0x107, GDT = 0x800, UNTIL = 0xFF0;
    private static final int CS = 0x08, DS = 0x10;
    private static final long FLAT_CODE = 0x00CF_9B00_0000_FFFFL, FLAT_DATA = 0x00CF_9300_0000_FFFFL;

    private final Arena arena = Arena.ofShared();
    private final String image;
    private final MemorySegment ram;
    private final Engine engine;
    private final MemorySegment host;
    private final CHookHost c;
    private final MemorySegment cBare, cArg;
    private long eip = HOST_PAGE + STUB;
    private boolean ended;
    /** When the last exit came back to us. */
    private long exitNanos;

    /** Allocates RAM, loads the image with its boot data, opens an engine and maps both. */
    BareRun(Unicorn unicorn, GuestImage elf, String commandLine, int memoryMiB) {
        this(unicorn, elf, commandLine, memoryMiB, Floor.STOP);
    }

    BareRun(Unicorn unicorn, GuestImage elf, String commandLine, int memoryMiB, Floor floor) {
        this.image = elf.name;
        try {
            ram = AnonymousMemory.map(arena, (long) memoryMiB << 20); // as the Launcher gets guest RAM
            elf.load(ram, commandLine);
            host = arena.allocate(PAGE, PAGE);
            host.fill((byte) 0xF4); // hlt everywhere else; UNTIL is one of them
            host.set(GuestImage.U64, GDT + CS, FLAT_CODE);
            host.set(GuestImage.U64, GDT + DS, FLAT_DATA);
            byte[] stub = {
                (byte) 0xEA, 0, 0, 0, 0, CS, 0,       // ljmp $CS,$segments (the reset state has CS 0)
                (byte) 0xB8, DS, 0, 0, 0,             // segments: mov $DS,%eax
                (byte) 0x8E, (byte) 0xD0,             // mov %eax,%ss
                (byte) 0x8E, (byte) 0xD8,             // mov %eax,%ds
                (byte) 0x8E, (byte) 0xC0,             // mov %eax,%es
                (byte) 0x8E, (byte) 0xE0,             // mov %eax,%fs
                (byte) 0x8E, (byte) 0xE8,             // mov %eax,%gs
                (byte) 0xB8, 0, 0, 0, 0,              // mov $entry,%eax
                (byte) 0xFF, (byte) 0xE0 };           // jmp *%eax
            MemorySegment.copy(stub, 0, host, ValueLayout.JAVA_BYTE, STUB, stub.length);
            host.set(GuestImage.U32, STUB + 1, (int) (HOST_PAGE + STUB_SEGMENTS));
            host.set(GuestImage.U32, STUB + stub.length - 6, (int) elf.entry);
            if (floor == Floor.C_HOOK) {
                engine = null;
                c = CHookHost.load();
                cArg = arena.allocate(8, 8);
                cBare = c.open(ram, host, HOST_PAGE, HOST_PAGE + GDT, 3 * 8 - 1, eip, HOST_PAGE + UNTIL, Lhcall.TRAP_ENTRY,
                    Lhcall.NOTIFY, Lhcall.SHUTDOWN);
                return;
            }
            c = null;
            cBare = null;
            cArg = null;
            engine = Engine.open(unicorn);
            try {
                if (floor == Floor.JAVA_HOOK) {
                    // Go on unless the call is one the loop below must see.
                    engine.inHook(vector -> {
                        if (vector != Lhcall.TRAP_ENTRY) {
                            return false;
                        }
                        int call = (int) engine.read(Unicorn.EAX);
                        return call != Lhcall.NOTIFY && call != Lhcall.SHUTDOWN;
                    });
                }
                // SAFETY: both live in this run's arena; close() closes the engine before the arena.
                engine.mapPointer(0, ram);
                engine.mapPointer(HOST_PAGE, host);
                engine.writeTableRegister(Unicorn.GDTR, 0, HOST_PAGE + GDT, 3 * 8 - 1, 0);
            } catch (RuntimeException e) {
                engine.close();
                throw e;
            }
        } catch (RuntimeException e) {
            arena.close();
            throw e;
        }
    }

    /**
     * Runs until the guest's next NOTIFY (which it returns, after writing it
     * to {@code out} as the Launcher writes early console output) or its
     * SHUTDOWN (null).
     */
    String next(OutputStream out) {
        if (ended) {
            return null;
        }
        if (c != null) {
            return nextInC(out);
        }
        while (true) {
            int vector = engine.run(eip, HOST_PAGE + UNTIL);
            exitNanos = System.nanoTime();
            eip = engine.read(Unicorn.EIP) & 0xFFFF_FFFFL;
            if (vector != Lhcall.TRAP_ENTRY) {
                throw new IllegalStateException(String.format("%s on the bare engine: %s at eip %#x", image,
                    vector < 0 ? "stopped" : "vector " + vector, eip));
            }
            int call = (int) engine.read(Unicorn.EAX);
            if (call == Lhcall.NOTIFY) {
                return notified(engine.read(Unicorn.EBX) & 0xFFFF_FFFFL, out);
            }
            if (call == Lhcall.SHUTDOWN) {
                ended = true;
                return null;
            }
            // INIT, FLUSH_ASYNC and the rest: nothing to do but go on.
        }
    }

    private String notified(long address, OutputStream out) {
        String line = GuestImage.string(ram, address);
        if (line == null) {
            throw new IllegalStateException(image + " on the bare engine: Bad NOTIFY");
        }
        if (out != null) {
            try {
                out.write(line.getBytes(StandardCharsets.ISO_8859_1));
                out.flush();
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
        }
        return line;
    }

    /** As {@link #next}, with the C host running everything up to the NOTIFY or SHUTDOWN. */
    private String nextInC(OutputStream out) {
        long call = c.next(cBare, cArg);
        exitNanos = System.nanoTime();
        if (call == Lhcall.NOTIFY) {
            return notified(cArg.get(ValueLayout.JAVA_INT, 0) & 0xFFFF_FFFFL, out);
        }
        if (call == Lhcall.SHUTDOWN) {
            ended = true;
            return null;
        }
        throw new IllegalStateException(String.format("%s on the C floor: %s", image, call <= -0x10000
            ? "vector " + (-call & 0xFFFF) : "uc_emu_start failed with uc_err " + (-call - 1)));
    }

    /** Runs the guest to its SHUTDOWN, timing its "bench:" lines. */
    Console run() {
        Console console = new Console();
        String line;
        while ((line = next(null)) != null) {
            console.line(line, exitNanos);
        }
        return console;
    }

    /** Boots an image on a bare engine, runs it to its end and frees it. */
    static Console run(Unicorn unicorn, String image, String commandLine, int memoryMiB) {
        return run(unicorn, image, commandLine, memoryMiB, Floor.STOP);
    }

    static Console run(Unicorn unicorn, String image, String commandLine, int memoryMiB, Floor floor) {
        try (BareRun run = new BareRun(unicorn, GuestImage.read(image), commandLine, memoryMiB, floor)) {
            return run.run();
        }
    }

    @Override
    public void close() {
        try {
            if (engine != null) {
                engine.close();
            } else {
                c.close(cBare);
            }
        } finally {
            arena.close();
        }
    }
}
