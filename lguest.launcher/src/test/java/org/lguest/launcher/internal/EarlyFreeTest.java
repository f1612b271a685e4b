package org.lguest.launcher.internal;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.HexFormat;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.lguest.api.abi.Errno;
import org.lguest.api.abi.Lhreq;
import org.lguest.api.abi.ProtocolWords;
import org.lguest.api.device.LauncherTask;
import org.lguest.api.device.LguestFile;

/*
 * Issue 13, finding 1, on the real engine: a Launcher that runs its guest
 * once and then lets go of its memory used to crash the JVM in
 * libunicorn at the next read(). The task owns guest RAM and the file
 * holds it, so the guest runs on, and the RAM goes when the file closes.
 */
class EarlyFreeTest {
    private static final long MEMORY = 16L << 20;
    /*
     * The lguest_data set-up every guest's runtime makes (syscall vector,
     * empty async ring), LGUEST_INIT, then NOTIFY(0x100800) forever.
     * (GNU as, linked at 0x100000.)
     */
    private static final String CODE = "c7056825100080000000bf18201000b8ffffffffb910000000f3abb801000000bb00201000cd1f"
        + "b811000000bb00081000cd1febf2";

    private RealHost host;

    @BeforeEach
    void setUp() throws ReflectiveOperationException {
        host = new RealHost();
    }

    @AfterEach
    void tearDown() throws ReflectiveOperationException {
        host.close();
    }

    @Test
    void aLauncherThatFreesItsMemoryAfterOneRunGetsAGuestThatRunsOn() throws Exception {
        byte[] image = ElfImageTest.elf(0x10_0000, 0x10_0000, HexFormat.of().parseHex(CODE), 0);
        BootPlan boot = BootPlan.check(KernelImage.parse(ImageSource.ofBytes("early-free", image)), null, MEMORY, "");
        LauncherTask task = new LauncherTask();
        MemorySegment ram = task.allocate(MEMORY);
        boot.load(ram);
        try (Arena arena = Arena.ofConfined(); LguestFile file = host.device().open(task)) {
            assertEquals(24, Requests.write(file, 0, Lhreq.INITIALIZE, ram.address(), MEMORY / 4096, boot.entry()));
            MemorySegment buffer = arena.allocate(64);
            assertEquals(8, file.read(buffer, 0));
            assertEquals(0x100800, buffer.get(ProtocolWords.WORD_LAYOUT, 0));
            // The Launcher is done with its memory, as the crashing one was.
            task.close();
            for (int i = 0; i < 100; i++) {
                long n = file.read(buffer, 0);
                assertTrue(n == 8 || n == -Errno.EINTR, "read " + n);
            }
            assertTrue(ram.scope().isAlive());
        }
        assertFalse(ram.scope().isAlive(), "closing the file unmapped the RAM");
    }
}
