package org.lguest.itest;

import java.io.IOException;
import java.io.OutputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.jar.Attributes;
import java.util.jar.JarOutputStream;
import java.util.jar.Manifest;

/** Bundles the tests make on the spot. */
final class Bundles {
    private Bundles() {
    }

    /**
     * Writes a device bundle: {@link CounterRngActivator} and the {@link StandInDevice} it registers, copied
     * from the tests' own classes, importing only the virtio API and the framework.
     */
    static void writeDevice(Path jar, String symbolicName) throws IOException {
        Manifest manifest = manifest(symbolicName);
        Attributes main = manifest.getMainAttributes();
        main.putValue("Bundle-Activator", CounterRngActivator.class.getName());
        main.putValue("Import-Package", "org.lguest.api.virtio;version=\"[1.2,2)\",org.osgi.framework");
        Path classes;
        try {
            classes = Path.of(CounterRngActivator.class.getProtectionDomain().getCodeSource().getLocation().toURI());
        } catch (java.net.URISyntaxException e) {
            throw new IOException(e);
        }
        String folder = CounterRngActivator.class.getPackageName().replace('.', '/');
        try (OutputStream out = Files.newOutputStream(jar); JarOutputStream jarOut = new JarOutputStream(out, manifest);
                var files = Files.newDirectoryStream(classes.resolve(folder), "{CounterRngActivator,StandInDevice}*.class")) {
            for (Path file : files) {
                jarOut.putNextEntry(new java.util.jar.JarEntry(folder + "/" + file.getFileName()));
                jarOut.write(Files.readAllBytes(file));
                jarOut.closeEntry();
            }
        }
    }

    /** Writes a bundle with nothing in it but its manifest. */
    static void writePlain(Path jar, String symbolicName) throws IOException {
        try (OutputStream out = Files.newOutputStream(jar);
                JarOutputStream jarOut = new JarOutputStream(out, manifest(symbolicName))) {
            // The manifest is all it needs.
        }
    }

    /** A bundle manifest naming {@code symbolicName}, version 1.0.0. */
    private static Manifest manifest(String symbolicName) {
        Manifest manifest = new Manifest();
        Attributes main = manifest.getMainAttributes();
        main.put(Attributes.Name.MANIFEST_VERSION, "1.0");
        main.putValue("Bundle-ManifestVersion", "2");
        main.putValue("Bundle-SymbolicName", symbolicName);
        main.putValue("Bundle-Version", "1.0.0");
        return manifest;
    }
}
