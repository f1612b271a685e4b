package org.lguest.log.internal;

import java.util.ArrayList;
import java.util.List;
import java.util.logging.ConsoleHandler;
import java.util.logging.Handler;

import org.osgi.framework.BundleContext;
import org.osgi.framework.Constants;
import org.osgi.service.component.annotations.Activate;
import org.osgi.service.component.annotations.Component;
import org.osgi.service.component.annotations.Deactivate;
import org.osgi.service.component.annotations.Reference;
import org.osgi.service.log.LogLevel;
import org.osgi.service.log.LogReaderService;
import org.osgi.service.log.LoggerFactory;

/**
 * The runtime's log, one way: java.util.logging (and so every {@link System.Logger} call in our bundles)
 * goes into the OSGi Log Service through {@link JulBridge}, and the Log Service's entries reach standard
 * error through {@link TerminalLog}: warnings and errors, and INFO too when the framework property
 * {@code lguest.verbose} is true ({@code ./lguest --verbose}). While it is active the root logger's console
 * handlers are set aside, so nothing is printed twice; they come back when it stops. Until it starts, those
 * handlers print in the same format (etc/logging.properties).
 * <p>
 * Threads: activate and deactivate run on SCR's thread; the fields are set there and only read after.
 */
@Component(immediate = true)
public final class LogBridge {
    /** The framework property that shows INFO on the terminal. */
    static final String VERBOSE = "lguest.verbose";

    private final LogReaderService reader;
    private final TerminalLog terminal;
    private final JulBridge bridge;
    private final List<Handler> setAside = new ArrayList<>();

    @Activate
    public LogBridge(BundleContext context, @Reference LoggerFactory factory, @Reference LogReaderService reader) {
        this.reader = reader;
        this.terminal = new TerminalLog(System.err,
            Boolean.parseBoolean(context.getProperty(VERBOSE)) ? LogLevel.INFO : LogLevel.WARN);
        this.bridge = new JulBridge(factory, context.getBundle(Constants.SYSTEM_BUNDLE_ID));
        reader.addLogListener(terminal);
        java.util.logging.Logger root = java.util.logging.Logger.getLogger("");
        for (Handler h : root.getHandlers()) {
            if (h instanceof ConsoleHandler) {
                root.removeHandler(h);
                setAside.add(h);
            }
        }
        root.addHandler(bridge);
    }

    @Deactivate
    void deactivate() {
        java.util.logging.Logger root = java.util.logging.Logger.getLogger("");
        root.removeHandler(bridge);
        for (Handler h : setAside) {
            root.addHandler(h);
        }
        reader.removeLogListener(terminal);
    }
}
