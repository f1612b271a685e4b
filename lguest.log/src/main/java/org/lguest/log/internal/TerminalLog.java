package org.lguest.log.internal;

import java.io.PrintStream;

import org.osgi.framework.Bundle;
import org.osgi.service.log.LogEntry;
import org.osgi.service.log.LogLevel;
import org.osgi.service.log.LogListener;

/**
 * Writes the Log Service's entries at {@code threshold} or more severe to the terminal (standard error) in
 * {@link LogFormat}'s line. The framework's own event entries ({@code Events.Bundle}, {@code Events.Service},
 * ...) are shown only as warnings and errors: at INFO they would list every bundle and service started.
 * Felix Log calls it from its delivery thread, one entry at a time; the stream is only written here.
 */
final class TerminalLog implements LogListener {
    private final PrintStream out;
    private final LogLevel threshold;

    TerminalLog(PrintStream out, LogLevel threshold) {
        this.out = out;
        this.threshold = threshold;
    }

    @Override
    public void logged(LogEntry entry) {
        LogLevel level = entry.getLogLevel();
        if (!threshold.implies(level)) {
            return;
        }
        String logger = entry.getLoggerName();
        if (logger != null && logger.startsWith("Events.") && !LogLevel.WARN.implies(level)) {
            return;
        }
        out.print(LogFormat.line(entry.getTime(), level.name(), name(entry.getBundle()), entry.getMessage(),
            entry.getException()));
        out.flush();
    }

    private static String name(Bundle bundle) {
        if (bundle == null) {
            return "-";
        }
        String name = bundle.getSymbolicName();
        return name != null ? name : "bundle " + bundle.getBundleId();
    }
}
