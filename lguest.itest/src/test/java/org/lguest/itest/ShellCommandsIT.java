package org.lguest.itest;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;

import javax.inject.Inject;

import org.apache.felix.service.command.CommandProcessor;
import org.junit.Test;
import org.junit.runner.RunWith;
import org.lguest.api.guest.Guest;
import org.lguest.api.guest.GuestManager;
import org.lguest.api.guest.LaunchOptions;
import org.lguest.api.virtio.Virtio;
import org.lguest.api.virtio.VirtioBus;
import org.ops4j.pax.exam.Configuration;
import org.ops4j.pax.exam.Option;
import org.ops4j.pax.exam.junit.PaxExam;
import org.ops4j.pax.exam.spi.reactors.ExamReactorStrategy;
import org.ops4j.pax.exam.spi.reactors.PerClass;
import org.osgi.framework.BundleContext;

/** The lguest: Gogo commands against real guests. */
@RunWith(PaxExam.class)
@ExamReactorStrategy(PerClass.class)
public class ShellCommandsIT {

    @Inject
    private CommandProcessor commands;

    @Inject
    private GuestManager launcher;

    @Inject
    private BundleContext context;

    @Configuration
    public Option[] config() {
        return Container.withBundlesUnderTest();
    }

    @Test
    public void launchListRegsIrqAndStop() throws Exception {
        String started = execute("lguest:launch halt-irq");
        assertTrue(started, started.matches("guest \\d+ started: halt-irq"));
        int id = Integer.parseInt(started.split(" ")[1]);
        Guest guest = launcher.guest(id).orElseThrow();

        String list = execute("lguest:list");
        assertTrue(list, list.contains("halt-irq") && list.contains("RUNNING"));

        String regs = execute("lguest:regs " + id);
        assertTrue(regs, regs.contains("ip ") && regs.contains("cs    00000061"));

        // halt-irq waits for irq 5; the shell's irq wakes it and it powers off.
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
        Guest.Outcome outcome = null;
        while (outcome == null && System.nanoTime() < deadline) {
            execute("lguest:irq " + id + " 5");
            try {
                outcome = guest.outcome().toCompletableFuture().get(200, TimeUnit.MILLISECONDS);
            } catch (java.util.concurrent.TimeoutException e) {
                // not halted yet: send it again
            }
        }
        assertEquals(Guest.State.POWERED_OFF, outcome.state());

        String second = execute("lguest:launch halt-irq");
        int other = Integer.parseInt(second.split(" ")[1]);
        assertEquals("guest " + other + " stopped", execute("lguest:stop " + other));
        assertEquals(Guest.State.STOPPED,
            launcher.guest(other).orElseThrow().outcome().toCompletableFuture().get(30, TimeUnit.SECONDS).state());
        // Issue 13, finding 6: no stale registers from a guest that has ended.
        Exception ended = org.junit.Assert.assertThrows(Exception.class, () -> execute("lguest:regs " + other));
        assertTrue(ended.getMessage(), ended.getMessage().contains("guest " + other + " has ended (stopped)"));
    }

    @Test
    public void infoNamesTheCpuBackendWithItsEngineVersionPagingAndDevices() throws Exception {
        String[] lines = execute("lguest:info").split("\n");
        assertEquals(3, lines.length);
        assertEquals("cpu: unicorn 2.1.1 (lguest.cpu.x86)", lines[0]);
        assertEquals("paging: shadow (lguest.paging)", lines[1]);
        assertTrue(lines[2], lines[2].startsWith("devices: ") && lines[2].contains("console (lguest.virtio.console)")
            && lines[2].contains("rng (lguest.virtio.rng)"));
    }

