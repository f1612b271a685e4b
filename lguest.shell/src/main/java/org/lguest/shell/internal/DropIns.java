package org.lguest.shell.internal;

import java.io.IOException;
import java.io.PrintStream;
import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;

import org.osgi.framework.Bundle;
import org.osgi.framework.BundleContext;
import org.osgi.framework.Constants;
import org.osgi.framework.InvalidSyntaxException;
import org.osgi.service.cm.Configuration;
import org.osgi.service.cm.ConfigurationAdmin;
import org.osgi.util.tracker.ServiceTracker;

/**
 * What FileInstall's folders held at start-up, waited for before ./lguest's
 * modes begin. FileInstall takes its folders up on its own thread after the
 * framework has started and says nothing when it is done, so a script could
 * otherwise run before a dropped-in bundle is there, or the demo start just
 * before etc/'s configurations restart the devices it uses.
 */
final class DropIns {
    /** FileInstall's folders, comma-separated (./lguest's --deploy and --etc). */
    static final String FOLDERS = "felix.fileinstall.dir";
    private static final String FILE = "felix.fileinstall.filename";
    private static final long POLL_MILLIS = 20;

    private DropIns() {
    }

    /** Waits until each bundle and configuration file is installed; says on {@code err} what is not, at the end. */
    static void await(BundleContext context, Duration timeout, PrintStream err) {
        String folders = context.getProperty(FOLDERS);
        if (folders == null || !fileInstallRuns(context)) {
            return;
        }
        List<Path> files = new ArrayList<>();
        for (String folder : folders.split(",")) {
            try (Stream<Path> found = Files.list(Path.of(folder.strip()))) {
                found.filter(Files::isRegularFile).filter(f -> f.toString().matches(".*\\.(jar|cfg|config)"))
                    .map(f -> f.toAbsolutePath().normalize()).forEach(files::add);
            } catch (IOException e) {
                // No folder yet: nothing in it to wait for.
            }
        }
        if (files.isEmpty()) {
            return;
        }
        ServiceTracker<ConfigurationAdmin, ConfigurationAdmin> admin = new ServiceTracker<>(context,
            ConfigurationAdmin.class, null);
        admin.open();
        try {
            long deadline = System.nanoTime() + timeout.toNanos();
            List<Path> missing = missing(context, admin.getService(), files);
            while (!missing.isEmpty() && System.nanoTime() < deadline) {
                Thread.sleep(POLL_MILLIS);
                missing = missing(context, admin.getService(), files);
            }
            if (!missing.isEmpty()) {
                err.println("lguest: FileInstall has not taken up " + missing + " within " + timeout.toSeconds()
                    + " s: going on without; see the log for why");
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        } finally {
            admin.close();
        }
    }

    private static boolean isResolvedFragment(Bundle bundle) {
        return bundle.getHeaders().get(Constants.FRAGMENT_HOST) != null
            && bundle.getState() == Bundle.RESOLVED;
    }

    private static boolean fileInstallRuns(BundleContext context) {
        for (Bundle bundle : context.getBundles()) {
            if ("org.apache.felix.fileinstall".equals(bundle.getSymbolicName())) {
                return bundle.getState() == Bundle.ACTIVE || bundle.getState() == Bundle.STARTING;
            }
        }
        return false;
    }

    private static List<Path> missing(BundleContext context, ConfigurationAdmin admin, List<Path> files) {
        List<Path> installed = new ArrayList<>();
        for (Bundle bundle : context.getBundles()) {
            Path path = path(bundle.getLocation());
            // FileInstall installs first and starts later: a bundle counts once it runs (a fragment once resolved).
            if (path != null && (bundle.getState() == Bundle.ACTIVE || isResolvedFragment(bundle))) {
                installed.add(path);
            }
        }
        if (admin != null) {
            try {
                Configuration[] configurations = admin.listConfigurations("(" + FILE + "=*)");
                for (Configuration configuration : configurations == null ? new Configuration[0] : configurations) {
                    Object file = configuration.getProperties() == null ? null : configuration.getProperties().get(FILE);
                    Path path = file == null ? null : path(file.toString());
                    if (path != null) {
                        installed.add(path);
                    }
                }
            } catch (IOException | InvalidSyntaxException | RuntimeException e) {
                // Configuration Admin going away: its files count as missing until the time is up.
            }
        }
        return files.stream().filter(file -> !installed.contains(file)).toList();
    }

    /** The file a location or file name in URL form names, or null. */
    private static Path path(String url) {
        try {
            URI uri = URI.create(url);
            return "file".equals(uri.getScheme()) ? Path.of(uri).toAbsolutePath().normalize() : null;
        } catch (IllegalArgumentException | java.nio.file.FileSystemNotFoundException e) {
            return null;
        }
    }
}
