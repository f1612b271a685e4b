package org.lguest.launcher.internal;

import java.io.IOException;
import java.io.InputStream;
import java.net.URL;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
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
 * {@value #HEADER} names a folder whose {@code NAME.elf} entries become
 * bootable as {@code NAME}. A name that is a path to a file boots that file.
 */
final class ImageCatalog {
    /** The manifest header of a bundle that ships guest images. */
    static final String HEADER = "Lguest-Images";

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
        Enumeration<URL> entries = bundle.findEntries(folder.strip(), "*.elf", false);
        List<String> names = new ArrayList<>();
        synchronized (images) {
            while (entries != null && entries.hasMoreElements()) {
                URL url = entries.nextElement();
                String file = url.getPath().substring(url.getPath().lastIndexOf('/') + 1);
                String name = file.substring(0, file.length() - ".elf".length());
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

    /** The bytes of a named image or of an image file. */
    byte[] read(String image) throws LaunchException {
        URL url;
        synchronized (images) {
            url = images.get(image);
        }
        try {
            if (url != null) {
                try (InputStream in = url.openStream()) {
                    return in.readAllBytes();
                }
            }
            if (image.contains("/") || image.endsWith(".elf")) {
                return Files.readAllBytes(Path.of(image));
            }
        } catch (NoSuchFileException e) {
            throw new LaunchException("no guest image file " + image);
        } catch (IOException e) {
            throw new LaunchException("cannot read guest image " + image + ": " + e.getMessage(), e);
        }
        throw new LaunchException("no guest image named '" + image + "'; known images: "
            + (names().isEmpty() ? "none (is the lguest.guest bundle installed?)" : String.join(", ", names()))
            + "; or give the path of an ELF32 i386 file");
    }
}
