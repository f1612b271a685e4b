package org.lguest.itest;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertTrue;

import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.Arrays;
import java.util.Hashtable;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.logging.Handler;
import java.util.logging.Level;
import java.util.logging.LogRecord;
import java.util.logging.Logger;

import javax.inject.Inject;

import org.apache.felix.service.command.CommandProcessor;
import org.junit.Test;
import org.junit.runner.RunWith;
import org.lguest.api.guest.Guest;
import org.lguest.api.guest.GuestManager;
import org.lguest.api.guest.LaunchException;
import org.lguest.api.guest.LaunchOptions;
import org.lguest.api.virtio.Virtio;
import org.lguest.api.virtio.VirtioBus;
import org.lguest.api.virtio.VirtioBusFactory;
import org.lguest.api.virtio.VirtioDevice;
import org.ops4j.pax.exam.Configuration;
import org.ops4j.pax.exam.Option;
import org.ops4j.pax.exam.junit.PaxExam;
import org.ops4j.pax.exam.spi.reactors.ExamReactorStrategy;
import org.ops4j.pax.exam.spi.reactors.PerMethod;
import org.osgi.framework.Bundle;
import org.osgi.framework.BundleContext;
import org.osgi.framework.ServiceRegistration;

/**
 * Guest state lives outside the backend and page-table bundles, so either
 * can be stopped and started again under a live guest, which then carries on
 * where it was. A device slot is refilled by the rules of {@code
 * org.lguest.api.virtio}; losing a bundle the guest cannot live without ends
 * it with the reason.
 */
@RunWith(PaxExam.class)
@ExamReactorStrategy(PerMethod.class)
public class HotSwapIT {

    @Inject
    private BundleContext context;

    @Inject
    private GuestManager launcher;

    @Inject
    private VirtioBusFactory platform;

    @Inject
    private CommandProcessor commands;

    @Configuration
    public Option[] config() {
        return Container.withBundlesUnderTest();
    }

    @Test
    public void aVacatedSlotTakesTheBestRankedDeviceOfItsShapeAndARefusalIsLogged() throws Exception {
        List<LogRecord> warnings = new CopyOnWriteArrayList<>();
        Handler capture = new Handler() {
            @Override
            public void publish(LogRecord record) {
                if (record.getLevel().intValue() >= Level.WARNING.intValue()) {
                    warnings.add(record);
                }
            }

            @Override
            public void flush() {
            }

            @Override
            public void close() {
            }
        };
        Logger platformLog = Logger.getLogger("org.lguest.virtio.internal.VirtioPlatform");
        platformLog.addHandler(capture);
        try {
            Guest guest = launcher.launch(new LaunchOptions("halt-irq", 32, new ByteArrayOutputStream()));
            // Our rng has one queue of 64 entries; each stand-in is offered to every guest.
            StandInDevice low = new StandInDevice(Virtio.ID_ENTROPY, "rng", 64);
            StandInDevice high = new StandInDevice(Virtio.ID_ENTROPY, "rng", 64);
            StandInDevice otherShape = new StandInDevice(Virtio.ID_ENTROPY, "rng", 128);
            register(low, 1);
            register(high, 10);
            register(otherShape, 20);
            assertEquals("a registered device never displaces the one serving", 0,
                low.attached.get() + high.attached.get() + otherShape.attached.get());

            long refusedBefore = platform.refusals();
            bundle("lguest.virtio.rng").stop();
            assertEquals("the best ranked device of the slot's shape serves", 1, high.attached.get());
            assertEquals(0, low.attached.get());
            assertEquals(0, otherShape.attached.get());
            assertEquals("the better ranked device of another shape was refused", refusedBefore + 1, platform.refusals());
            assertTrue(warnings.toString(), warnings.stream().map(LogRecord::getMessage)
                .anyMatch(m -> m.contains("device rng") && m.contains("queue sizes are [128]")));
            assertTrue("the slot is served", slots(guest).stream().anyMatch(slot -> slot.name().equals("rng") && slot.attached()));
            assertEquals(Guest.State.RUNNING, guest.state());
            guest.stop();
        } finally {
            platformLog.removeHandler(capture);
        }
    }

    @Test
    public void configurationNotInstallationDecidesWhichDevicesAGuestGets() throws Exception {
        StandInDevice counter = new StandInDevice(Virtio.ID_ENTROPY, "counter-rng", 64);
        ServiceRegistration<VirtioDevice> registration = context.registerService(VirtioDevice.class, counter,
            new Hashtable<>(Map.of("service.ranking", 100)));
        Guest before = launcher.launch(new LaunchOptions("halt-irq", 32, new ByteArrayOutputStream()));
        assertEquals("installed, not configured: not used", List.of("console", "rng"), names(before));
        assertEquals(0, counter.attached.get());

        registration.setProperties(new Hashtable<>(Map.of(VirtioDevice.GUESTS, "alice")));
        Guest alice = launcher.launch(new LaunchOptions("halt-irq", 32, new ByteArrayOutputStream()).withName("alice"));
        Guest bob = launcher.launch(new LaunchOptions("halt-irq", 32, new ByteArrayOutputStream()).withName("bob"));
        assertEquals("configured for alice: used", List.of("console", "counter-rng", "rng"), names(alice));
        assertEquals(List.of("console", "rng"), names(bob));
        assertEquals(List.of("console", "rng"), names(before));
        assertEquals(1, counter.attached.get());
        for (Guest g : List.of(before, alice, bob)) {
            g.stop();
        }
    }

