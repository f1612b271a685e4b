package org.lguest.itest;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
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
                "demo: PCI bus 0: host bridge 1b36:0008, 4 virtio functions",
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

    /**
     * Every command of the README's shell table, in one runtime, each
     * answering what it should: guest 1 is demo-peer (waiting for a ping),
     * guest 2 halt-irq (waiting for irq 5).
     */
    @Test
    void everyCommandOfTheReadmeWorksInDashC() throws Exception {
        Result result = run("-Dlguest.commands=lguest:images; lguest:list; lguest:launch demo-peer --net itest;"
            + " lguest:devices 1; lguest:console 1 hello; lguest:regs 1; lguest:launch halt-irq; lguest:irq 2 5;"
            + " lguest:stop 1; lguest:list; lguest:demo; lguest:info; lguest:config list; help lguest:launch; help;"
            + " echo said hi; sleep 1; lb lguest");
        assertEquals(0, result.status, result.toString());
        for (String answer : List.of("hello\n", "guests running: none", "guest 1 started: demo-peer",
                " net ", "bytes sent to guest 1's console", "cs    00000061", "guest 2 started: halt-irq",
                "irq 5 sent to guest 2", "guest 1 stopped", "the demo powered off",
                "cpu: unicorn", "paging: shadow", "no configurations: every component of ours runs on its defaults",
                "launch - boot a guest", "lguest:config", "said hi\n", "lguest shell")) {
            assertTrue(result.out.contains(answer), () -> "missing '" + answer + "' in\n" + result);
        }
        assertTrue(result.out.contains("PASS demo\n"), result.toString());
    }

    /**
     * start, stop and update mean bundles (a guest stops with lguest:stop);
     * install answers the bundle; update re-reads our own bundles from the
     * runtime jar. Bundle 12 is lguest.virtio.rng, as lguest.bndrun lists it.
     */
    @Test
    void bundleCommandsMeanBundles() throws Exception {
        Path jar = Files.createTempDirectory("lguest-bundle").resolve("itest-plain.jar");
        Bundles.writePlain(jar, "itest.plain");
        Result result = run("-Dlguest.commands=b = install " + jar + "; start $b; lb -s itest.plain;"
            + " stop 12; lb -s lguest.virtio.rng; start 12; update 12; lb -s lguest.virtio.rng; lguest:stop 1");
        assertEquals(1, result.status, result.toString());
        assertTrue(result.out.matches("(?s).*\\|Active +\\|.*itest.plain.*"), result.toString());
        assertTrue(result.out.matches("(?s).*12\\|Resolved +\\|.*lguest.virtio.rng.*12\\|Active +\\|.*lguest.virtio.rng.*"),
            result.toString());
        assertTrue(result.err.contains("'lguest:stop 1' failed: no guest 1"), result.toString());
    }

    /** What deploy/ and etc/ hold at start-up is there before the first command line runs. */
    @Test
    void dropInsAreThereBeforeTheCommandLinesRun() throws Exception {
        Path deploy = Files.createTempDirectory("lguest-deploy");
        Path etc = Files.createTempDirectory("lguest-etc");
        Bundles.writePlain(deploy.resolve("itest-early.jar"), "itest.early");
        Files.writeString(etc.resolve("org.lguest.virtio.rng.cfg"), "name = entropy\n");
        Result result = run("-Dfelix.fileinstall.dir=" + deploy + "," + etc,
            "-Dlguest.commands=lb -s itest.early; lguest:config get org.lguest.virtio.rng");
        assertEquals(0, result.status, result.toString());
        assertTrue(result.out.matches("(?s).*\\|Active +\\|.*itest.early.*"), result.toString());
        assertTrue(result.out.contains("name = entropy"), result.toString());
    }

    /** Each failure the issue found: its own message, status 1, nothing after it run. */
    @Test
    void eachFailingLineSaysWhyAndExitsOne() throws Exception {
        Map<String, String> failures = new LinkedHashMap<>();
        failures.put("start file:/no/such/bundle.jar; echo not reached",
            "'start file:/no/such/bundle.jar' failed: cannot install file:/no/such/bundle.jar");
        failures.put("b = install file:/no/such/bundle.jar", "cannot install file:/no/such/bundle.jar");
        failures.put("sleep 0.3; echo not reached", "'sleep 0.3' failed with status");
        failures.put("update 999", "no bundle 999: 'lb' lists them");
        failures.put("stop 12; lguest:demo", "no virtio rng device came up within 10 s");
        failures.put("stop 6; lguest:launch hello",
            "LHREQ_INITIALIZE answered EAGAIN: the Host has no page-table manager (is lguest.paging active?");
        failures.put("lguest:config get java.lang", "java.lang is not one of ours");
        for (Map.Entry<String, String> failure : failures.entrySet()) {
            Result result = run("-Dlguest.commands=" + failure.getKey());
            assertEquals(1, result.status, result.toString());
            assertTrue(result.err.contains(failure.getValue()), () -> "missing '" + failure.getValue() + "' in\n" + result);
            assertFalse(result.out.contains("not reached"), result.toString());
            assertFalse(result.err.contains("StackOverflowError"), result.toString());
        }
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
        // FileInstall's folders of our own: a deploy/ or etc/ where the tests run must not count.
        Path deploy = Files.createTempDirectory("lguest-deploy");
        Path etc = Files.createTempDirectory("lguest-etc");
        Path out = Files.createTempFile("lguest-out", ".txt");
        Path err = Files.createTempFile("lguest-err", ".txt");
        List<String> command = new ArrayList<>(List.of(
            Path.of(System.getProperty("java.home"), "bin", "java").toString(),
            "--enable-native-access=ALL-UNNAMED", "--sun-misc-unsafe-memory-access=allow",
            "-Dorg.osgi.framework.storage=" + storage, "-Dfelix.fileinstall.dir=" + deploy + "," + etc,
            "-Dgosh.args=--nointeractive", "-Dorg.jline.terminal.dumb=true"));
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
