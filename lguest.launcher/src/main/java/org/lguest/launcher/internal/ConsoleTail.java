package org.lguest.launcher.internal;

import java.io.IOException;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.List;

/**
 * Passes a guest's console output on and keeps its last lines for
 * {@code Guest.consoleTail()}. Written by the CPU thread (early console) and
 * the console device's thread, read by anyone: one lock around the buffer.
 */
final class ConsoleTail extends OutputStream {
    static final int LINES = 50;
    private static final int LONGEST_LINE = 512;

    private final OutputStream out;
    private final ArrayDeque<String> lines = new ArrayDeque<>();
    private final StringBuilder current = new StringBuilder();

    ConsoleTail(OutputStream out) {
        this.out = out;
    }

    @Override
    public void write(int b) throws IOException {
        write(new byte[] {(byte) b}, 0, 1);
    }

    @Override
    public void write(byte[] b, int off, int len) throws IOException {
        keep(b, off, len);
        out.write(b, off, len);
    }

    @Override
    public void flush() throws IOException {
        out.flush();
    }

    private synchronized void keep(byte[] b, int off, int len) {
        String text = new String(b, off, len, StandardCharsets.ISO_8859_1);
        for (int i = 0; i < text.length(); i++) {
            char c = text.charAt(i);
            if (c == '\n') {
                push();
            } else if (c != '\r' && current.length() < LONGEST_LINE) {
                current.append(c < ' ' && c != '\t' ? '.' : c);
            }
        }
    }

    private void push() {
        if (lines.size() == LINES) {
            lines.removeFirst();
        }
        lines.addLast(current.toString());
        current.setLength(0);
    }

    /** The kept lines, oldest first, with the line still being written last. */
    synchronized List<String> lines() {
        List<String> copy = new ArrayList<>(lines);
        if (!current.isEmpty()) {
            copy.add(current.toString());
        }
        return copy;
    }
}
