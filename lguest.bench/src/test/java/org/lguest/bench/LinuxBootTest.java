package org.lguest.bench;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Optional;
import java.util.regex.Pattern;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** ./bench --linux's parts that need no kernel: the commands, the checks, and timing to a prompt. */
class LinuxBootTest {
    @TempDir
    Path dir;

    private static LinuxBoot.Boot shell(String script) {
        return new LinuxBoot.Boot("sh", List.of("sh", "-c", script), Pattern.compile(LinuxBoot.DEFAULT_PROMPT));
    }

    @Test
    void endsAtThePromptAndStopsTheProcess() throws Exception {
        double seconds = LinuxBoot.time(shell("printf 'Linux version 4.9\\r\\n'; printf '/ # '; exec sleep 600"));
        assertTrue(seconds >= 0 && seconds < 600, "stopped at the prompt, not at the end of the sleep: " + seconds);
    }

    @Test
    void aPromptFollowedByAnInteractiveShellsCursorQueryStillCounts() {
        Pattern prompt = Pattern.compile(LinuxBoot.DEFAULT_PROMPT);
        assertTrue(prompt.matcher("Enter 'help'\r\n\r\n/ # \u001b[6n").find());
        assertTrue(prompt.matcher("~ $ ").find());
        assertFalse(prompt.matcher("/ # echo hi").find(), "only at the very end");
    }

    @Test
    void aBootThatEndsWithoutAPromptSaysWhatItPrinted() {
        IllegalStateException e = assertThrows(IllegalStateException.class,
            () -> LinuxBoot.time(shell("echo 'Kernel panic - not syncing'; exit 3")));
        assertTrue(e.getMessage().contains("ended (status 3) before its prompt"), e.getMessage());
        assertTrue(e.getMessage().contains("Kernel panic"), e.getMessage());
    }

    @Test
    void commandsForBothSides() {
        Path kernel = Path.of("bzImage");
        Path initrd = Path.of("initramfs.cpio.gz");
        assertEquals(List.of("qemu-system-i386", "-accel", "tcg", "-m", "128", "-nographic", "-no-reboot", "-kernel",
            "bzImage", "-initrd", "initramfs.cpio.gz", "-append", "console=ttyS0 quiet"),
            LinuxBoot.qemuCommand("qemu-system-i386", kernel, initrd, "quiet", 128));
        assertEquals(List.of("bzImage", "--memory", "128", "--initrd", "initramfs.cpio.gz", "--append", "quiet"),
            LinuxBoot.lguestArguments(kernel, initrd, "quiet", 128));
        assertTrue(LinuxBoot.runtimeCommand("java", Path.of("lguest.jar"), List.of("bzImage", "--append", "a b"))
            .contains("-Dlguest.run=bzImage\n--append\na b"), "one argument per line, as ./lguest passes them");
    }

    @Test
    void refusesWhatCannotBeCompared() throws Exception {
        Path jar = Files.write(dir.resolve("lguest.jar"), new byte[1]);
        Path bz = Files.write(dir.resolve("bzImage"), new byte[600]);
        Path elf = Files.write(dir.resolve("vmlinux"), new byte[] {0x7F, 'E', 'L', 'F', 1, 1});
        assertEquals(Optional.empty(), LinuxBoot.problem(bz, null, jar));
        assertTrue(LinuxBoot.problem(elf, null, jar).orElseThrow().contains("QEMU boots a bzImage"));
        assertTrue(LinuxBoot.problem(dir.resolve("nope"), null, jar).orElseThrow().contains("no kernel file"));
        assertTrue(LinuxBoot.problem(bz, dir.resolve("nope"), jar).orElseThrow().contains("no initrd file"));
        assertTrue(LinuxBoot.problem(bz, null, dir.resolve("none.jar")).orElseThrow().contains("runtime jar is missing"));
    }
}
