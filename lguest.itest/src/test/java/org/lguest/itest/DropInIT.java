package org.lguest.itest;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertNotNull;
import static org.ops4j.pax.exam.CoreOptions.bundle;
import static org.ops4j.pax.exam.CoreOptions.frameworkProperty;

import java.io.ByteArrayOutputStream;
import java.io.File;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.time.Duration;
import java.util.Arrays;
import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;

import javax.inject.Inject;

import org.apache.felix.service.command.CommandProcessor;
import org.apache.felix.service.command.CommandSession;
import org.junit.Test;
import org.junit.runner.RunWith;
import org.lguest.api.virtio.VirtioDevice;
import org.ops4j.pax.exam.Configuration;
import org.ops4j.pax.exam.Option;
import org.ops4j.pax.exam.junit.PaxExam;
import org.ops4j.pax.exam.spi.reactors.ExamReactorStrategy;
import org.ops4j.pax.exam.spi.reactors.PerClass;
import org.osgi.framework.Bundle;
import org.osgi.framework.BundleContext;
import org.osgi.framework.FrameworkUtil;
import org.osgi.util.tracker.ServiceTracker;

/**
 * FileInstall as the runtime has it: bundles dropped into the deploy folder
 * are installed and started (those there at start-up too) and uninstalled
 * when removed; a .cfg file in the etc folder configures our device, and
 * lguest:config writes its changes back to the file.
 */
@RunWith(PaxExam.class)
@ExamReactorStrategy(PerClass.class)
public class DropInIT {
    private static final long WAIT_SECONDS = 60;

    @Inject
    private BundleContext context;

    @Inject
    private CommandProcessor commands;

    @Configuration
    public Option[] config() throws IOException {
        String fileInstall = System.getProperty("lguest.fileinstall");
        if (fileInstall == null) {
            throw new IllegalStateException("lguest.fileinstall is not set: run these tests through Maven (mvn verify)");
        }
        Path deploy = Files.createTempDirectory("lguest-deploy");
        Path etc = Files.createTempDirectory("lguest-etc");
        Bundles.writePlain(deploy.resolve("itest-early.jar"), "itest.early");
        // As cnf/lguest.bndrun sets FileInstall up, with folders of this test's own.
        return Container.withBundlesUnderTest(
            bundle(new File(fileInstall).toURI().toString()).start(),
            frameworkProperty("felix.fileinstall.dir").value(deploy + "," + etc),
            frameworkProperty("felix.fileinstall.filter").value(".*\\.(jar|cfg|config)"),
            frameworkProperty("felix.fileinstall.poll").value("100"));
    }

    @Test
    public void bundlesInDeployAreStartedAndUninstalledWhenRemoved() throws Exception {
        Path deploy = folders()[0];
        await("the bundle in deploy/ at start-up to be active", () -> state("itest.early") == Bundle.ACTIVE);

        Path jar = deploy.resolve("itest-late.jar");
        Path written = Files.createTempFile("itest-late", ".jar");
        Bundles.writePlain(written, "itest.late");
        Files.move(written, jar, StandardCopyOption.ATOMIC_MOVE);
        await("a bundle dropped into deploy/ to be active", () -> state("itest.late") == Bundle.ACTIVE);

        Files.delete(jar);
        await("a bundle removed from deploy/ to be uninstalled", () -> state("itest.late") == Bundle.UNINSTALLED);
    }

    @Test
    public void aCfgFileInEtcConfiguresTheDeviceAndConfigSetWritesItBack() throws Exception {
        Path cfg = folders()[1].resolve("org.lguest.virtio.rng.cfg");
        Path written = Files.createTempFile("itest-rng", ".cfg");
        Files.writeString(written, "# the entropy device, renamed\nname = entropy\n");
        Files.move(written, cfg, StandardCopyOption.ATOMIC_MOVE);
        awaitDevice("entropy");

        assertEquals("org.lguest.virtio.rng updated", execute("lguest:config set org.lguest.virtio.rng name pool"));
        awaitDevice("pool");
        await("FileInstall to write the change to " + cfg, () -> read(cfg).contains("name = pool"));
        String text = read(cfg);
        assertEquals(text, true, text.contains("# the entropy device, renamed"));

        assertEquals("org.lguest.virtio.rng deleted", execute("lguest:config delete org.lguest.virtio.rng"));
        await("the file of a deleted configuration to go", () -> !Files.exists(cfg));
        awaitDevice("rng");
    }

    private Path[] folders() {
        return Arrays.stream(context.getProperty("felix.fileinstall.dir").split(",")).map(Path::of).toArray(Path[]::new);
    }

    private int state(String symbolicName) {
        for (Bundle bundle : context.getBundles()) {
            if (symbolicName.equals(bundle.getSymbolicName())) {
                return bundle.getState();
            }
        }
        return Bundle.UNINSTALLED;
    }

    private void awaitDevice(String name) throws Exception {
        BundleContext own = FrameworkUtil.getBundle(DropInIT.class).getBundleContext();
        ServiceTracker<VirtioDevice, VirtioDevice> tracker = new ServiceTracker<>(own,
            own.createFilter("(&(objectClass=" + VirtioDevice.class.getName() + ")(name=" + name + "))"), null);
        tracker.open();
        try {
            assertNotNull("no device named " + name + " within " + WAIT_SECONDS + " s",
                tracker.waitForService(TimeUnit.SECONDS.toMillis(WAIT_SECONDS)));
        } finally {
            tracker.close();
        }
    }

    private static String read(Path file) {
        try {
            return Files.readString(file, StandardCharsets.ISO_8859_1);
        } catch (IOException e) {
            return "";
        }
    }

    /** Waits for FileInstall, which scans its folders in its own time. */
    private static void await(String what, BooleanSupplier condition) throws InterruptedException {
        Await.until(condition, Duration.ofSeconds(WAIT_SECONDS), what);
    }

    private String execute(String line) throws Exception {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        PrintStream print = new PrintStream(out, true, StandardCharsets.UTF_8);
        try (CommandSession session = commands.createSession(System.in, print, print)) {
            return String.valueOf(session.execute(line));
        }
    }
}
