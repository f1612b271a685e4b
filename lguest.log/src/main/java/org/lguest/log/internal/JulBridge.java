package org.lguest.log.internal;

import java.util.Optional;
import java.util.Set;
import java.util.logging.Handler;
import java.util.logging.Level;
import java.util.logging.LogRecord;
import java.util.logging.SimpleFormatter;

import org.osgi.framework.Bundle;
import org.osgi.framework.FrameworkUtil;
import org.osgi.service.log.Logger;
import org.osgi.service.log.LoggerFactory;

/**
 * A java.util.logging handler that hands every record to the OSGi Log Service, on behalf of the bundle
 * whose class logged it. Our bundles log through {@link System.Logger}, which the JDK sends to
 * java.util.logging; Jetty logs there too. The bundle is found on the logging thread's stack: the first
 * frame whose class is not the JDK's logging machinery; a record with no bundle on the stack (the JDK's
 * own, or one published later by the JDK's boot-time logger) goes out as the system bundle's.
 * <p>
 * Called on whatever thread logs; it keeps no state of its own besides what the constructor set.
 */
final class JulBridge extends Handler {
    private static final StackWalker STACK = StackWalker.getInstance(StackWalker.Option.RETAIN_CLASS_REFERENCE);
    /** Packages of the logging machinery between a caller and this handler. */
    private static final Set<String> MACHINERY = Set.of("java.", "jdk.", "sun.", "javax.");

    private final LoggerFactory factory;
    private final Bundle fallback;
    private final SimpleFormatter text = new SimpleFormatter();

    JulBridge(LoggerFactory factory, Bundle fallback) {
        this.factory = factory;
        this.fallback = fallback;
    }

    @Override
    public void publish(LogRecord record) {
        if (record == null || !isLoggable(record)) {
            return;
        }
        Bundle bundle = callerBundle().orElse(fallback);
        String name = record.getLoggerName() == null ? "" : record.getLoggerName();
        Logger logger = factory.getLogger(bundle, name, Logger.class);
        // The Log Service reads "{}" as a place for an argument; ours are already in the text.
        String message = text.formatMessage(record).replace("{}", "\\{}");
        Throwable thrown = record.getThrown();
        int level = record.getLevel().intValue();
        if (level >= Level.SEVERE.intValue()) {
            logger.error(message, thrown);
        } else if (level >= Level.WARNING.intValue()) {
            logger.warn(message, thrown);
        } else if (level >= Level.INFO.intValue()) {
            logger.info(message, thrown);
        } else if (level >= Level.FINE.intValue()) {
            logger.debug(message, thrown);
        } else {
            logger.trace(message, thrown);
        }
    }

    private static Optional<Bundle> callerBundle() {
        return STACK.walk(frames -> frames.map(StackWalker.StackFrame::getDeclaringClass)
            .filter(c -> c != JulBridge.class && !machinery(c.getName()))
            .findFirst())
            .map(FrameworkUtil::getBundle);
    }

    private static boolean machinery(String className) {
        for (String prefix : MACHINERY) {
            if (className.startsWith(prefix)) {
                return true;
            }
        }
        return false;
    }

    @Override
    public void flush() {
        // Nothing is buffered here.
    }

    @Override
    public void close() {
        // Nothing is held here.
    }
}
