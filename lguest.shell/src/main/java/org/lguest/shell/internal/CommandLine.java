package org.lguest.shell.internal;

import java.io.FileDescriptor;
import java.io.FileInputStream;
import java.io.FileOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.PrintStream;
import java.lang.reflect.InvocationTargetException;
import java.lang.reflect.UndeclaredThrowableException;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;

import org.apache.felix.service.command.CommandProcessor;
import org.apache.felix.service.command.CommandSession;
import org.apache.felix.service.command.Converter;
import org.apache.felix.service.command.Job;
import org.lguest.api.abi.Lhcall;
import org.lguest.api.guest.Guest;
import org.lguest.api.guest.LaunchException;
import org.lguest.api.virtio.Virtio;
import org.osgi.framework.Bundle;
import org.osgi.framework.BundleContext;
import org.osgi.framework.Constants;
import org.osgi.framework.FrameworkEvent;
import org.osgi.framework.FrameworkListener;
import org.osgi.service.component.annotations.Activate;
import org.osgi.service.component.annotations.Component;
import org.osgi.service.component.annotations.Deactivate;
import org.osgi.service.component.annotations.Reference;
import org.osgi.util.tracker.ServiceTracker;

/**
 * The modes of {@code ./lguest}, each chosen by a property: {@value #COMMANDS}
 * runs Gogo command lines ({@code ./lguest -c}) and {@value #RUN} boots one
 * guest headless, or the demo for {@code run demo} ({@code ./lguest run});
 * either starts once the framework has, then exits the JVM with the outcome:
 * 0 for success, 1 for failure. {@value #DEMO} (the interactive {@code
 * ./lguest}) runs the demo in the background at start-up and leaves the
 * runtime to the shell. With {@value #VERBOSE} ({@code ./lguest --verbose})
 * the first two modes print {@code lguest:info}'s lines on standard error
 * before they start.
 */
@Component(immediate = true, service = {})
public class CommandLine implements FrameworkListener {
    /** Command lines separated by newlines or ';'. */
    static final String COMMANDS = "lguest.commands";
    /**
     * The arguments of {@code ./lguest run}, one per line (so an {@code --append} value keeps its spaces):
     * {@link LaunchRequest#SYNTAX}, or just {@code demo}.
     */
    static final String RUN = "lguest.run";
    /** Any value: {@code ./lguest run} has a terminal (standard input and output), to be put in raw mode. */
    static final String TERMINAL = "lguest.run.terminal";
    /** Any value: run the demo at start-up, with the interactive shell beside it. */
    static final String DEMO = "lguest.demo";
    /** Any value: say what runs the guests (lguest:info) at start-up in the -c and run modes. */
    static final String VERBOSE = "lguest.verbose";

    private static final long LAUNCHER_WAIT_SECONDS = 30;
    /** How long the modes wait for FileInstall to take up deploy/ and etc/. */
    private static final Duration DROP_IN_WAIT = Duration.ofSeconds(30);
    private static final long BUNDLE_POLL_MILLIS = 20;

    @Reference
    private CommandProcessor processor;

    /** Our own commands must be registered before a script may use them. */
    @Reference
    private GuestCommands lguestCommands;

    @Reference
    private BundleCommands bundleCommands;

    @Reference
    private ConfigCommands configCommands;

    /** Guest consoles go to the process's standard output, as for lguest:launch. */
    private static final OutputStream CONSOLE = GuestCommands.CONSOLE;
    /*
     * The process's own standard streams, not System.out and System.err: once
     * Gogo runs, those are its per-thread streams, which write to whatever the
     * running session's streams are. A session made with them writes into
     * itself: every command that prints (echo, help, a log line on stderr)
     * recursed until the stack overflowed.
     */
    private static final PrintStream STDOUT = new PrintStream(new FileOutputStream(FileDescriptor.out), true,
        StandardCharsets.UTF_8);
    private static final PrintStream STDERR = new PrintStream(new FileOutputStream(FileDescriptor.err), true,
        StandardCharsets.UTF_8);
    private static final InputStream STDIN = new FileInputStream(FileDescriptor.in);

    private final AtomicBoolean started = new AtomicBoolean();
    private BundleContext context;

