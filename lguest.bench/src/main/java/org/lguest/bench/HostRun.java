package org.lguest.bench;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.charset.StandardCharsets;

import org.lguest.api.abi.Errno;
import org.lguest.api.abi.LguestPending;
import org.lguest.api.abi.Lhcall;
import org.lguest.api.abi.Lhreq;
import org.lguest.api.abi.ProtocolWords;
import org.lguest.api.device.LauncherTask;
import org.lguest.api.device.LguestDevice;
import org.lguest.api.device.LguestFile;

/**
 * One guest through the whole Host, driven the way the Launcher drives one
 * (lguest.launcher's RunningGuest): guest RAM in a native segment handed to
 * a {@link LauncherTask}, {@code LHREQ_INITIALIZE}, then {@code read()} in a
 * loop on the thread that initialized it, printing NOTIFY strings and
 * handing pending traps back with {@code LHREQ_TRAP}. It runs on the calling
 * thread and composes no Launcher, so the benchmark chooses the command line
 * (the Launcher writes the image name there).
 */
final class HostRun {
    private static final int CPU = 0;
    private static final long PAGE = 4096;

    private HostRun() {
    }

    /** Boots {@code image} with {@code commandLine}, runs it to its end, and returns its console. */
    static Console run(LguestDevice device, String image, String commandLine, int memoryMiB) {
        GuestImage elf = GuestImage.read(image);
        long memoryBytes = (long) memoryMiB << 20;
        Console console = new Console();
        try (Arena arena = Arena.ofShared(); LauncherTask task = new LauncherTask()) {
            MemorySegment ram = task.allocate(memoryBytes);
            elf.load(ram, commandLine);
            LguestFile file = device.open(task);
            try {
                long answer = write(arena, file, Lhreq.INITIALIZE, ram.address(), memoryBytes / PAGE, elf.entry);
                if (answer < 0) {
                    throw new IllegalStateException(image + ": LHREQ_INITIALIZE answered " + Errno.name((int) answer));
                }
                MemorySegment buffer = arena.allocate(1024, 8);
                while (true) {
                    long n = file.read(buffer, CPU);
                    long now = System.nanoTime();
                    if (n == Lhreq.WORD) {
                        long address = buffer.get(ProtocolWords.WORD_LAYOUT, 0);
                        String line = GuestImage.string(ram, address);
                        if (line == null) {
                            throw new IllegalStateException(String.format("%s: Bad NOTIFY %#x; console:%n%s", image, address,
                                console.text()));
                        }
                        console.line(line, now);
                    } else if (n == LguestPending.SIZE) {
                        int trap = LguestPending.decode(buffer).trap();
                        long back = write(arena, file, Lhreq.TRAP, trap);
                        if (back < 0) {
                            throw new IllegalStateException(image + ": LHREQ_TRAP " + trap + " answered " + Errno.name((int) back));
                        }
                    } else if (n == -Errno.EINTR) {
                        Thread.interrupted();
                    } else if (n == -Errno.ENOENT) {
                        String reason = reason(file, buffer);
                        if (!reason.startsWith(Lhcall.SHUTDOWN_REASON_PREFIX)) {
                            throw new IllegalStateException(image + " was killed: " + reason + "; console:\n" + console.text());
                        }
                        return console;
                    } else {
                        throw new IllegalStateException(image + ": read() answered " + (n < 0 ? Errno.name((int) n) : n + " bytes")
                            + "; console:\n" + console.text());
                    }
                }
            } finally {
                file.close();
            }
        }
    }

    private static String reason(LguestFile file, MemorySegment buffer) {
        long n = file.read(buffer, CPU);
        if (n <= 0) {
            return "no reason (" + n + ")";
        }
        byte[] text = buffer.asSlice(0, n).toArray(ValueLayout.JAVA_BYTE);
        int end = 0;
        while (end < text.length && text[end] != 0) {
            end++;
        }
        return new String(text, 0, end, StandardCharsets.UTF_8);
    }

    private static long write(Arena arena, LguestFile file, long... words) {
        return file.write(ProtocolWords.encode(arena, words), CPU);
    }
}
