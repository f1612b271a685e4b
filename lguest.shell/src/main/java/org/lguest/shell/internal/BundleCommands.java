package org.lguest.shell.internal;

import java.io.IOException;
import java.io.InputStream;
import java.io.File;
import java.net.URI;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.jar.JarFile;
import java.util.zip.ZipEntry;

import org.apache.felix.service.command.CommandSession;
import org.apache.felix.service.command.Descriptor;
import org.osgi.framework.Bundle;
import org.osgi.framework.BundleContext;
import org.osgi.framework.BundleException;
import org.osgi.framework.Constants;
import org.osgi.service.component.annotations.Activate;
import org.osgi.service.component.annotations.Component;

/**
 * The bundle life-cycle commands, first in the shell's scope order
 * ({@link Scopes}). They do what Felix's {@code felix:} ones do, but answer
 * bundles and throw when something fails, so that {@code b = install URL;
 * start $b} works and a failing line fails {@code ./lguest -c}; Felix's
 * return the error as text, which a script cannot tell from success.
 * <p>
 * {@code update} also re-reads the bundles the runtime jar carries: the
 * launcher installs them from inside it (locations {@code jar/NAME.jar}),
 * which is no URL Felix could open again, so they are read from the runtime
 * jar on disk, as it is now: after a rebuild, {@code update ID} takes the new
 * bundle.
 */
@Component(service = BundleCommands.class, property = {
    "osgi.command.scope=bundle",
    "osgi.command.function=install",
    "osgi.command.function=start",
    "osgi.command.function=stop",
    "osgi.command.function=update",
    "osgi.command.function=uninstall"
})
public class BundleCommands {
    private final BundleContext context;

    @Activate
    public BundleCommands(BundleContext context) {
        this.context = context;
    }

    @Descriptor("install a bundle from a URL or a file path, and answer it (not started)")
    public Bundle install(CommandSession session,
            @Descriptor("a URL (file:, http:...) or a path, relative to the shell's directory") String location)
            throws BundleException {
        String url = toUrl(session, location);
        try {
            return context.installBundle(url);
        } catch (BundleException | RuntimeException e) {
            throw new BundleException("cannot install " + url + ": " + e.getMessage()
                + " (check the path or URL, and that it is a bundle)", e);
        }
    }

    @Descriptor("start bundles, given by id, as bundles, or as URLs or paths to install first; answers them")
    public List<Bundle> start(CommandSession session,
            @Descriptor("bundle ids (see lb), bundles, or URLs or paths") Object[] bundles) throws BundleException {
        List<Bundle> started = new ArrayList<>();
        for (Object given : bundles) {
            Bundle bundle = isBundleOrId(given) ? bundle(given) : install(session, String.valueOf(given));
            try {
                bundle.start();
            } catch (BundleException | RuntimeException e) {
                throw new BundleException(name(bundle) + " did not start: " + e.getMessage()
                    + " (see 'headers " + bundle.getBundleId() + "' and 'lb')", e);
            }
            started.add(bundle);
        }
        return started;
    }

    @Descriptor("stop bundles (a guest is stopped with lguest:stop)")
    public List<Bundle> stop(@Descriptor("bundle ids (see lb) or bundles") Object[] bundles) throws BundleException {
        List<Bundle> stopped = new ArrayList<>();
        for (Object given : bundles) {
            Bundle bundle = bundle(given);
            try {
                bundle.stop();
            } catch (BundleException | RuntimeException e) {
                throw new BundleException(name(bundle) + " did not stop: " + e.getMessage(), e);
            }
            stopped.add(bundle);
        }
        return stopped;
    }

    @Descriptor("update a bundle from where it was installed from (for the runtime's own: the runtime jar on disk)")
    public Bundle update(@Descriptor("bundle id (see lb) or bundle") Object given) throws BundleException {
        Bundle bundle = bundle(given);
        String location = bundle.getLocation();
        boolean fromRuntimeJar = bundle.getHeaders().get(Constants.BUNDLE_UPDATELOCATION) == null && !isUrl(location);
        try {
            if (fromRuntimeJar) {
                try (InputStream in = fromRuntimeJar(location)) {
                    bundle.update(in);
                }
            } else {
                bundle.update();
            }
            return bundle;
        } catch (BundleException | IOException | RuntimeException e) {
            throw new BundleException(name(bundle) + " was not updated from " + location + ": " + e.getMessage(), e);
        }
    }

    @Descriptor("update a bundle from the given URL or path")
    public Bundle update(CommandSession session, @Descriptor("bundle id (see lb) or bundle") Object given,
            @Descriptor("a URL or a path, relative to the shell's directory") String location) throws BundleException {
        Bundle bundle = bundle(given);
        String url = toUrl(session, location);
        try (InputStream in = URI.create(url).toURL().openStream()) {
            bundle.update(in);
            return bundle;
        } catch (BundleException | IOException | RuntimeException e) {
            throw new BundleException(name(bundle) + " was not updated from " + url + ": " + e.getMessage(), e);
        }
    }

    @Descriptor("uninstall bundles")
    public List<Bundle> uninstall(@Descriptor("bundle ids (see lb) or bundles") Object[] bundles) throws BundleException {
        List<Bundle> gone = new ArrayList<>();
        for (Object given : bundles) {
            Bundle bundle = bundle(given);
            try {
                bundle.uninstall();
            } catch (BundleException | RuntimeException e) {
                throw new BundleException(name(bundle) + " was not uninstalled: " + e.getMessage(), e);
            }
            gone.add(bundle);
        }
        return gone;
    }

    private static boolean isBundleOrId(Object given) {
        return given instanceof Bundle || given instanceof Number || String.valueOf(given).matches("\\d+");
    }

    private Bundle bundle(Object given) throws BundleException {
        if (given instanceof Bundle bundle) {
            return bundle;
        }
        String text = String.valueOf(given).strip();
        if (!text.matches("\\d+")) {
            throw new BundleException("'" + text + "' is not a bundle id: 'lb' lists them");
        }
        Bundle bundle = context.getBundle(Long.parseLong(text));
        if (bundle == null) {
            throw new BundleException("no bundle " + text + ": 'lb' lists them");
        }
        return bundle;
    }

    private static String name(Bundle bundle) {
        return "bundle " + bundle.getBundleId() + " (" + bundle.getSymbolicName() + ")";
    }

    private static boolean isUrl(String location) {
        return location.matches("[a-zA-Z][a-zA-Z0-9+.-]+:.*");
    }

    private static String toUrl(CommandSession session, String location) {
        if (isUrl(location)) {
            return location;
        }
        Path base = session == null || session.currentDir() == null ? Path.of("") : session.currentDir();
        return base.resolve(location).toAbsolutePath().normalize().toUri().toString();
    }

    /** The entry {@code location} of the jar on the class path that carries it: the runtime jar. */
    private static InputStream fromRuntimeJar(String location) throws IOException {
        for (String element : System.getProperty("java.class.path", "").split(File.pathSeparator)) {
            if (!element.endsWith(".jar")) {
                continue;
            }
            JarFile jar = new JarFile(element);
            ZipEntry entry = jar.getEntry(location);
            if (entry == null) {
                jar.close();
                continue;
            }
            InputStream in = jar.getInputStream(entry);
            return new java.io.FilterInputStream(in) {
                @Override
                public void close() throws IOException {
                    try {
                        super.close();
                    } finally {
                        jar.close();
                    }
                }
            };
        }
        throw new IOException("no jar on the class path (" + System.getProperty("java.class.path")
            + ") has " + location + ": give the bundle's new URL, 'update ID URL'");
    }
}