    @Test
    public void losingTheVirtioPlatformOrTheHostEndsAGuestWithTheReason() throws Exception {
        ByteArrayOutputStream console = new ByteArrayOutputStream();
        Guest guest = launcher.launch(new LaunchOptions("halt-irq", 32, console));
        awaitLine(console, "halt-irq: halting until irq 5");
        Bundle virtio = bundle("lguest.virtio");
        virtio.stop();
        Guest.Outcome outcome = guest.outcome().toCompletableFuture().get(30, TimeUnit.SECONDS);
        assertEquals("lguest.virtio stopped", outcome.reason());
        assertTrue(console.toString(StandardCharsets.UTF_8),
            console.toString(StandardCharsets.UTF_8).endsWith("\nended: lguest.virtio stopped\n"));
        String list = execute("lguest:list");
        assertTrue(list, list.matches("(?s).*\\b" + guest.id() + " .*STOPPED .*ended: lguest.virtio stopped.*"));
        LaunchException refused = org.junit.Assert.assertThrows(LaunchException.class,
            () -> launcher.launch(new LaunchOptions("halt-irq", 32, new ByteArrayOutputStream())));
        assertTrue(refused.getMessage(), refused.getMessage().contains("lguest.virtio"));

        virtio.start();
        ByteArrayOutputStream second = new ByteArrayOutputStream();
        Guest next = launcher.launch(new LaunchOptions("halt-irq", 32, second));
        awaitLine(second, "halt-irq: halting until irq 5");
        bundle("lguest.device").stop();
        assertEquals("lguest.device stopped", next.outcome().toCompletableFuture().get(30, TimeUnit.SECONDS).reason());
        assertTrue(second.toString(StandardCharsets.UTF_8).endsWith("\nended: lguest.device stopped\n"));
    }

    @Test
    public void stoppingTheLauncherEndsItsGuestsWithTheReason() throws Exception {
        ByteArrayOutputStream console = new ByteArrayOutputStream();
        Guest guest = launcher.launch(new LaunchOptions("halt-irq", 32, console));
        awaitLine(console, "halt-irq: halting until irq 5");
        bundle("lguest.launcher").stop();
        Guest.Outcome outcome = guest.outcome().toCompletableFuture().get(30, TimeUnit.SECONDS);
        assertEquals(Guest.State.STOPPED, outcome.state());
        assertEquals("lguest.launcher stopped", outcome.reason());
        assertTrue(console.toString(StandardCharsets.UTF_8),
            console.toString(StandardCharsets.UTF_8).endsWith("\nended: lguest.launcher stopped\n"));
    }

    private void register(VirtioDevice device, int ranking) {
        context.registerService(VirtioDevice.class, device,
            new Hashtable<>(Map.of(VirtioDevice.GUESTS, "*", "service.ranking", ranking)));
    }

    private List<VirtioBus.Slot> slots(Guest guest) throws Exception {
        return InFramework.bus(context, guest.id()).slots();
    }

    private List<String> names(Guest guest) throws Exception {
        return slots(guest).stream().map(VirtioBus.Slot::name).toList();
    }

    private String execute(String line) throws Exception {
        return InFramework.execute(commands, line);
    }

    @Test
    public void aGuestWaitsForACpuBackendThenRuns() throws Exception {
        Bundle backend = bundle("lguest.cpu.x86");
        backend.stop();
        ByteArrayOutputStream console = new ByteArrayOutputStream();
        Guest guest = launcher.launch(new LaunchOptions("timer", 32, console));
        Thread.sleep(300);
        assertEquals("the guest waits for a backend", Guest.State.RUNNING, guest.state());
        assertEquals("and has not run", "", console.toString(StandardCharsets.UTF_8));
        backend.start();
        assertPasses(guest, console, "timer");
    }

    @Test
    public void backendAndPageTablesAreReplacedUnderALiveGuest() throws Exception {
        ByteArrayOutputStream console = new ByteArrayOutputStream();
        Guest guest = launcher.launch(new LaunchOptions("halt-irq", 32, console));
        awaitLine(console, "halt-irq: halting until irq 5");
        Bundle paging = bundle("lguest.paging");
        paging.stop();
        paging.start();
        Bundle backend = bundle("lguest.cpu.x86");
        backend.stop();
        backend.start();
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
        while (guest.state() == Guest.State.RUNNING && System.nanoTime() < deadline) {
            try {
                guest.interrupt(5);
            } catch (LaunchException e) {
                break; // it ended between the state check and the interrupt: its outcome says how
            }
            Thread.sleep(50);
        }
        assertPasses(guest, console, "halt-irq");
    }

    private Bundle bundle(String symbolicName) {
        return Arrays.stream(context.getBundles()).filter(b -> b.getSymbolicName().equals(symbolicName))
            .findFirst().orElseThrow();
    }

    private static void awaitLine(ByteArrayOutputStream console, String line) throws InterruptedException {
        Await.until(() -> console.toString(StandardCharsets.UTF_8).contains(line + "\n"), Duration.ofSeconds(30),
            () -> "the guest to print '" + line + "'; console:\n" + console.toString(StandardCharsets.UTF_8));
    }

    private static void assertPasses(Guest guest, ByteArrayOutputStream console, String image) throws Exception {
        Guest.Outcome outcome = guest.outcome().toCompletableFuture().get(120, TimeUnit.SECONDS);
        String text = console.toString(StandardCharsets.UTF_8);
        assertEquals(outcome.reason() + "\n" + text, Guest.State.POWERED_OFF, outcome.state());
        assertTrue(text, text.endsWith("PASS " + image + "\n"));
    }
}
