package org.lguest.launcher.internal;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.security.SecureRandom;
import java.util.HexFormat;
import java.util.List;
import java.util.concurrent.TimeUnit;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.lguest.api.guest.Guest;
import org.lguest.api.virtio.VirtioBus;
import org.lguest.api.virtio.VirtioBusFactory;
import org.lguest.api.virtio.InterruptSink;
import org.lguest.api.virtio.GuestRam;
import org.lguest.api.virtio.VirtioGuest;
import org.lguest.virtio.console.internal.ConsoleDevice;
import org.lguest.virtio.internal.VirtioPciBus;
import org.lguest.virtio.rng.internal.RngDevice;

/**
 * Guests on the real CPU, Host and shadow page tables, with a real bus of
 * the console and rng devices: their port I/O reaches the bus through the
 * engine's port hook, their BAR accesses come to the Launcher as page
 * faults and are emulated. The
 * guests are a few instructions each, assembled with GNU as (the source is
 * in each test) and linked at 1 MiB.
 */
class DeviceRegionTest {
    private static final int MEMORY_MIB = 16;

    private RealHost host;
    private VirtioBus lastBus;
    private final VirtioBusFactory platform = new VirtioBusFactory() {
        @Override
        public VirtioBus create(VirtioGuest guest, GuestRam ram, InterruptSink irqs, long base, int firstIrq) {
            return lastBus = new VirtioPciBus(guest, ram, irqs, base, firstIrq, List.of(
                new ConsoleDevice("console", 64, true, 4096), new RngDevice("rng", new SecureRandom(), 64, 4096)), null);
        }

        @Override
        public java.util.Set<String> offeredTo(String guestName) {
            return java.util.Set.of("console", "rng");
        }
    };

    @BeforeEach
    void setUp() throws ReflectiveOperationException {
        host = new RealHost();
    }

    @AfterEach
    void tearDown() throws ReflectiveOperationException {
        host.close();
    }

    private Guest.Outcome run(String name, String code, ByteArrayOutputStream console) throws Exception {
        byte[] image = ElfImageTest.elf(0x10_0000, 0x10_0000, HexFormat.of().parseHex(code), 0);
        KernelImage kernel = KernelImage.parse(ImageSource.ofBytes(name, image));
        RunningGuest guest = new RunningGuest(1, name, name, BootPlan.check(kernel, null, (long) MEMORY_MIB << 20, name),
            console, host.device(), platform);
        guest.start();
        return guest.outcome().toCompletableFuture().get(60, TimeUnit.SECONDS);
    }

    /**
     * First the lguest_data page at 0x102000 is made valid for INIT (syscall
     * vector 0x80, every async slot empty; Linux 4.x's offsets), as every
     * guest's runtime does; hypercall arguments go in EBX, ECX, EDX.
     * Each check then puts its number in EBP; a failed one prints "FAIL n" and makes
     * hypercall 99. In order: (1) {@code out %eax,(%dx)} of 0x80000800 to
     * 0xCF8, {@code in (%dx),%eax} from 0xCFC is the console's vendor and
     * device id; (2) {@code in (%dx),%ax} from 0xCFE at device 2 is the
     * rng's 0x1044, in AX only; (3) {@code out %al,(%dx)} of 0x3C to 0xCF8
     * changes only the register byte, {@code in (%dx),%al} loads the rng's
     * interrupt line (2) into AL only; (4) the console's BAR0 is one MiB
     * past the end of RAM (0x1100000); (5) {@code movl $1,(%edx)} selects
     * the high feature word, {@code mov 0x4(%edx),%eax} has VERSION_1; (6)
     * {@code mov 0x12(%edx),%cx}: two queues, in CX only; (7) {@code movb
     * $1,0x14(%edx)}, {@code mov %ah,0x14(%edx)} with AH = 3, {@code movzbl
     * 0x14(%edx),%eax} reads 3; (8) {@code mov %ax,0x38(%edx)} with AX = 1,
     * queue 1 to the notify register, which the Host's eventfd takes; then
     * power off. (GNU as, linked at 0x100000.)
     */
    private static final String DEVICES = "c7056825100080000000bf18201000b8ffffffffb910000000f3abb801000000bb00201000cd1fbd0100000066baf80cb800"
        + "080080ef66bafc0ced3df41a43100f85cb000000bd0200000066baf80cb800100080ef66bafe0cb8ffffffff66ed3d4410ff"
        + "ff0f85a6000000bd0300000066baf80cb03cee66bafc0cb878563412ec3d025634120f8585000000bd0400000066baf80cb8"
        + "10080080ef66bafc0ced89c283e2f081fa000010017564bd05000000c702010000008b4204a901000000744fbd06000000b9"
        + "ffffffff668b4a1281f90200ffff7539bd07000000c6421401b8000300008862140fb6421483f803751fbd08000000b80100"
        + "000066894238b802000000bb2d011000b901000000cd1f89e80430a23d011000b811000000bb38011000cd1fb863000000cd"
        + "1f506f77657220646f776e004641494c203f0a00";

    @Test
    void aGuestReachesItsDevicesThroughThePortsAndTheBars() throws Exception {
        ByteArrayOutputStream console = new ByteArrayOutputStream();
        Guest.Outcome outcome = run("devices", DEVICES, console);
        String text = console.toString(StandardCharsets.UTF_8);
        assertEquals(Guest.State.POWERED_OFF, outcome.state(), outcome.reason() + "; console: " + text);
        assertEquals("", text);
        assertEquals(3, lastBus.slots().getFirst().status(), "the status the guest wrote: ACKNOWLEDGE | DRIVER");
    }

    /** {@code mov $0x1100000,%esi; movsl}: a string move from the first BAR, which is not emulated. */
    private static final String UNKNOWN = "c7056825100080000000bf18201000b8ffffffffb910000000f3abb801000000bb00201000cd1fbe00001001a5b802000000"
        + "bb3e001000b901000000cd1f506f77657220646f776e00";

    @Test
    void anInstructionTheLauncherDoesNotEmulateGoesBackToTheGuest() throws Exception {
        Guest.Outcome outcome = run("unknown", UNKNOWN, new ByteArrayOutputStream());
        // The guest has no handler for the page fault it gets back, so the Host refuses the trap.
        assertEquals(Guest.State.KILLED, outcome.state());
        assertTrue(outcome.reason().contains("cannot hand trap 14 (address 0x1100000) back"), outcome.reason());
        assertTrue(lastBus.slots().stream().noneMatch(slot -> slot.attached()), "the bus closed with the guest");
    }
}
