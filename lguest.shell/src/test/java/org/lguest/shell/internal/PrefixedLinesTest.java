package org.lguest.shell.internal;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.charset.StandardCharsets;

import org.junit.jupiter.api.Test;

class PrefixedLinesTest {

    @Test
    void eachWholeLineGetsThePrefixAndPartialLinesWait() throws IOException {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        PrefixedLines lines = new PrefixedLines(out, "[peer] ");
        lines.write("one\ntw".getBytes(StandardCharsets.UTF_8));
        lines.flush();
        assertEquals("[peer] one\n", out.toString(StandardCharsets.UTF_8), "a partial line waits for its newline");
        lines.write("o\n".getBytes(StandardCharsets.UTF_8));
        lines.write('3');
        lines.close();
        assertEquals("[peer] one\n[peer] two\n[peer] 3\n", out.toString(StandardCharsets.UTF_8));
    }
}
