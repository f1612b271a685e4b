package org.lguest.shell.internal;

import java.io.IOException;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayDeque;
import java.util.Queue;
import java.util.function.Consumer;

import org.jline.terminal.Attributes;
import org.jline.terminal.Attributes.ControlChar;
import org.jline.terminal.Attributes.InputFlag;
import org.jline.terminal.Attributes.LocalFlag;
import org.jline.terminal.Terminal;
import org.jline.terminal.impl.ExecPty;
import org.jline.terminal.spi.Pty;
import org.jline.utils.NonBlocking;
import org.jline.utils.NonBlockingInputStream;
import org.jline.utils.NonBlockingReader;

/**
 * A terminal in raw mode for as long as a guest has it: every key goes to
 * the guest as typed (no line editing, no echo, Ctrl-C and Ctrl-Z are the
 * guest's too), and the old settings come back on close. Output processing
 * stays on, so a guest's "\n" still starts a new line. The only class that
 * needs JLine; without it, loading this class fails and callers say so.
 */
final class RawTerminal implements AutoCloseable {
    private final Attributes saved;
    private final Consumer<Attributes> apply;
    private final ConsoleLink.Keys keys;
    private final Consumer<String> print;
    private final AutoCloseable release;

    private RawTerminal(Attributes saved, Consumer<Attributes> apply, ConsoleLink.Keys keys, Consumer<String> print,
            AutoCloseable release) {
        this.saved = saved;
        this.apply = apply;
        this.keys = keys;
        this.print = print;
        this.release = release;
        apply.accept(raw(saved));
    }

    private static Attributes raw(Attributes cooked) {
        Attributes raw = new Attributes(cooked);
        raw.setLocalFlag(LocalFlag.ICANON, false);
        raw.setLocalFlag(LocalFlag.ECHO, false);
        raw.setLocalFlag(LocalFlag.IEXTEN, false);
        raw.setLocalFlag(LocalFlag.ISIG, false);
        raw.setInputFlag(InputFlag.IXON, false);
        raw.setInputFlag(InputFlag.ICRNL, false);
        raw.setInputFlag(InputFlag.INLCR, false);
        raw.setControlChar(ControlChar.VMIN, 1);
        raw.setControlChar(ControlChar.VTIME, 0);
        return raw;
    }

    /**
     * The process's own terminal (./lguest run), through its tty directly:
     * Gogo holds JLine's one system terminal, unused in this mode.
     *
     * @throws IOException with the reason when standard input is no terminal
     */
    static RawTerminal system(PrintStream out) throws IOException {
        Pty pty = ExecPty.current();
        NonBlockingInputStream in = NonBlocking.nonBlocking("lguest", pty.getSlaveInput());
        ConsoleLink.Keys keys = millis -> {
            int b = in.read(millis);
            return b == NonBlockingInputStream.READ_EXPIRED ? ConsoleLink.Keys.TIMEOUT : b;
        };
        return new RawTerminal(pty.getAttr(), attributes -> {
            try {
                pty.setAttr(attributes);
            } catch (IOException e) {
                throw new IllegalStateException("cannot set the terminal's mode: " + e.getMessage(), e);
            }
        }, keys, line -> {
            out.print("\n" + line + "\n");
            out.flush();
        }, () -> {
            in.shutdown();
            pty.close();
        });
    }

    /** The terminal of a Gogo session (its variable {@code .terminal}), or null when it has none or a dumb one. */
    static RawTerminal of(Object sessionTerminal) {
        if (!(sessionTerminal instanceof Terminal terminal) || Terminal.TYPE_DUMB.equals(terminal.getType())
                || Terminal.TYPE_DUMB_COLOR.equals(terminal.getType())) {
            return null;
        }
        NonBlockingReader reader = terminal.reader();
        Queue<Integer> pending = new ArrayDeque<>();
        // The reader decodes characters; the guest gets their UTF-8 bytes again.
        ConsoleLink.Keys keys = millis -> {
            if (!pending.isEmpty()) {
                return pending.remove();
            }
            int c = reader.read(millis);
            if (c == NonBlockingReader.READ_EXPIRED) {
                return ConsoleLink.Keys.TIMEOUT;
            }
            if (c < 0x80) {
                return c;
            }
            for (byte b : String.valueOf((char) c).getBytes(StandardCharsets.UTF_8)) {
                pending.add(Byte.toUnsignedInt(b));
            }
            return pending.remove();
        };
        return new RawTerminal(terminal.getAttributes(), terminal::setAttributes, keys, line -> {
            terminal.writer().print("\n" + line + "\n");
            terminal.flush();
        }, () -> {
        });
    }

    ConsoleLink.Keys keys() {
        return keys;
    }

    /** A line of our own (not the guest's), on a line of its own. */
    void say(String line) {
        print.accept(line);
    }

    @Override
    public void close() {
        apply.accept(saved);
        try {
            release.close();
        } catch (Exception e) {
            // The settings are back; nothing more to undo.
        }
    }
}
