package org.lguest.shell.internal;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayDeque;
import java.util.List;
import java.util.Queue;

import org.junit.jupiter.api.Test;

class ConsoleLinkTest {

    /** Keys from a script: characters, timeouts and an end. */
    private static ConsoleLink.Keys keys(Integer... script) {
        Queue<Integer> queue = new ArrayDeque<>(List.of(script));
        return millis -> queue.isEmpty() ? ConsoleLink.Keys.EOF : queue.remove();
    }

    private static ConsoleLink.Keys text(String typed, int last) {
        byte[] bytes = typed.getBytes(StandardCharsets.UTF_8);
        Integer[] script = new Integer[bytes.length + 1];
        for (int i = 0; i < bytes.length; i++) {
            script[i] = Byte.toUnsignedInt(bytes[i]);
        }
        script[bytes.length] = last;
        return keys(script);
    }

    @Test
    void keysGoToTheGuestUntilTheLeavingKey() throws Exception {
        ByteArrayOutputStream guest = new ByteArrayOutputStream();
        ConsoleLink.End end = ConsoleLink.pump(text("ls -l\r\u0003é", ConsoleLink.LEAVE_KEY), b -> {
            guest.writeBytes(b);
            return true;
        }, () -> true);
        assertEquals(ConsoleLink.End.LEFT, end);
        assertEquals("ls -l\r\u0003é", guest.toString(StandardCharsets.UTF_8), "Ctrl-C and Enter are the guest's");
    }

    @Test
    void timeoutsAreNotKeysAndTheEndOfInputEnds() throws Exception {
        ByteArrayOutputStream guest = new ByteArrayOutputStream();
        ConsoleLink.End end = ConsoleLink.pump(keys((int) 'a', ConsoleLink.Keys.TIMEOUT, (int) 'b'), b -> {
            guest.writeBytes(b);
            return true;
        }, () -> true);
        assertEquals(ConsoleLink.End.INPUT_ENDED, end);
        assertEquals("ab", guest.toString(StandardCharsets.UTF_8));
    }

    @Test
    void aGuestThatEndsEndsTheLink() throws Exception {
        boolean[] running = {true};
        ConsoleLink.End end = ConsoleLink.pump(keys((int) 'a', ConsoleLink.Keys.TIMEOUT, (int) 'b'), b -> {
            running[0] = false;
            return false;
        }, () -> running[0]);
        assertEquals(ConsoleLink.End.GUEST_ENDED, end);
    }
}
