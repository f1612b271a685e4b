package org.lguest.log.internal;

import java.io.PrintWriter;
import java.io.StringWriter;
import java.time.Instant;
import java.time.ZoneId;
import java.time.format.DateTimeFormatter;

/**
 * The runtime's one log line: {@code HH:mm:ss.SSS LEVEL [bundle] message}, then the stack trace of a
 * throwable, if any, on the lines after it. Stateless; safe from any thread.
 */
final class LogFormat {
    private static final DateTimeFormatter TIME = DateTimeFormatter.ofPattern("HH:mm:ss.SSS")
        .withZone(ZoneId.systemDefault());

    private LogFormat() {
    }

    static String line(long millis, String level, String bundle, String message, Throwable thrown) {
        StringBuilder line = new StringBuilder(64 + message.length()).append(TIME.format(Instant.ofEpochMilli(millis)))
            .append(' ').append(level).append(" [").append(bundle).append("] ").append(message)
            .append(System.lineSeparator());
        if (thrown != null) {
            StringWriter trace = new StringWriter();
            thrown.printStackTrace(new PrintWriter(trace));
            line.append(trace);
        }
        return line.toString();
    }
}
