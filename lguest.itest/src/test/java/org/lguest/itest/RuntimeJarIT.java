package org.lguest.itest;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

import org.junit.jupiter.api.Test;

/**
 * The exported runtime jar, started as {@code ./lguest} starts it: Gogo
 * command lines without a prompt, and a guest booted headless.
 */
class RuntimeJarIT {
    private static final Path JAR = Path.of(System.getProperty("lguest.runtime.jar", "../cnf/target/lguest.jar"));

    @Test
    void commandLinesRunWithoutAPrompt() throws Exception {
        Result result = run("-Dlguest.commands=lguest:list; lguest:images");
        assertEquals(0, result.status, result.toString());
        assertTrue(result.out.contains("guests running: none"), result.toString());
        assertTrue(result.out.contains("hello"), result.toString());
    }

    @Test
    void aFailingCommandLineExitsNonZeroAndSaysWhy() throws Exception {
        Result result = run("-Dlguest.commands=lguest:list; lguest:stop 42");
        assertEquals(1, result.status, result.toString());
        assertTrue(result.err.contains("no guest 42"), result.toString());
    }

    @Test
    void runBootsHelloHeadlessAndExitsZeroOnPowerOff() throws Exception {
        Result result = run("-Dlguest.run=hello");
        assertEquals(0, result.status, result.toString());
        assertTrue(result.out.startsWith("Hello from an lguest guest\n"), result.toString());
        assertTrue(result.out.contains("PASS hello"), result.toString());
    }

    @Test
    void verboseSaysWhatRunsTheGuests() throws Exception {
        Result result = run("-Dlguest.verbose=true", "-Dlguest.commands=lguest:list");
        assertEquals(0, result.status, result.toString());
        assertTrue(result.err.contains("cpu: unicorn 2.1.1 (lguest.cpu.x86)\npaging: shadow (lguest.paging)\ndevices: console "
            + "(lguest.virtio.console), rng (lguest.virtio.rng)\n"), result.toString());
        assertTrue(result.out.contains("guests running: none"), result.toString());
    }

    @Test
    void runExitsNonZeroWithTheReasonWhenTheGuestIsKilled() throws Exception {
        Result result = run("-Dlguest.run=bad-hcall");
        assertEquals(1, result.status, result.toString());
        assertTrue(result.err.contains("killed: Bad hypercall 99"), result.toString());
    }

    /**
     * Issue 5's "done": the demo guest, with its own virtio-pci drivers, uses
     * each device on the real CPU, and a second guest answers it across the
     * in-JVM switch.
     */
    @Test
    void runDemoUsesEveryVirtioDeviceAndExitsZero() throws Exception {
        Result result = run("-Dlguest.run=demo");
        assertEquals(0, result.status, result.toString());
        for (String line : List.of(
                "Hello from the lguest demo guest, on its virtio console",
                "demo: PCI bus 0: host bridge of class 06/00, 4 virtio functions",
                "demo: disk: sector 0 crc32 0x4a2f1e2b, begins \"lguest demo disk\"",
                "demo: disk: wrote sector 1 (crc32 0xdcb9e975), flushed, read it back: the same",
                "PASS demo")) {
            assertTrue(result.out.contains(line + "\n"), () -> "missing '" + line + "' in\n" + result);
        }
        assertTrue(result.out.matches("(?s).*demo: rng: [0-9a-f]{32}\n.*"), result.toString());
        assertTrue(result.out.matches("(?s).*\\[demo-peer\\] demo-peer: answered .*: \"pong: ping \\d+ from .*"), result.toString());
        assertTrue(result.out.matches("(?s).*demo: net: reply from .* after \\d+ pings?: \"pong: ping .*"), result.toString());
        assertTrue(result.out.matches("(?s).*demo: summary: .* [1-9]\\d* timer ticks?; interrupts: console [1-9].*"), result.toString());
    }

    @Test
    void runRefusesAnImageThatIsNotThere() throws Exception {
        Result result = run("-Dlguest.run=no-such-image");
        assertEquals(1, result.status, result.toString());
        assertTrue(result.err.contains("no guest image named 'no-such-image'"), result.toString());
    }

    private record Result(int status, String out, String err) {
        @Override
        public String toString() {
            return "status " + status + "\n--- out\n" + out + "--- err\n" + err;
        }
    }

    private static Result run(String... properties) throws IOException, InterruptedException {
        assertTrue(Files.isRegularFile(JAR), JAR + " is missing: build with mvn verify");
        Path storage = Files.createTempDirectory("lguest-felix");
        Path out = Files.createTempFile("lguest-out", ".txt");
        Path err = Files.createTempFile("lguest-err", ".txt");
        List<String> command = new ArrayList<>(List.of(
            Path.of(System.getProperty("java.home"), "bin", "java").toString(),
            "--enable-native-access=ALL-UNNAMED", "--sun-misc-unsafe-memory-access=allow",
            "-Dorg.osgi.framework.storage=" + storage, "-Dgosh.args=--nointeractive",
            "-Dorg.jline.terminal.dumb=true"));
        command.addAll(List.of(properties));
        command.addAll(List.of("-jar", JAR.toString()));
        Process process = new ProcessBuilder(command).redirectOutput(out.toFile()).redirectError(err.toFile())
            .redirectInput(ProcessBuilder.Redirect.PIPE).start();
        process.getOutputStream().close();
        if (!process.waitFor(120, TimeUnit.SECONDS)) {
            process.destroyForcibly();
            throw new AssertionError("the runtime did not exit within 120 s: " + String.join(" ", command));
        }
        return new Result(process.exitValue(), Files.readString(out, StandardCharsets.UTF_8),
            Files.readString(err, StandardCharsets.UTF_8));
    }
}
