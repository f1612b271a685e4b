package org.lguest.shell.internal;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.lguest.api.guest.LaunchOptions;

class LaunchRequestTest {
    @TempDir
    Path dir;

    private static LaunchRequest parse(String... words) {
        return LaunchRequest.parse(List.of(words));
    }

    private static String refusal(String... words) {
        return assertThrows(IllegalArgumentException.class, () -> parse(words)).getMessage();
    }

    @Test
    void anImageAloneHasNoDevicesAndTheDefaultMemory() {
        LaunchRequest request = parse("hello");
        assertEquals(new LaunchRequest("hello", LaunchOptions.DEFAULT_MEMORY_MIB, null, null, List.of(), List.of(), null),
            request);
        assertFalse(request.hasDevices());
        assertEquals("hello", request.options(System.out).image());
        assertEquals("hello", request.options(System.out).name(), "a guest is called after its image");
        assertEquals("hello", request.options(System.out).commandLine());
    }

    @Test
    void aKernelWithAnInitrdAndACommandLine() throws IOException {
        Path initrd = Files.createFile(dir.resolve("initrd.img"));
        LaunchRequest request = parse("vmlinux", "--initrd", initrd.toString(), "--append", "root=/dev/vda  quiet");
        LaunchOptions options = request.options(System.out);
        assertEquals(initrd, options.initrd());
        assertEquals("root=/dev/vda  quiet", options.commandLine());
        assertTrue(refusal("vmlinux", "--initrd", dir.resolve("nope").toString()).contains("no initrd file"));
        assertTrue(refusal("vmlinux", "--append").contains("--append needs the kernel command line"));
        assertTrue(assertThrows(IllegalArgumentException.class,
            () -> parse("vmlinux", "--append", "x".repeat(3000)).options(System.out)).getMessage().contains("at most 2047"));
    }

    @Test
    void disksReadOnlyDisksAndNetworkCardsInTheOrderGiven() throws IOException {
        Path a = Files.createFile(dir.resolve("a.img"));
        Path b = Files.createFile(dir.resolve("b.img"));
        Path c = Files.createFile(dir.resolve("c.img"));
        LaunchRequest request = parse("--disk", a.toString(), "-m", "64", "--disk", b + ":ro", "demo", "--net", "lan",
            "--disk-ro", c.toString(), "--net", "wan");
        assertEquals("demo", request.image());
        assertEquals(64, request.memoryMiB());
        assertEquals(List.of(new LaunchRequest.Disk(a, false), new LaunchRequest.Disk(b, true), new LaunchRequest.Disk(c, true)),
            request.disks());
        assertEquals(List.of("lan", "wan"), request.switches());
        assertTrue(request.hasDevices());
    }

    @Test
    void aNamedGuestIsCalledByItsName() {
        LaunchRequest request = parse("demo", "--name", "alice");
        assertEquals("alice", request.guestName());
        assertEquals("alice", request.options(System.out).name());
        assertEquals("demo", request.options(System.out).image());
        assertTrue(refusal("demo", "--name", "a b").contains("a guest name is letters"));
        assertTrue(refusal("demo", "--name").contains("--name needs the guest's name"));
    }

    @Test
    void aRelativeDiskPathIsMadeAbsolute() throws IOException {
        Path file = Files.createTempFile(Path.of("").toAbsolutePath(), "disk", ".img");
        try {
            LaunchRequest request = parse("hello", "--disk", file.getFileName().toString());
            assertEquals(file, request.disks().getFirst().file());
        } finally {
            Files.delete(file);
        }
    }

    @Test
    void mistakesSayWhatIsWrongAndHowToSayIt() {
        assertTrue(refusal().contains("which image?"));
        assertTrue(refusal("--net", "lan").contains(LaunchRequest.SYNTAX));
        assertTrue(refusal("hello", "--disk").contains("--disk needs a disk image file"));
        assertTrue(refusal("hello", "-m", "lots").contains("whole number of MiB, not 'lots'"));
        assertTrue(refusal("hello", "--frobnicate").contains("unexpected '--frobnicate'"));
        assertTrue(refusal("hello", "world").contains("unexpected 'world'"));
        assertTrue(refusal("hello", "--net", "a b").contains("not 'a b'"));
        String missing = refusal("hello", "--disk", dir.resolve("nope.img") + ":ro");
        assertTrue(missing.contains("no disk image file " + dir.resolve("nope.img")) && missing.contains("truncate -s"), missing);
        assertTrue(assertThrows(IllegalArgumentException.class, () -> parse("hello", "-m", "0").options(System.out))
            .getMessage().contains("1 to 2048 MiB"));
    }
}
