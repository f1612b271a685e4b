package org.lguest.itest;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertTrue;

import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.util.Hashtable;
import java.util.concurrent.TimeUnit;

import javax.inject.Inject;

import org.junit.Test;
import org.junit.runner.RunWith;
import org.lguest.api.cpu.VcpuBackend;
import org.lguest.api.guest.Guest;
import org.lguest.api.guest.GuestManager;
import org.lguest.api.guest.LaunchOptions;
import org.ops4j.pax.exam.Configuration;
import org.ops4j.pax.exam.Option;
import org.ops4j.pax.exam.junit.PaxExam;
import org.ops4j.pax.exam.spi.reactors.ExamReactorStrategy;
import org.ops4j.pax.exam.spi.reactors.PerClass;
import org.osgi.framework.BundleContext;
import org.osgi.framework.ServiceReference;
import org.osgi.service.cm.ConfigurationAdmin;

/*
 * Issue 13, part 5: the idle guest in the framework, and the Unicorn
 * backend's translation cache set through Configuration Admin. A framework of its own: the backend restarts with the
 * change, which other tests should not meet.
 */
@RunWith(PaxExam.class)
@ExamReactorStrategy(PerClass.class)
public class IdleGuestIT {

    @Inject
    private GuestManager launcher;

    @Inject
    private ConfigurationAdmin configurations;

    @Inject
    private BundleContext context;

    @Configuration
    public Option[] config() {
        return Container.withBundlesUnderTest();
    }

    @Test
    public void theIdleGuestHaltsUntilStoppedOnAConfiguredCache() throws Exception {
        var configuration = configurations.getConfiguration("org.lguest.cpu.x86", "?");
        Hashtable<String, Object> properties = new Hashtable<>();
        properties.put("code.cache.mib", 8);
        configuration.update(properties);
        try {
            // SCR makes the backend again with the configuration; the Host takes the new service.
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
            while (!"8".equals(String.valueOf(backendProperty("code.cache.mib"))) && System.nanoTime() < deadline) {
                Thread.sleep(20);
            }
            assertEquals("8", String.valueOf(backendProperty("code.cache.mib")));
            ByteArrayOutputStream console = new ByteArrayOutputStream();
            Guest guest = launcher.launch(new LaunchOptions("idle", 2, console));
            deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
            while (!text(console).contains("\n") && System.nanoTime() < deadline) {
                Thread.sleep(20);
            }
            assertEquals("idle: halting for ever\n", text(console));
            assertEquals(Guest.State.RUNNING, guest.state());
            // The idle guest touched a few pages of its 2 MiB: the host backs those, not the rest.
            long resident = guest.residentBytes();
            assertTrue("resident " + resident, resident > 0 && resident < guest.memoryBytes());
            guest.stop();
            Guest.Outcome outcome = guest.outcome().toCompletableFuture().get(30, TimeUnit.SECONDS);
            assertEquals(Guest.State.STOPPED, outcome.state());
        } finally {
            configuration.delete();
        }
    }

    private Object backendProperty(String key) {
        ServiceReference<VcpuBackend> ref = context.getServiceReference(VcpuBackend.class);
        return ref == null ? null : ref.getProperty(key);
    }

    private static String text(ByteArrayOutputStream out) {
        synchronized (out) {
            return out.toString(StandardCharsets.UTF_8);
        }
    }
}
