package org.lguest.bench;

import java.io.IOException;
import java.io.InputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.Comparator;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.regex.Pattern;

/**
 * A real kernel booted to its first shell prompt, on our runtime and on
 * QEMU's TCG, in alternating rounds (./bench --linux). Both are whole
 * processes from start to the prompt; our runtime's own start-up (JVM,
 * Felix, Launcher) is measured in the same rounds as the time to the end of
 * {@code hello}, and the boot proper is the difference, so the ratio
 * compares kernels booting, not JVM and QEMU start-ups.
 *
 * <pre>
 * java -cp ... org.lguest.bench.LinuxBoot --runtime JAR --linux KERNEL [--initrd FILE] [--append ARGS]
 *      [--rounds N] [--prompt REGEX] [--memory MIB] [--qemu PROGRAM]
 * </pre>
 */
public final class LinuxBoot {
    /**
     * A busybox shell's prompt ("/ # ", "~ $ ") at the very end of what was
     * printed so far, perhaps followed by the terminal queries an interactive
     * ash sends (ESC [6n asks where the cursor is).
     */
    static final String DEFAULT_PROMPT = "[#$] (?:\\x1b\\[[0-9;?]*[A-Za-z])*$";
    static final String USAGE = "usage: ./bench --linux KERNEL [--initrd FILE] [--append \"ARGS\"] [--rounds N]"
        + " [--prompt REGEX] [--memory MIB]\n"
        + "  KERNEL: an i386 Linux 4.9 bzImage with LGUEST_GUEST (for our runtime, console hvc0) and an 8250 serial"
        + " console (for QEMU, console=ttyS0), an initramfs (built in or --initrd) whose shell prints a prompt";
    /** A boot that never shows a prompt is given up after this long. */
    private static final long GIVE_UP_SECONDS = 300;
    private static final int ELF_MAGIC = 0x464C457F;
    /** What the reading thread hands over last (compared by identity). */
    private static final String END_OF_OUTPUT = new String("end of output");

    /** The runtime's Felix storage, one for the whole run (each start cleans it), removed at the end. */
    private static final Path STORAGE = Path.of(System.getProperty("java.io.tmpdir"),
        "lguest-bench-felix-" + ProcessHandle.current().pid());

    /** One way of booting: the command, and what marks the end. */
    record Boot(String name, List<String> command, Pattern end) {
    }

    private LinuxBoot() {
    }

