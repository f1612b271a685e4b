package org.lguest.itest;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertTrue;

import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.time.Duration;
import java.util.concurrent.TimeUnit;

import javax.inject.Inject;

import org.junit.Test;
import org.junit.runner.RunWith;
import org.lguest.api.guest.Guest;
import org.lguest.api.guest.GuestManager;
import org.lguest.api.guest.LaunchException;
import org.lguest.api.guest.LaunchOptions;
import org.ops4j.pax.exam.Configuration;
import org.ops4j.pax.exam.Option;
import org.ops4j.pax.exam.junit.PaxExam;
import org.ops4j.pax.exam.spi.reactors.ExamReactorStrategy;
import org.ops4j.pax.exam.spi.reactors.PerMethod;
import org.osgi.framework.Bundle;
import org.osgi.framework.BundleContext;

/**
 * Guest state lives outside the backend and page-table bundles, so either
 * can be stopped and started again under a live guest, which then carries on
 * where it was.
 */
@RunWith(PaxExam.class)
@ExamReactorStrategy(PerMethod.class)
public class HotSwapIT {

    @Inject
    private BundleContext context;

    @Inject
    private GuestManager launcher;

    @Configuration
    public Option[] config() {
        return Container.withBundlesUnderTest();
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
