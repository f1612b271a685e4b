package org.lguest.itest;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertTrue;
import static org.junit.Assert.fail;

import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.time.Duration;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

import javax.inject.Inject;

import org.junit.Test;
import org.junit.runner.RunWith;
import org.lguest.api.guest.Guest;
import org.lguest.api.guest.Guest.Outcome;
import org.lguest.api.guest.Guest.State;
import org.lguest.api.guest.GuestManager;
import org.lguest.api.guest.LaunchOptions;
import org.ops4j.pax.exam.Configuration;
import org.ops4j.pax.exam.Option;
import org.ops4j.pax.exam.junit.PaxExam;
import org.ops4j.pax.exam.spi.reactors.ExamReactorStrategy;
import org.ops4j.pax.exam.spi.reactors.PerClass;

/**
 * Our guest images on the real Unicorn CPU, booted by the Launcher inside
 * the framework: each ends as {@code lguest.guest/IMAGES.md} says it must.
 */
@RunWith(PaxExam.class)
@ExamReactorStrategy(PerClass.class)
public class GuestImagesIT {
    private static final long GUEST_SECONDS = 120;

    @Inject
    private GuestManager launcher;

    @Configuration
    public Option[] config() {
        return Container.withBundlesUnderTest();
    }

    @Test
    public void theImagesAreInstalled() {
        List<String> images = launcher.images();
        for (String name : List.of("hello", "hcalls", "faults", "timer", "halt-irq", "async", "restart", "tls-gdt",
                "pagetables", "isolation", "isolation-limit", "bad-gdt-dpl0", "bad-idt-segment", "bad-switcher-pte",
                "hcall-before-init", "bad-hcall", "fuzz", "abi-hcall-regs", "abi-lguest-data", "abi-noirq-iret",
                "abi-gp-triage", "pci-conf1", "pageoffset", "virtio-conf", "bzimage-boot", "initrd-cmdline", "echo")) {
            assertTrue(name + " in " + images, images.contains(name));
        }
    }

    @Test
    public void helloGreetsAndPowersOff() throws Exception {
        Run run = boot("hello");
        run.assertPowersOffPassing();
        assertTrue(run.console(), run.console().startsWith("Hello from an lguest guest\n"));
    }

    /** A bzImage: the Launcher skips its setup sectors and enters its protected-mode part at 1 MiB. */
    @Test
    public void aBzImageBootsFromItsProtectedModePart() throws Exception {
        Run run = boot("bzimage-boot");
        run.assertPowersOffPassing();
        assertTrue(run.console(), run.console().startsWith(
            "bzimage-boot: entered at 0x100000 from a bzImage's protected-mode part\n"));
    }

    /** The initrd and command line IMAGES.md prescribes reach the guest as a Linux kernel reads them. */
    @Test
    public void anInitrdAndACommandLineReachTheBootData() throws Exception {
        byte[] initrd = new byte[10_000];
        for (int i = 0; i < initrd.length; i++) {
            initrd[i] = (byte) (i * 7 + 3);
        }
        Path file = Files.createTempFile("lguest-initrd", ".bin");
        try {
            Files.write(file, initrd);
            String commandLine = "initrd-cmdline root=/dev/ram0 rdinit=/init  two-spaces \"quoted words\" end=1";
            ByteArrayOutputStream console = new ByteArrayOutputStream();
            Guest guest = launcher.launch(new LaunchOptions("initrd-cmdline", 64, console, commandLine, file));
            Run run = new Run("initrd-cmdline", guest, console);
            run.assertPowersOffPassing();
            int top = 64 << 20;
            assertTrue(run.console(), run.console().contains(String.format(
                "initrd-cmdline: initrd 12288 bytes at %#x (loader 0xff), crc32 0xd5e50a16 over the first 10000\n",
                top - 12288)));
        } finally {
            Files.deleteIfExists(file);
        }
    }

    @Test
    public void everyHypercallWorks() throws Exception {
        boot("hcalls").assertPowersOffPassing();
    }

    @Test
    public void hypercallArgumentsComeFromLinux4xRegisters() throws Exception {
        boot("abi-hcall-regs").assertPowersOffPassing();
    }

    @Test
    public void lguestDataHasLinux4xOffsets() throws Exception {
        boot("abi-lguest-data").assertPowersOffPassing();
    }

    @Test
    public void anInterruptAtTheNoirqIretUsesTheIretsFrame() throws Exception {
        boot("abi-noirq-iret").assertPowersOffPassing();
    }

    @Test
    public void protectionFaultsAreTriagedByTheLauncher() throws Exception {
        boot("abi-gp-triage").assertPowersOffPassing();
    }

    @Test
    public void faultsReachTheGuestsOwnHandlers() throws Exception {
        boot("faults").assertPowersOffPassing();
    }

    @Test
    public void aThousandTimerInterrupts() throws Exception {
        boot("timer").assertPowersOffPassing();
    }

    @Test
    public void theAsyncHypercallRing() throws Exception {
        boot("async").assertPowersOffPassing();
    }

    @Test
    public void tlsAndGdtLoads() throws Exception {
        boot("tls-gdt").assertPowersOffPassing();
    }

