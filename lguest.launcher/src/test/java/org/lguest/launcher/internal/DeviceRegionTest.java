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
import org.lguest.virtio.console.internal.ConsoleDevice;
import org.lguest.virtio.internal.VirtioPciBus;
import org.lguest.virtio.rng.internal.RngDevice;

/**
 * Guests on the real CPU, Host and shadow page tables, with a real bus of
 * the console and rng devices: their accesses to the configuration window
 * and the BARs come to the Launcher as page faults and are emulated. The
 * guests are a few instructions each, assembled with GNU as (the source is
 * in each test) and linked at 1 MiB.
 */
class DeviceRegionTest {
    private static final int MEMORY_MIB = 16;

    private RealHost host;
    private VirtioBus lastBus;
    private final VirtioBusFactory platform = (guest, ram, irqs, base, firstIrq) -> lastBus = new VirtioPciBus(guest,
        ram, irqs, base, firstIrq, List.of(new ConsoleDevice("console", 64, true, 4096),
            new RngDevice("rng", new SecureRandom(), 64, 4096)), null);

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
        RunningGuest guest = new RunningGuest(1, name, name, ElfImage.parse(name, image), MEMORY_MIB, console,
            host.device(), platform);
        guest.start();
        return guest.outcome().toCompletableFuture().get(60, TimeUnit.SECONDS);
    }

    /**
     * First the lguest_data page at 0x102000 is made valid for INIT (syscall
     * vector 0x80, every async slot empty; Linux 4.x's offsets), as every
     * guest's runtime does; hypercall arguments go in EBX, ECX, EDX.
     * Each check then puts its number in EBP; a failed one prints "FAIL n" and makes
     * hypercall 99. In order: (1) {@code mov 0xE0008000,%eax} is the console's
     * vendor and device id; (2) {@code movzwl 0x2(%esi),%ecx} at device 2 is
     * the rng's 0x1044; (3) {@code mov 0x3c(%esi),%bh} loads its interrupt
     * line (2) into BH only; (4) {@code mov 0x10(%esi,%edi,1),%edx}: the
     * console's BAR0 is right above the configuration window (0xE0100000); (5) {@code movl $1,(%edx)} selects
     * the high feature word, {@code mov 0x4(%edx),%eax} has VERSION_1; (6)
     * {@code mov 0x12(%edx),%cx}: two queues, in CX only; (7) {@code movb
     * $1,0x14(%edx)}, {@code mov %ah,0x14(%edx)} with AH = 3, {@code movzbl
     * 0x14(%edx),%eax} reads 3; (8) NOTIFY at the first queue's notification
     * address; then power off.
     */
    private static final String DEVICES = "c7056825100080000000bf18201000b8ffffffffb910000000f3abb801000000bb00201000cd1fbd01000000a1008000e03d"
        + "f41a43100f85b6000000bd02000000be000001e00fb74e0281f9441000000f859c000000bd03000000bb785634128a7e3c81"
        + "fb780234120f8583000000bd04000000be008000e031ff8b543e1083e2f081fa000010e07568bd05000000c702010000008b"
        + "4204a9010000007453bd06000000b9ffffffff668b4a1281f90200ffff753dbd07000000c6421401b8000300008862140fb6"
        + "421483f8037523bd080000008d9a00020000b811000000cd1fb802000000bb0e011000b901000000cd1f89e80430a21e0110"
        + "00b811000000bb19011000cd1fb863000000cd1f506f77657220646f776e004641494c203f0a00";

    @Test
    void aGuestReachesItsDevicesThroughTheConfigurationWindowAndTheBars() throws Exception {
        ByteArrayOutputStream console = new ByteArrayOutputStream();
        Guest.Outcome outcome = run("devices", DEVICES, console);
        String text = console.toString(StandardCharsets.UTF_8);
        assertEquals(Guest.State.POWERED_OFF, outcome.state(), outcome.reason() + "; console: " + text);
        assertEquals("", text);
        assertEquals(3, lastBus.slots().getFirst().status(), "the status the guest wrote: ACKNOWLEDGE | DRIVER");
    }

    /** {@code mov $0x1000000,%esi; movsl}: a string move from the first BAR, which is not emulated. */
    private static final String UNKNOWN = "c7056825100080000000bf18201000b8ffffffffb910000000f3abb801000000bb00201000cd1fbe00000001a5b802000000"
        + "bb3e001000b901000000cd1f506f77657220646f776e00";

    @Test
    void anInstructionTheLauncherDoesNotEmulateGoesBackToTheGuest() throws Exception {
        Guest.Outcome outcome = run("unknown", UNKNOWN, new ByteArrayOutputStream());
        // The guest has no handler for the page fault it gets back, so the Host refuses the trap.
        assertEquals(Guest.State.KILLED, outcome.state());
        assertTrue(outcome.reason().contains("cannot hand trap 14 (address 0x1000000) back"), outcome.reason());
        assertTrue(lastBus.slots().stream().noneMatch(slot -> slot.attached()), "the bus closed with the guest");
    }
}