    public static void main(String[] args) throws Exception {
        Path runtime = null;
        Path kernel = null;
        Path initrd = null;
        String append = "";
        String qemu = "qemu-system-i386";
        int rounds = 5;
        int memory = 128;
        Pattern prompt = Pattern.compile(DEFAULT_PROMPT);
        for (int i = 0; i < args.length; i++) {
            switch (args[i]) {
                case "--runtime" -> runtime = Path.of(value(args, ++i));
                case "--linux" -> kernel = Path.of(value(args, ++i));
                case "--initrd" -> initrd = Path.of(value(args, ++i));
                case "--append" -> append = value(args, ++i);
                case "--rounds" -> rounds = Integer.parseInt(value(args, ++i));
                case "--memory" -> memory = Integer.parseInt(value(args, ++i));
                case "--prompt" -> prompt = Pattern.compile(value(args, ++i));
                case "--qemu" -> qemu = value(args, ++i);
                case "-h", "--help" -> {
                    System.out.println(USAGE);
                    return;
                }
                default -> throw new IllegalArgumentException("unknown argument " + args[i] + "\n" + USAGE);
            }
        }
        if (kernel == null) {
            System.err.println("bench: --linux needs a kernel to boot.\n" + USAGE);
            System.exit(2);
        }
        Optional<String> problem = problem(kernel, initrd, runtime);
        if (problem.isPresent()) {
            System.err.println("bench: " + problem.get());
            System.exit(2);
        }
        String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
        Boot ours = new Boot("lguest", runtimeCommand(java, runtime, lguestArguments(kernel, initrd, append, memory)),
            prompt);
        Boot floor = new Boot("runtime start-up (hello)", runtimeCommand(java, runtime, List.of("hello")),
            // hello's last console line; log lines may follow it.
            Pattern.compile("(?m)^PASS hello\\r?$"));
        Boot theirs = new Boot("qemu", qemuCommand(qemu, kernel, initrd, append, memory), prompt);
        List<Boot> boots = List.of(ours, floor, theirs);
        List<List<Double>> seconds = List.of(new ArrayList<>(), new ArrayList<>(), new ArrayList<>());
        try {
            for (int round = 1; round <= rounds; round++) {
                // Alternate the order, so neither side always runs on a machine the other has just warmed.
                for (int k = 0; k < boots.size(); k++) {
                    int which = round % 2 == 1 ? k : boots.size() - 1 - k;
                    double s = time(boots.get(which));
                    seconds.get(which).add(s);
                    System.err.printf("bench: round %d/%d: %s %.2f s%n", round, rounds, boots.get(which).name(), s);
                }
            }
        } catch (IllegalStateException e) {
            System.err.println("bench: " + e.getMessage());
            System.exit(1);
        } finally {
            if (Files.isDirectory(STORAGE)) {
                try (var files = Files.walk(STORAGE)) {
                    files.sorted(Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
                }
            }
        }
        Stats lguest = Stats.of(seconds.get(0));
        Stats startup = Stats.of(seconds.get(1));
        Stats qemuStats = Stats.of(seconds.get(2));
        double boot = lguest.median() - startup.median();
        System.out.printf("| boot to the first prompt | median of %d (s) | spread |%n| --- | ---: | ---: |%n", rounds);
        System.out.printf("| lguest on OSGi, whole process | %.2f | %.0f%% |%n", lguest.median(), lguest.spreadPercent());
        System.out.printf("| its runtime start-up (to `hello`'s PASS) | %.2f | %.0f%% |%n", startup.median(),
            startup.spreadPercent());
        System.out.printf("| lguest on OSGi, the boot itself (the difference) | %.2f | |%n", boot);
        System.out.printf("| qemu-system-i386 TCG, whole process | %.2f | %.0f%% |%n", qemuStats.median(),
            qemuStats.spreadPercent());
        System.out.printf("%nratio (our boot / QEMU's): %.2fx; whole processes: %.2fx%n", boot / qemuStats.median(),
            lguest.median() / qemuStats.median());
    }

    private static String value(String[] args, int at) {
        if (at >= args.length) {
            throw new IllegalArgumentException(args[at - 1] + " needs a value\n" + USAGE);
        }
        return args[at];
    }

    /** Why the inputs cannot be benchmarked; empty when they can. */
    static Optional<String> problem(Path kernel, Path initrd, Path runtime) throws IOException {
        if (!Files.isRegularFile(kernel)) {
            return Optional.of("no kernel file " + kernel);
        }
        if (initrd != null && !Files.isRegularFile(initrd)) {
            return Optional.of("no initrd file " + initrd);
        }
        if (runtime == null || !Files.isRegularFile(runtime)) {
            return Optional.of("the runtime jar is missing (" + runtime + "): ./bench --linux builds it");
        }
        byte[] head = new byte[4];
        try (InputStream in = Files.newInputStream(kernel)) {
            if (in.readNBytes(head, 0, 4) == 4 && ByteBuffer.wrap(head).order(ByteOrder.LITTLE_ENDIAN).getInt() == ELF_MAGIC) {
                return Optional.of(kernel + " is a vmlinux (ELF): QEMU boots a bzImage, so pass the bzImage (arch/x86/boot/bzImage)");
            }
        }
        return Optional.empty();
    }

    static List<String> lguestArguments(Path kernel, Path initrd, String append, int memory) {
        List<String> words = new ArrayList<>(List.of(kernel.toString(), "--memory", Integer.toString(memory)));
        if (initrd != null) {
            words.addAll(List.of("--initrd", initrd.toString()));
        }
        if (!append.isEmpty()) {
            words.addAll(List.of("--append", append));
        }
        return words;
    }

    /** The runtime as ./lguest run starts it, the arguments one per line; a temporary Felix storage of its own. */
    static List<String> runtimeCommand(String java, Path runtime, List<String> runArguments) {
        return List.of(java, "--enable-native-access=ALL-UNNAMED", "--sun-misc-unsafe-memory-access=allow",
            "-Dorg.osgi.framework.storage=" + STORAGE,
            "-Dlguest.run=" + String.join("\n", runArguments), "-Dgosh.args=--nointeractive",
            "-Dorg.jline.terminal.dumb=true", "-jar", runtime.toString());
    }

    /** QEMU's TCG, the same memory, its serial port as the console. */
    static List<String> qemuCommand(String qemu, Path kernel, Path initrd, String append, int memory) {
        List<String> command = new ArrayList<>(List.of(qemu, "-accel", "tcg", "-m", Integer.toString(memory),
            "-nographic", "-no-reboot", "-kernel", kernel.toString()));
        if (initrd != null) {
            command.addAll(List.of("-initrd", initrd.toString()));
        }
        command.addAll(List.of("-append", ("console=ttyS0 " + append).strip()));
        return command;
    }

    /** Seconds from starting the process to {@code end} in its output; the process is ended then. */
    static double time(Boot boot) throws IOException, InterruptedException {
        long start = System.nanoTime();
        Process process = new ProcessBuilder(boot.command()).redirectErrorStream(true).start();
        // A thread of its own reads, so a boot that hangs silently is still given up.
        BlockingQueue<String> chunks = new LinkedBlockingQueue<>();
        Thread.ofPlatform().daemon().start(() -> {
            byte[] buffer = new byte[8192];
            try (InputStream out = process.getInputStream()) {
                int n;
                while ((n = out.read(buffer)) >= 0) {
                    chunks.add(new String(buffer, 0, n, StandardCharsets.ISO_8859_1));
                }
            } catch (IOException e) {
                // Ended below: the process is gone.
            }
            chunks.add(END_OF_OUTPUT);
        });
        try {
            StringBuilder seen = new StringBuilder();
            long deadline = start + TimeUnit.SECONDS.toNanos(GIVE_UP_SECONDS);
            while (true) {
                String chunk = chunks.poll(deadline - System.nanoTime(), TimeUnit.NANOSECONDS);
                if (chunk == null) {
                    throw new IllegalStateException(boot.name() + " showed no prompt within " + GIVE_UP_SECONDS
                        + " s; its last output:\n" + tail(seen));
                }
                if (chunk == END_OF_OUTPUT) {
                    throw new IllegalStateException(boot.name() + " ended (status " + process.waitFor() + ") before its"
                        + " prompt; its last output:\n" + tail(seen));
                }
                seen.append(chunk.replace("\r", ""));
                if (boot.end().matcher(seen).find()) {
                    return (System.nanoTime() - start) / 1e9;
                }
            }
        } finally {
            process.descendants().forEach(ProcessHandle::destroyForcibly);
            process.destroyForcibly();
            process.waitFor();
        }
    }

    private static String tail(StringBuilder text) {
        return text.substring(Math.max(0, text.length() - 2000));
    }
}
