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
        // At the default level the log shows warnings only: the kill's INFO line is not there.
        assertEquals(0, result.err.lines().filter(line -> line.matches(LOG_LINE) && line.contains(" INFO [")).count(),
            result.toString());
    }

    /** A log line: "HH:mm:ss.SSS LEVEL [bundle] message", the Log Service's levels. */
    private static final String LOG_LINE = "\\d{2}:\\d{2}:\\d{2}\\.\\d{3} (AUDIT|ERROR|WARN|INFO|DEBUG|TRACE) \\[[^\\]]+\\] .*";

    /**
     * --verbose shows INFO: the Host's kill reason comes once, through the Log Service, in the one format and
     * under the bundle that logged it; so does the vCPU backend being bound.
     */
    @Test
    void verboseLogsTheKillReasonOnceInTheLogFormat() throws Exception {
        Result result = run("-Dlguest.verbose=true", "-Dlguest.run=bad-hcall");
        assertEquals(1, result.status, result.toString());
        List<String> kills = result.err.lines().filter(line -> line.contains("guest killed")).toList();
        assertEquals(1, kills.size(), result.toString());
        assertTrue(kills.get(0).matches(LOG_LINE), kills.get(0));
        assertTrue(kills.get(0).matches(".* INFO \\[lguest\\.device\\] lguest: guest killed: Bad hypercall 99"), kills.get(0));
        assertEquals(1, result.err.lines()
            .filter(line -> line.matches(LOG_LINE) && line.endsWith("[lguest.device] lguest: vCPU backend unicorn bound"))
            .count(), result.toString());
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

    /**
     * Issue 12's "done": a device bundle dropped into deploy/ is used by the
     * demo only when configuration says so. Its counter-rng fills buffers with
     * 00 01 02 ...; the demo reads the first entropy device on its bus, which,
     * once configured, is counter-rng (by name, before rng).
     */
    @Test
    void aDroppedInDeviceIsUsedOnlyWhenConfigured() throws Exception {
        Path deploy = Files.createTempDirectory("lguest-deploy");
        Path etc = Files.createTempDirectory("lguest-etc");
        Bundles.writeDevice(deploy.resolve("counter-rng.jar"), "itest.counter.rng");
        String folders = "-Dfelix.fileinstall.dir=" + deploy + "," + etc;
        String counting = "demo: rng: 000102030405060708090a0b0c0d0e0f\n";

        Result installed = run(folders, "-Dlguest.run=demo");
        assertEquals(0, installed.status, installed.toString());
        assertTrue(installed.out.contains("4 virtio functions"), installed.toString());
        assertFalse(installed.out.contains(counting), installed.toString());

        Files.writeString(etc.resolve("org.lguest.virtio.cfg"), "default.devices = console,rng,counter-rng\n");
        Result configured = run(folders, "-Dlguest.run=demo");
        assertEquals(0, configured.status, configured.toString());
        assertTrue(configured.out.contains("5 virtio functions"), configured.toString());
        assertTrue(configured.out.contains(counting), configured.toString());
    }

    /** Without a terminal, standard input reaches the guest's virtio console as it comes. */
    @Test
    void runForwardsStandardInputToTheGuestsConsole() throws Exception {
        Result result = runWithInput("one\ntwo words\nquit\n", "-Dlguest.run=echo");
        assertEquals(0, result.status, result.toString());
        assertTrue(result.out.contains("echo: one\necho: two words\necho: 3 lines\nPASS echo\n"), result.toString());
    }

    /** The arguments of ./lguest run, one per line: an --append value keeps its spaces and quotes. */
    @Test
    void runBootsWithAnInitrdAndACommandLine() throws Exception {
        Path initrd = Files.createTempFile("lguest-initrd", ".bin");
        byte[] bytes = new byte[10_000];
        for (int i = 0; i < bytes.length; i++) {
            bytes[i] = (byte) (i * 7 + 3);
        }
        Files.write(initrd, bytes);
        Result result = run(String.join("\n", "-Dlguest.run=initrd-cmdline", "--initrd", initrd.toString(), "--append",
            "initrd-cmdline root=/dev/ram0 rdinit=/init  two-spaces \"quoted words\" end=1"));
        assertEquals(0, result.status, result.toString());
        assertTrue(result.out.endsWith("PASS initrd-cmdline\n"), result.toString());
        assertTrue(result.out.contains(String.format("at %#x (loader 0xff)", (128 << 20) - 12288)),
            "the default memory is 128 MiB: " + result);
    }

    @Test
    void runRefusesAKernelItCannotLoadInOneLine() throws Exception {
        Path notAKernel = Files.createTempFile("lguest-kernel", ".bin");
        Files.write(notAKernel, new byte[4096]);
        Result result = run("-Dlguest.run=" + notAKernel);
        assertEquals(1, result.status, result.toString());
        assertTrue(result.err.contains("lguest: cannot boot " + notAKernel + ": it is neither an ELF32 i386 file (vmlinux)"
            + " nor a bzImage"), result.toString());
    }

    /**
     * On a terminal (a pseudo-terminal from script(1)), ./lguest run hands the
     * guest every key raw: no echo, Enter as '\r', Ctrl-C as a byte; Ctrl-]
     * stops the guest.
     */
    @Test
    void runOnATerminalSendsKeysRawAndCtrlRightBracketStopsTheGuest() throws Exception {
        try (Interactive session = Interactive.start("-Dlguest.run=echo", "-Dlguest.run.terminal=true",
                "-Dgosh.args=--nointeractive")) {
            session.await("Ctrl-] stops it");
            session.await("echo: type lines");
            session.type("typed raw\r");
            session.await("echo: typed raw\r\n");
            session.type("\u0003\r");
            session.await("echo: \u0003\r\n");
            session.type("\u001d");
            assertEquals(1, session.exitStatus(), session.output());
            assertTrue(session.output().contains("guest 1 (echo) stopped: Ctrl-] was typed"), session.output());
            assertEquals(1, session.output().split("typed raw", -1).length - 1,
                "only the guest's line shows what was typed, the terminal echoes nothing: " + session.output());
        }
    }

    /** In the interactive shell, lguest:attach connects the terminal; Ctrl-] returns to the prompt, the guest runs on. */
    @Test
    void attachConnectsTheShellsTerminalUntilCtrlRightBracket() throws Exception {
        try (Interactive session = Interactive.start()) {
            session.await("lguest> ");
            // The prompt can come before the Launcher: ask again until it is there.
            // Under load the shell's commands can come later still.
            session.typeUntil("lguest:launch echo\r", "guest 1 started: echo", "guests cannot be launched",
                "Command not found: lguest:launch");
            session.await("echo: type lines");
            session.type("lguest:attach 1\r");
            session.await("attached to guest 1 (echo); Ctrl-] returns to the prompt");
            session.type("through attach\r");
            session.await("echo: through attach");
            session.type("\u001d");
            session.await("detached from guest 1; it keeps running");
            session.type("lguest:console 1 quit\r");
            session.await("PASS echo");
            // It powers off just after its last line: list again while it still runs.
            session.typeUntil("lguest:list\r", "POWERED_OFF", "RUNNING");
        }
    }

    @Test
    void attachRefusesASessionWithoutATerminal() throws Exception {
        Result result = run("-Dlguest.commands=lguest:launch echo; lguest:attach 1");
        assertEquals(1, result.status, result.toString());
        assertTrue(result.err.contains("lguest:attach needs an interactive terminal"), result.toString());
    }

    @Test
    void runRefusesAnImageThatIsNotThere() throws Exception {
        Result result = run("-Dlguest.run=no-such-image");
        assertEquals(1, result.status, result.toString());
        assertTrue(result.err.contains("no guest image named 'no-such-image'"), result.toString());
    }

    /**
     * Every command of the README's shell table, in one runtime, each
     * answering what it should: guest 1 is echo (sending each console line
     * back), guest 2 halt-irq (waiting for irq 5). Guest 1 is not demo-peer:
     * its card's configuration, deleted as it ends, could still be there for
     * the demo's demo-peer (README, known problems).
     */
    @Test
    void everyCommandOfTheReadmeWorksInDashC() throws Exception {
        Result result = run("-Dlguest.commands=lguest:images; lguest:list; lguest:launch echo --net itest;"
            + " lguest:devices 1; lguest:console 1 hello; lguest:regs 1; lguest:launch halt-irq; lguest:irq 2 5;"
            + " lguest:stop 1; lguest:list; lguest:demo; lguest:info; lguest:config list; help lguest:launch; help;"
            + " echo said hi; sleep 1; lb lguest");
        assertEquals(0, result.status, result.toString());
        for (String answer : List.of("hello\n", "guests running: none", "guest 1 started: echo",
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
     * runtime jar. Bundle 13 is lguest.virtio.rng, as the resolved lguest.bndrun lists it
     * (our bundles by name first: lguest.log, with the runtime's log, comes before lguest.paging).
     */
    @Test
    void bundleCommandsMeanBundles() throws Exception {
        Path jar = Files.createTempDirectory("lguest-bundle").resolve("itest-plain.jar");
        Bundles.writePlain(jar, "itest.plain");
        Result result = run("-Dlguest.commands=b = install " + jar + "; start $b; lb -s itest.plain;"
            + " stop 13; lb -s lguest.virtio.rng; start 13; update 13; lb -s lguest.virtio.rng; lguest:stop 1");
        assertEquals(1, result.status, result.toString());
        assertTrue(result.out.matches("(?s).*\\|Active +\\|.*itest.plain.*"), result.toString());
        assertTrue(result.out.matches("(?s).*13\\|Resolved +\\|.*lguest.virtio.rng.*13\\|Active +\\|.*lguest.virtio.rng.*"),
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
        failures.put("stop 13; lguest:demo", "no virtio rng device came up within 10 s");
        failures.put("stop 7; lguest:launch hello",
            "LHREQ_INITIALIZE answered EAGAIN: the Host has no page-table manager (is lguest.paging active?");
        failures.put("lguest:config get java.lang", "java.lang is not one of ours");
        // The one command of the README's table that -c cannot run: it wants the prompt's terminal.
        failures.put("lguest:launch halt-irq; lguest:attach 1", "lguest:attach needs an interactive terminal");
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
        return runWithInput("", properties);
    }

    /** The runtime with {@code properties} set and {@code input} on its standard input. */
    private static Result runWithInput(String input, String... properties) throws IOException, InterruptedException {
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
        try (var stdin = process.getOutputStream()) {
            stdin.write(input.getBytes(StandardCharsets.UTF_8));
        }
        if (!process.waitFor(120, TimeUnit.SECONDS)) {
            process.destroyForcibly();
            throw new AssertionError("the runtime did not exit within 120 s: " + String.join(" ", command));
        }
        return new Result(process.exitValue(), Files.readString(out, StandardCharsets.UTF_8),
            Files.readString(err, StandardCharsets.UTF_8));
    }

    /**
     * The runtime on a pseudo-terminal of its own, through script(1): what it
     * prints is collected as it comes, and keys are typed into it.
     */
    private static final class Interactive implements AutoCloseable {
        private static final long LIMIT_SECONDS = 120;
        private final Process process;
        private final Path storage;
        private final StringBuilder output = new StringBuilder();

        private Interactive(Process process, Path storage) {
            this.process = process;
            this.storage = storage;
            Thread.ofPlatform().daemon().start(() -> {
                byte[] buffer = new byte[4096];
                try (var in = process.getInputStream()) {
                    int n;
                    while ((n = in.read(buffer)) >= 0) {
                        synchronized (output) {
                            output.append(new String(buffer, 0, n, StandardCharsets.UTF_8));
                            output.notifyAll();
                        }
                    }
                } catch (IOException e) {
                    // The process went away: output() has all there was.
                }
            });
        }

        static Interactive start(String... properties) throws IOException {
            org.junit.jupiter.api.Assumptions.assumeTrue(Files.isExecutable(Path.of("/usr/bin/script")),
                "script(1) (util-linux) gives these tests a terminal");
            assertTrue(Files.isRegularFile(JAR), JAR + " is missing: build with mvn verify");
            Path storage = Files.createTempDirectory("lguest-felix");
            List<String> command = new ArrayList<>(List.of(
                Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "--enable-native-access=ALL-UNNAMED", "--sun-misc-unsafe-memory-access=allow",
                "-Dorg.osgi.framework.storage=" + storage, "-Dgosh.home=" + Path.of("..").toAbsolutePath().normalize()));
            command.addAll(List.of(properties));
            command.addAll(List.of("-jar", JAR.toString()));
            // script's terminal has no size when its own input is no terminal; JLine wants one to draw the prompt.
            StringBuilder line = new StringBuilder("stty cols 200 rows 50; exec ");
            for (String word : command) {
                line.append('\'').append(word.replace("'", "'\\''")).append("' ");
            }
            Process process = new ProcessBuilder("/usr/bin/script", "-qfec", line.toString().strip(), "/dev/null")
                .redirectErrorStream(true).start();
            return new Interactive(process, storage);
        }

        void type(String keys) throws IOException {
            process.getOutputStream().write(keys.getBytes(StandardCharsets.UTF_8));
            process.getOutputStream().flush();
        }

        /** Types {@code keys} again each time {@code retry} is printed after it, until {@code text} is. */
        void typeUntil(String keys, String text, String... retries) throws IOException, InterruptedException {
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(LIMIT_SECONDS);
            synchronized (output) {
                int from = output.length();
                type(keys);
                while (output.indexOf(text, from) < 0) {
                    if (!process.isAlive() || System.nanoTime() > deadline) {
                        throw new AssertionError("never printed '" + text + "':\n" + output);
                    }
                    int failed = -1;
                    String retry = "";
                    for (String r : retries) {
                        int at = output.indexOf(r, from);
                        if (at >= 0 && (failed < 0 || at < failed)) {
                            failed = at;
                            retry = r;
                        }
                    }
                    if (failed >= 0) {
                        from = failed + retry.length();
                        output.wait(200);
                        type(keys);
                    } else {
                        output.wait(100);
                    }
                }
            }
        }

        /** Waits until {@code text} has been printed; fails if the runtime ends first (or hangs). */
        void await(String text) throws InterruptedException {
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(LIMIT_SECONDS);
            synchronized (output) {
                while (output.indexOf(text) < 0) {
                    if (!process.isAlive() || System.nanoTime() > deadline) {
                        throw new AssertionError("never printed '" + text + "':\n" + output);
                    }
                    output.wait(100);
                }
            }
        }

        int exitStatus() throws InterruptedException {
            if (!process.waitFor(LIMIT_SECONDS, TimeUnit.SECONDS)) {
                throw new AssertionError("the runtime did not exit:\n" + output());
            }
            return process.exitValue();
        }

        String output() {
            synchronized (output) {
                return output.toString();
            }
        }

        @Override
        public void close() throws IOException {
            process.descendants().forEach(ProcessHandle::destroyForcibly);
            process.destroyForcibly();
            try (var files = Files.walk(storage)) {
                files.sorted(java.util.Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
            }
        }
    }
}