    @Test
    public void launchOptionsPutDevicesOnTheGuestsBus() throws Exception {
        Path disk = Files.createTempFile("lguest-itest-", ".img");
        try {
            Files.write(disk, new byte[64 * 1024]);
            String started = execute("lguest:launch demo-peer --disk " + disk + ":ro --net itest");
            assertTrue(started, started.matches("guest \\d+ started: demo-peer"));
            int id = Integer.parseInt(started.split(" ")[1]);
            try {
                String devices = execute("lguest:devices " + id);
                for (String type : new String[] {"console", "block", "net", "rng"}) {
                    assertTrue(devices, devices.contains(" " + type + " "));
                }
                // The first BAR, one MiB past the RAM of a launch that names no size.
                assertTrue(devices, devices.contains(String.format("0x%08x", (LaunchOptions.DEFAULT_MEMORY_MIB + 1) << 20)));
                String stats = execute("lguest:stats " + id);
                assertTrue(stats, stats.contains("state       RUNNING"));
                assertTrue(stats, stats.contains("memory-mib  " + LaunchOptions.DEFAULT_MEMORY_MIB));
                assertTrue(stats, stats.matches("(?s).*device \\d+ block +\\S+ +attached=yes .*"));
                // The Host's counters, and the card's queues once the guest has brought it up (size > 0).
                long deadline = System.nanoTime() + java.util.concurrent.TimeUnit.SECONDS.toNanos(30);
                while (!stats.matches("(?s).*\nhost-exits hypercall [1-9]\\d*\n.*")
                        || !stats.matches("(?s).*\ndevice \\d+ net [^\n]* q0=\\d+/\\d+/[1-9]\\d*[^\n]*\n.*")) {
                    assertTrue(stats, System.nanoTime() < deadline);
                    Thread.sleep(100);
                    stats = execute("lguest:stats " + id);
                }
                assertTrue(stats, stats.matches("(?s).*\nrunning-ms +\\d+\n.*"));
            } finally {
                execute("lguest:stop " + id);
            }
        } finally {
            Files.deleteIfExists(disk);
        }
    }

    @Test
    public void twoNamedGuestsOfOneImageHaveADiskEach() throws Exception {
        Path small = Files.createTempFile("lguest-itest-alice-", ".img");
        Path large = Files.createTempFile("lguest-itest-bob-", ".img");
        try {
            Files.write(small, new byte[64 * 1024]);
            Files.write(large, new byte[128 * 1024]);
            String alice = execute("lguest:launch halt-irq --name alice --disk " + small);
            String bob = execute("lguest:launch halt-irq --name bob --disk " + large);
            assertTrue(alice, alice.matches("guest \\d+ started: halt-irq as alice"));
            assertTrue(bob, bob.matches("guest \\d+ started: halt-irq as bob"));
            int aliceId = Integer.parseInt(alice.split(" ")[1]);
            int bobId = Integer.parseInt(bob.split(" ")[1]);
            try {
                assertEquals("alice", launcher.guest(aliceId).orElseThrow().name());
                assertEquals("each sees its own disk: 64 KiB", 128, diskSectors(aliceId));
                assertEquals("and 128 KiB", 256, diskSectors(bobId));
                String list = execute("lguest:list");
                assertTrue(list, list.contains(" alice ") && list.contains(" bob "));
            } finally {
                execute("lguest:stop " + aliceId);
                execute("lguest:stop " + bobId);
            }
        } finally {
            Files.deleteIfExists(small);
            Files.deleteIfExists(large);
        }
    }

    /** The capacity the guest's one disk offers, read as its driver would from the device configuration. */
    private long diskSectors(int id) throws Exception {
        VirtioBus bus = InFramework.bus(context, id);
        List<VirtioBus.Slot> disks = bus.slots().stream().filter(slot -> slot.type() == Virtio.ID_BLOCK).toList();
        assertEquals(bus.slots().toString(), 1, disks.size());
        // Device-specific configuration starts 60 bytes into BAR0; capacity (in sectors) is its first field.
        return bus.mmioRead(disks.getFirst().bar0() + 60, 8);
    }

    @Test(expected = Exception.class)
    public void anIrqPastTheLimitIsRefused() throws Exception {
        String started = execute("lguest:launch halt-irq");
        int id = Integer.parseInt(started.split(" ")[1]);
        try {
            execute("lguest:irq " + id + " 32");
        } finally {
            execute("lguest:stop " + id);
        }
    }

    private String execute(String line) throws Exception {
        return InFramework.execute(commands, line);
    }
}
