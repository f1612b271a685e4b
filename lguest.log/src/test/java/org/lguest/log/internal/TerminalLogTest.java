package org.lguest.log.internal;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.time.LocalTime;
import java.time.ZoneId;
import java.time.ZonedDateTime;

import org.junit.jupiter.api.Test;
import org.osgi.framework.Bundle;
import org.osgi.framework.ServiceReference;
import org.osgi.service.log.LogEntry;
import org.osgi.service.log.LogLevel;

/** TerminalLog alone: the line's format, the threshold, and the framework's event entries kept out at INFO. */
class TerminalLogTest {
    private final ByteArrayOutputStream bytes = new ByteArrayOutputStream();

    private String logged(LogLevel threshold, LogEntry... entries) {
        TerminalLog log = new TerminalLog(new PrintStream(bytes, true, StandardCharsets.UTF_8), threshold);
        for (LogEntry e : entries) {
            log.logged(e);
        }
        return bytes.toString(StandardCharsets.UTF_8);
    }

    private static long at(int hour, int minute, int second, int millis) {
        return ZonedDateTime.of(java.time.LocalDate.of(2026, 1, 2), LocalTime.of(hour, minute, second, millis * 1_000_000),
            ZoneId.systemDefault()).toInstant().toEpochMilli();
    }

    @Test
    void aLineHasTheTimeTheLevelTheBundleAndTheMessage() {
        String out = logged(LogLevel.WARN, new Entry(at(7, 5, 9, 42), LogLevel.WARN, "lguest.device", "org.lguest.device",
            "lguest: something", null));
        assertEquals("07:05:09.042 WARN [lguest.device] lguest: something" + System.lineSeparator(), out);
    }

    @Test
    void infoIsShownOnlyAtAnInfoThreshold() {
        Entry info = new Entry(at(1, 2, 3, 4), LogLevel.INFO, "lguest.virtio", "x", "device broken", null);
        assertEquals("", logged(LogLevel.WARN, info));
        assertTrue(logged(LogLevel.INFO, info).endsWith("INFO [lguest.virtio] device broken" + System.lineSeparator()));
    }

    @Test
    void theFrameworksEventsAreShownOnlyAsWarningsOrWorse() {
        String out = logged(LogLevel.INFO,
            new Entry(0, LogLevel.INFO, "org.apache.felix.scr", "Events.Bundle", "BundleEvent STARTED", null),
            new Entry(0, LogLevel.ERROR, "org.apache.felix.scr", "Events.Framework", "FrameworkEvent ERROR", null));
        assertEquals(1, out.lines().count(), out);
        assertTrue(out.contains("ERROR [org.apache.felix.scr] FrameworkEvent ERROR"), out);
    }

    @Test
    void aThrowableFollowsWithItsStackTrace() {
        String out = logged(LogLevel.WARN, new Entry(0, LogLevel.ERROR, "b", "l", "failed",
            new IllegalStateException("why")));
        assertTrue(out.lines().skip(1).findFirst().orElse("").contains("IllegalStateException: why"), out);
    }

    /** A log entry as the Log Service gives one; only what TerminalLog reads has a value. */
    private record Entry(long time, LogLevel level, String bundleName, String logger, String message, Throwable thrown)
            implements LogEntry {
        @Override
        public Bundle getBundle() {
            return (Bundle) java.lang.reflect.Proxy.newProxyInstance(Bundle.class.getClassLoader(),
                new Class<?>[] {Bundle.class}, (proxy, method, args) -> switch (method.getName()) {
                    case "getSymbolicName" -> bundleName;
                    case "getBundleId" -> 7L;
                    default -> null;
                });
        }

        @Override
        public ServiceReference<?> getServiceReference() {
            return null;
        }

        @Deprecated
        @Override
        public int getLevel() {
            return level.ordinal();
        }

        @Override
        public String getMessage() {
            return message;
        }

        @Override
        public Throwable getException() {
            return thrown;
        }

        @Override
        public long getTime() {
            return time;
        }

        @Override
        public LogLevel getLogLevel() {
            return level;
        }

        @Override
        public String getLoggerName() {
            return logger;
        }

        @Override
        public long getSequence() {
            return 0;
        }

        @Override
        public String getThreadInfo() {
            return "test";
        }

        @Override
        public StackTraceElement getLocation() {
            return null;
        }
    }
}
