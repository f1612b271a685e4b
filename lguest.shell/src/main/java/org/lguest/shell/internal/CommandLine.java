package org.lguest.shell.internal;

import java.io.PrintStream;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;

import org.apache.felix.service.command.CommandProcessor;
import org.apache.felix.service.command.CommandSession;
import org.apache.felix.service.command.Converter;
import org.lguest.api.guest.Guest;
import org.lguest.api.guest.GuestManager;
import org.lguest.api.guest.LaunchException;
import org.lguest.api.guest.LaunchOptions;
import org.osgi.framework.Bundle;
import org.osgi.framework.BundleContext;
import org.osgi.framework.FrameworkEvent;
import org.osgi.framework.FrameworkListener;
import org.osgi.service.component.annotations.Activate;
import org.osgi.service.component.annotations.Component;
import org.osgi.service.component.annotations.Deactivate;
import org.osgi.service.component.annotations.Reference;
import org.osgi.util.tracker.ServiceTracker;

/**
 * The non-interactive modes of {@code ./lguest}, each chosen by a property:
 * {@value #COMMANDS} runs Gogo command lines ({@code ./lguest -c}) and
 * {@value #RUN} boots one guest headless ({@code ./lguest run}). Either
 * starts once the framework has, then stops the framework and exits the JVM
 * with the outcome: 0 for success, 1 for failure.
 */
@Component(immediate = true, service = {})
public class CommandLine implements FrameworkListener {
    /** Command lines separated by newlines or ';'. */
    static final String COMMANDS = "lguest.commands";
    /** {@code IMAGE [--memory MIB]}: the arguments of {@code ./lguest run}. */
    static final String RUN = "lguest.run";

    private static final long LAUNCHER_WAIT_SECONDS = 30;

    @Reference
    private CommandProcessor processor;

    /** Our own commands must be registered before a script may use them. */
    @Reference
    private GuestCommands lguestCommands;

    private final AtomicBoolean started = new AtomicBoolean();
    private BundleContext context;

    @Activate
    void activate(BundleContext context) {
        this.context = context;
        if (context.getProperty(COMMANDS) == null && context.getProperty(RUN) == null) {
            return;
        }
        context.addFrameworkListener(this);
        if (context.getBundle(0).getState() == Bundle.ACTIVE) {
            startOnce();
        }
    }

    @Deactivate
    void deactivate() {
        context.removeFrameworkListener(this);
    }

    @Override
    public void frameworkEvent(FrameworkEvent event) {
        if (event.getType() == FrameworkEvent.STARTED) {
            startOnce();
        }
    }

    private void startOnce() {
        if (started.compareAndSet(false, true)) {
            Thread.ofPlatform().name("lguest-command-line").start(() -> {
                String script = context.getProperty(COMMANDS);
                int status = script != null
                    ? runCommands(script, processor, System.out, System.err)
                    : runGuest(context.getProperty(RUN), System.out, System.err);
                exit(status);
            });
        }
    }

    /**
     * Exits the JVM with our status. The launcher's shutdown hook stops the
     * framework; stopping it first would let the launcher exit with its own
     * status before ours.
     */
    private static void exit(int status) {
        System.out.flush();
        System.err.flush();
        System.exit(status);
    }

    /** Runs each line; answers 0 when all succeed, 1 at the first failure. */
    static int runCommands(String script, CommandProcessor processor, PrintStream out, PrintStream err) {
        CommandSession session = processor.createSession(System.in, out, err);
        // As etc/gosh_profile does for the interactive shell: our commands first.
        session.put("SCOPE", "lguest:gogo:*");
        try {
            for (String line : script.split("[;\n]")) {
                if (line.isBlank()) {
                    continue;
                }
                try {
                    Object result = session.execute(line.strip());
                    if (result != null) {
                        out.println(session.format(result, Converter.INSPECT));
                    }
                } catch (Exception e) {
                    err.println("lguest: '" + line.strip() + "' failed: " + describe(e));
                    return 1;
                }
            }
            return 0;
        } finally {
            out.flush();
            session.close();
        }
    }

    /** Boots one guest with its console on {@code out}; 0 when it powers off, 1 otherwise. */
    private int runGuest(String arguments, PrintStream out, PrintStream err) {
        GuestManager launcher;
        try {
            launcher = awaitLauncher();
        } catch (InterruptedException e) {
            return 1;
        }
        if (launcher == null) {
            err.println("lguest: no Launcher came up within " + LAUNCHER_WAIT_SECONDS
                + " s: check 'lguest:list' and the log for a missing bundle or library");
            return 1;
        }
        try {
            LaunchOptions options = RunArguments.parse(arguments, out);
            Guest guest = launcher.launch(options);
            Guest.Outcome outcome = guest.outcome().toCompletableFuture().join();
            out.flush();
            if (outcome.state() == Guest.State.POWERED_OFF) {
                return 0;
            }
            err.println("lguest: guest " + guest.id() + " (" + guest.image() + ") "
                + outcome.state().name().toLowerCase().replace('_', ' ') + ": " + outcome.reason());
            return 1;
        } catch (LaunchException | IllegalArgumentException e) {
            err.println("lguest: " + e.getMessage());
            return 1;
        }
    }

    private GuestManager awaitLauncher() throws InterruptedException {
        ServiceTracker<GuestManager, GuestManager> tracker = new ServiceTracker<>(context, GuestManager.class, null);
        tracker.open();
        try {
            return tracker.waitForService(TimeUnit.SECONDS.toMillis(LAUNCHER_WAIT_SECONDS));
        } finally {
            tracker.close();
        }
    }

    /** The innermost cause's message: Gogo wraps command failures in reflection exceptions. */
    static String describe(Throwable e) {
        Throwable cause = e;
        while (cause.getCause() != null && cause.getCause() != cause) {
            cause = cause.getCause();
        }
        String message = cause.getMessage();
        return message == null ? cause.getClass().getSimpleName() : message;
    }
}