    @Test
    public void ownPageTablesAcrossSixteenAddressSpaces() throws Exception {
        boot("pagetables").assertPowersOffPassing();
    }

    @Test
    public void pciConfigurationThroughPortsReachesTheBus() throws Exception {
        Run run = boot("pci-conf1");
        run.assertPowersOffPassing();
        assertTrue(run.console(), run.console().startsWith("pci-conf1: 00:00.0 vendor 0000 device 0000\n"));
    }

    @Test
    public void ramMappedAtPageOffsetAsLinuxMapsIt() throws Exception {
        Run run = boot("pageoffset");
        run.assertPowersOffPassing();
        assertTrue(run.console(), run.console().startsWith("pageoffset: 8192 pages of RAM mapped at 0xc0000000\n"));
    }

    @Test
    public void aGuestCannotReachPastItsOwnMemory() throws Exception {
        Run run = boot("isolation");
        Outcome outcome = run.end();
        if (outcome.state() == State.KILLED) {
            assertTrue(run.console(), run.console().endsWith("isolation: mapping a frame into the top 4 MiB and touching it\n"));
        } else {
            run.assertPowersOffPassing();
        }
    }

    @Test
    public void haltIsWokenByAnInterruptFromTheLauncher() throws Exception {
        Run run = boot("halt-irq");
        run.awaitLine("halt-irq: halting until irq 5");
        run.guest.interrupt(5);
        run.assertPowersOffPassing();
    }

    @Test
    public void restartIsNotPowerOff() throws Exception {
        Run run = boot("restart");
        assertEquals(run.console(), State.RESTARTED, run.end().state());
        assertTrue(run.console(), run.console().contains("restart: asking the Host for a restart\n"));
    }

    @Test
    public void aHypercallBeforeInitKillsTheGuest() throws Exception {
        Run run = boot("hcall-before-init");
        Outcome outcome = run.end();
        assertEquals(outcome.reason(), State.KILLED, outcome.state());
        assertTrue(outcome.reason(), outcome.reason().toLowerCase().contains("before init"));
    }

    @Test
    public void anUnknownHypercallKillsTheGuest() throws Exception {
        Run run = boot("bad-hcall");
        Outcome outcome = run.end();
        assertEquals(outcome.reason(), State.KILLED, outcome.state());
        assertTrue(outcome.reason(), outcome.reason().contains("99"));
    }

    @Test
    public void aSwitcherMappingKillsTheGuest() throws Exception {
        Run run = boot("bad-switcher-pte");
        assertEquals(run.console() + run.end().reason(), State.KILLED, run.end().state());
    }

    /** The console as a Linux 4.x guest finds it: conf1 ports, capabilities, PCI_CFG's emergency write, the notify register. */
    @Test
    public void theBusIsWhatLinuxExpects() throws Exception {
        Run run = boot("virtio-conf");
        run.assertPowersOffPassing();
        assertTrue(run.console(), run.console().contains(
            "virtio-conf: this line came through PCI_CFG to emerg_wr, one character per access\n"));
        assertTrue(run.console(), run.console().contains("virtio-conf: queue 1 notified by writing 1 to BAR0+56\n"));
    }

    @Test
    public void forbiddenDescriptorsAndFramesEndSafely() throws Exception {
        for (String image : List.of("bad-gdt-dpl0", "bad-idt-segment", "isolation-limit")) {
            Run run = boot(image);
            Outcome outcome = run.end();
            if (outcome.state() != State.KILLED) {
                run.assertPowersOffPassing();
            }
        }
    }

    private Run boot(String image) throws Exception {
        ByteArrayOutputStream console = new ByteArrayOutputStream();
        Guest guest = launcher.launch(new LaunchOptions(image, 32, console));
        return new Run(image, guest, console);
    }

    /** One booted guest and its console. */
    private record Run(String image, Guest guest, ByteArrayOutputStream out) {
        String console() {
            synchronized (out) {
                return out.toString(StandardCharsets.UTF_8);
            }
        }

        Outcome end() throws Exception {
            try {
                return guest.outcome().toCompletableFuture().get(GUEST_SECONDS, TimeUnit.SECONDS);
            } catch (TimeoutException e) {
                guest.stop();
                throw new AssertionError(image + " did not end within " + GUEST_SECONDS + " s; console:\n" + console());
            }
        }

        void assertPowersOffPassing() throws Exception {
            Outcome outcome = end();
            String text = console();
            assertEquals(image + ": " + outcome.reason() + "\n" + text, State.POWERED_OFF, outcome.state());
            assertTrue(image + " did not pass:\n" + text, text.endsWith("PASS " + image + "\n"));
        }

        void awaitLine(String line) throws InterruptedException {
            Await.until(() -> console().contains(line + "\n") || guest.state() != State.RUNNING,
                Duration.ofSeconds(GUEST_SECONDS), () -> image + " to print '" + line + "'; console:\n" + console());
            if (!console().contains(line + "\n")) {
                fail(image + " never printed '" + line + "'; console:\n" + console() + "state " + guest.state());
            }
        }
    }
}
