package org.lguest.launcher.internal;

import java.net.URL;
import java.nio.file.Files;
import java.nio.file.InvalidPathException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Enumeration;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

import org.lguest.api.guest.LaunchException;
import org.osgi.framework.Bundle;
import org.osgi.framework.BundleContext;
import org.osgi.framework.BundleEvent;
import org.osgi.util.tracker.BundleTracker;

/**
 * Guest images by name. Any bundle may ship images: its manifest header
 * {@value #HEADER} names a folder whose {@code NAME.elf} and {@code NAME.bzImage}
 * entries become bootable as {@code NAME} (the bytes say which kind it is; the
 * suffix only marks a file as an image). A name that is a path to a file boots that file.
 */
final class ImageCatalog {
    /** The manifest header of a bundle that ships guest images. */
    static final String HEADER = "Lguest-Images";
    /** What marks a bundle entry as an image. */
    static final List<String> SUFFIXES = List.of(".elf", ".bzImage");

    private final Map<String, URL> images = new TreeMap<>();
    private final BundleTracker<List<String>> tracker;

    ImageCatalog(BundleContext context) {
        tracker = new BundleTracker<>(context, Bundle.RESOLVED | Bundle.STARTING | Bundle.ACTIVE, null) {
            @Override
            public List<String> addingBundle(Bundle bundle, BundleEvent event) {
                return ImageCatalog.this.register(bundle);
            }

            @Override
            public void removedBundle(Bundle bundle, BundleEvent event, List<String> names) {
                ImageCatalog.this.unregister(names);
            }
        };
    }

    void open() {
        tracker.open();
    }

    void close() {
        tracker.close();
    }

    private List<String> register(Bundle bundle) {
        String folder = bundle.getHeaders("").get(HEADER);
        if (folder == null) {
            return null;
        }
        Enumeration<URL> entries = bundle.findEntries(folder.strip(), "*", false);
        List<String> names = new ArrayList<>();
        synchronized (images) {
            while (entries != null && entries.hasMoreElements()) {
                URL url = entries.nextElement();
                String file = url.getPath().substring(url.getPath().lastIndexOf('/') + 1);
                String suffix = SUFFIXES.stream().filter(file::endsWith).findFirst().orElse(null);
                if (suffix == null) {
                    continue;
                }
                String name = file.substring(0, file.length() - suffix.length());
                images.put(name, url);
                names.add(name);
            }
        }
        return names;
    }

    private void unregister(List<String> names) {
        synchronized (images) {
            names.forEach(images::remove);
        }
    }

    List<String> names() {
        synchronized (images) {
            return List.copyOf(images.keySet());
        }
    }

    /**
     * A named image's bytes, or else the file {@code image} names (relative to
     * the working directory): a vmlinux, a bzImage or an ELF of our own.
     */
    ImageSource open(String image) throws LaunchException {
        URL url;
        synchronized (images) {
            url = images.get(image);
        }
        if (url != null) {
            return ImageSource.ofBundle(image, url);
        }
        Path file;
        try {
            file = Path.of(image);
        } catch (InvalidPathException e) {
            file = null;
        }
        if (file != null && Files.exists(file)) {
            return ImageSource.ofFile(image, file, "guest image");
        }
        throw new LaunchException("no guest image named '" + image + "' and no such file; known images: "
            + (names().isEmpty() ? "none (is the lguest.guest bundle installed?)" : String.join(", ", names()))
            + "; or give the path of a vmlinux or bzImage");
    }
}
