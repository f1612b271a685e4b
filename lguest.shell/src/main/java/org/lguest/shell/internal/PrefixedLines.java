package org.lguest.shell.internal;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;

/**
 * Console output with a prefix on each line, written a whole line at a time,
 * so two guests printing to one terminal stay apart and readable.
 */
final class PrefixedLines extends OutputStream {
    private final OutputStream out;
    private final byte[] prefix;
    private final ByteArrayOutputStream line = new ByteArrayOutputStream();

    PrefixedLines(OutputStream out, String prefix) {
        this.out = out;
        this.prefix = prefix.getBytes(StandardCharsets.UTF_8);
    }

    @Override
    public synchronized void write(int b) throws IOException {
        line.write(b);
        if (b == '\n') {
            writeLine();
        }
    }

    @Override
    public synchronized void write(byte[] bytes, int offset, int length) throws IOException {
        for (int i = offset; i < offset + length; i++) {
            write(bytes[i]);
        }
    }

    /** A partial line waits for its newline; only whole lines go out. */
    @Override
    public synchronized void flush() throws IOException {
        out.flush();
    }

    /** The last partial line goes out too. */
    @Override
    public synchronized void close() throws IOException {
        if (line.size() > 0) {
            line.write('\n');
            writeLine();
        }
    }

    private void writeLine() throws IOException {
        byte[] whole = new byte[prefix.length + line.size()];
        System.arraycopy(prefix, 0, whole, 0, prefix.length);
        System.arraycopy(line.toByteArray(), 0, whole, prefix.length, line.size());
        line.reset();
        out.write(whole);
        out.flush();
    }
}