    @Activate
    void activate(BundleContext context) {
        this.context = context;
        if (context.getProperty(COMMANDS) == null && context.getProperty(RUN) == null
                && context.getProperty(DEMO) == null) {
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
        if (!started.compareAndSet(false, true)) {
            return;
        }
        String script = context.getProperty(COMMANDS);
        String run = context.getProperty(RUN);
        if (script == null && run == null) {
            Thread.ofPlatform().name("lguest-demo").daemon().start(this::demoBesideTheShell);
            return;
        }
        Thread.ofPlatform().name("lguest-command-line").start(() -> {
            DropIns.await(context, DROP_IN_WAIT, System.err);
            int status;
            if (context.getProperty(VERBOSE) != null) {
                awaitBundlesStarted();
                InfoCommand.lines(context).forEach(System.err::println);
            }
            if (script != null) {
                // A script may launch guests at once: give the Launcher its time to come up.
                awaitStarter(null);
                status = runCommands(script, processor, STDOUT, STDERR);
            } else if (run.strip().equals(DemoScenario.DEMO)) {
                status = runDemo(System.err);
            } else {
                status = runGuest(run, System.err);
            }
            exit(status);
        });
    }

    /**
     * The interactive start: the demo's consoles show up below the prompt Gogo
     * has already printed, then the prompt is shown again, where the shell's
     * line editor still has its cursor (etc/gosh_profile sets the same prompt).
     */
    private void demoBesideTheShell() {
        PrintStream log = new PrintStream(CONSOLE, true, StandardCharsets.UTF_8);
        DropIns.await(context, DROP_IN_WAIT, log);
        int status = runDemo(log);
        log.println(status == 0 ? "lguest: the demo powered off" : "lguest: the demo failed (see above)");
        log.println("lguest: 'help' lists the commands (ours start with lguest:), 'lguest:demo' runs the demo again,"
            + " ^D leaves");
        log.print("lguest> ");
        log.flush();
    }

    private int runDemo(PrintStream log) {
        GuestStarter starter = awaitStarter(log);
        return starter == null ? 1 : new DemoScenario(starter, CONSOLE, log).run();
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

    /**
     * Runs each line; answers 0 when all succeed, 1 at the first failure. A
     * line fails when it throws, or when a command in it ends with a non-zero
     * status: Gogo's own commands (echo, sleep, cat...) print their error and
     * set a status rather than throw, and the status is only seen by a job
     * listener.
     */
    static int runCommands(String script, CommandProcessor processor, PrintStream out, PrintStream err) {
        CommandSession session = processor.createSession(STDIN, out, err);
        session.put("SCOPE", Scopes.ORDER);
        AtomicInteger status = new AtomicInteger();
        session.setJobListener((job, previous, current) -> {
            if (current == Job.Status.Done && job.result() != null && job.result().error() != 0) {
                status.compareAndSet(0, job.result().error());
            }
        });
        try {
            for (String line : script.split("[;\n]")) {
                if (line.isBlank()) {
                    continue;
                }
                try {
                    Object result = session.execute(line.strip());
                    if (status.get() != 0) {
                        err.println("lguest: '" + line.strip() + "' failed with status " + status.get()
                            + " (its message is above)");
                        return 1;
                    }
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

    /**
     * Boots one guest with its console on standard output; 0 when it powers
     * off, 1 otherwise. Its console input is this process's: on a terminal
     * ({@value #TERMINAL} set), the terminal in raw mode until the guest ends
     * or the leaving key stops it; otherwise standard input as it comes.
     */
    private int runGuest(String arguments, PrintStream err) {
        GuestStarter starter = awaitStarter(err);
        if (starter == null) {
            return 1;
        }
        try {
            // Split only at the newlines between arguments: an --append value keeps every space.
            LaunchRequest request = LaunchRequest.parse(List.of(arguments.split("\n")));
            // At start-up the console's bundle may come after ours: run's guest talks through it.
            starter.awaitDevices(Map.of(Virtio.ID_CONSOLE, "virtio console"));
            Guest guest = starter.launch(request, CONSOLE);
            boolean left = false;
            if (context.getProperty(TERMINAL) != null) {
                left = typeOnTheTerminal(guest, err);
            } else {
                forwardStandardInput(guest);
            }
            Guest.Outcome outcome = guest.outcome().toCompletableFuture().join();
            if (outcome.state() == Guest.State.POWERED_OFF && isPlainPowerOff(outcome.reason())) {
                return 0;
            }
            err.println("lguest: guest " + guest.id() + " (" + guest.image() + ") "
                + (left ? "stopped: " + ConsoleLink.LEAVE_KEY_NAME + " was typed" : DemoScenario.describe(outcome)));
            return 1;
        } catch (LaunchException | IllegalArgumentException e) {
            err.println("lguest: " + e.getMessage());
            return 1;
        }
    }

    /** Keys from the raw terminal until the guest ends; true when the leaving key stopped it. */
    private boolean typeOnTheTerminal(Guest guest, PrintStream err) {
        RawTerminal terminal;
        try {
            terminal = RawTerminal.system(System.out);
        } catch (IOException | NoClassDefFoundError e) {
            err.println("lguest: no raw terminal (" + (e instanceof NoClassDefFoundError ? "JLine is not installed"
                : e.getMessage()) + "); standard input goes to the guest as it comes");
            forwardStandardInput(guest);
            return false;
        }
        try (GuestConsoleInput input = GuestConsoleInput.find(context, guest.id()); RawTerminal raw = terminal) {
            raw.say("lguest: guest " + guest.id() + " (" + guest.image() + ") on this terminal; "
                + ConsoleLink.LEAVE_KEY_NAME + " stops it");
            if (ConsoleLink.pump(raw.keys(), input, () -> guest.state() == Guest.State.RUNNING) == ConsoleLink.End.LEFT) {
                guest.stop();
                return true;
            }
        } catch (LaunchException | IOException e) {
            // No console to type at (or the terminal failed): the guest runs on without input.
        }
        return false;
    }

    /** Standard input to the guest's console as it comes, on a thread of its own, until either ends. */
    private void forwardStandardInput(Guest guest) {
        Thread.ofPlatform().name("lguest-console-input").daemon().start(() -> {
            try (GuestConsoleInput input = GuestConsoleInput.find(context, guest.id())) {
                byte[] buffer = new byte[4096];
                int n;
                while ((n = System.in.read(buffer)) >= 0 && guest.state() == Guest.State.RUNNING) {
                    if (n > 0) {
                        input.send(Arrays.copyOf(buffer, n));
                    }
                }
            } catch (LaunchException | IOException e) {
                // A guest without a console, or input that failed: it runs on without.
            }
        });
    }

    /**
     * Waits (at most {@value #LAUNCHER_WAIT_SECONDS} s) until every bundle
     * but fragments is active: the launcher starts them after the framework,
     * and the device services lguest:info lists come with their bundles.
     */
    private void awaitBundlesStarted() {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(LAUNCHER_WAIT_SECONDS);
        while (System.nanoTime() < deadline && Arrays.stream(context.getBundles()).anyMatch(CommandLine::starting)) {
            try {
                Thread.sleep(BUNDLE_POLL_MILLIS);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                return;
            }
        }
    }

    private static boolean starting(Bundle bundle) {
        boolean fragment = bundle.getHeaders("").get(Constants.FRAGMENT_HOST) != null;
        return !fragment && bundle.getState() != Bundle.ACTIVE;
    }

    /*
     * A guest powers off through SHUTDOWN with a message. Linux and our
     * runtime say "Power down" when asked to; Linux's panic notifier powers
     * off too, with the panic's text. That is a failure for whoever ran the
     * guest, so only the plain message counts as success.
     */
    static boolean isPlainPowerOff(String reason) {
        return (Lhcall.SHUTDOWN_REASON_PREFIX + "Power down").equals(reason);
    }

    /** The Launcher, behind the starter; null (having said why on {@code err}, if given) when it does not come up. */
    private GuestStarter awaitStarter(PrintStream err) {
        ServiceTracker<GuestStarter, GuestStarter> tracker = new ServiceTracker<>(context, GuestStarter.class, null);
        tracker.open();
        try {
            GuestStarter starter = tracker.waitForService(TimeUnit.SECONDS.toMillis(LAUNCHER_WAIT_SECONDS));
            if (starter == null && err != null) {
                err.println("lguest: no Launcher came up within " + LAUNCHER_WAIT_SECONDS
                    + " s: check 'lb lguest' and the log for a missing bundle or library");
            }
            return starter;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return null;
        } finally {
            tracker.close();
        }
    }

    /**
     * The failure's own message: Gogo hands a command's exception over wrapped
     * in reflection's, which say nothing; our commands' messages already carry
     * their cause and what to do.
     */
    static String describe(Throwable e) {
        Throwable cause = e;
        while (cause.getCause() != null && cause.getCause() != cause
                && (cause instanceof InvocationTargetException || cause instanceof UndeclaredThrowableException
                    || cause.getMessage() == null)) {
            cause = cause.getCause();
        }
        String message = cause.getMessage();
        return message == null ? cause.toString() : message;
    }
}
