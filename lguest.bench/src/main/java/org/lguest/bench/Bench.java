package org.lguest.bench;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.LocalDate;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Set;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.function.Function;
import java.util.logging.Level;
import java.util.logging.Logger;

import org.lguest.api.guest.Guest;
import org.lguest.api.guest.LaunchOptions;
import org.lguest.cpu.x86.internal.unicorn.Unicorn;
import org.lguest.launcher.internal.Launcher;

/**
 * The benchmark runner. Every figure is a ratio against a floor measured
 * in the same run, in the same JVM, interleaved with it: each benchmark runs
 * in blocks, and each block measures the benchmark and then its floor (or
 * both in one guest, where the floor is a phase of the same guest). A warm-up
 * block comes first and is thrown away, and so are the first rounds of every
 * guest. Reported: the median of all kept rounds, their spread (half the
 * interquartile range), the ratio of the two medians, and the lowest and
 * highest ratio of the blocks.
 *
 * <pre>
 * java --enable-native-access=ALL-UNNAMED -cp ... org.lguest.bench.Bench [--quick] [--only 1,3] [--results FILE]
 * </pre>
 */
public final class Bench {
    private static final int MEMORY_MIB = 32;

    /** How much of everything: the full run, or a quick look (--quick). */
    private record Sizes(int blocks, int rounds, int warmRounds, int hcalls, int computeSteps, int launches, int fillPages,
            int fillRounds, int switches, int switchRounds) {
        static final Sizes FULL = new Sizes(6, 10, 2, 100_000, 20_000_000, 12, 4096, 8, 3000, 6);
        static final Sizes QUICK = new Sizes(2, 3, 1, 20_000, 5_000_000, 3, 512, 4, 500, 3);
    }

    /** One line of the table. */
    record Row(String id, String name, String unit, Stats bench, String floorName, Stats floor,
            Stats blockRatios) {
        double ratio() {
            return bench.median() / floor.median();
        }
    }

    private final Sizes sizes;
    private final Unicorn unicorn;
    private final Stack stack;
    private final List<Row> rows = new ArrayList<>();

    private Bench(Sizes sizes, Unicorn unicorn, Stack stack) {
        this.sizes = sizes;
        this.unicorn = unicorn;
        this.stack = stack;
    }

    public static void main(String[] args) throws Exception {
        Sizes sizes = Sizes.FULL;
        Set<String> only = new LinkedHashSet<>();
        Path results = null;
        for (int i = 0; i < args.length; i++) {
            switch (args[i]) {
                case "--quick" -> sizes = Sizes.QUICK;
                case "--only" -> only.addAll(List.of(args[++i].split(",")));
                case "--results" -> results = Path.of(args[++i]);
                case "-h", "--help" -> {
                    System.out.println("usage: bench [--quick] [--only 1,2,3,4,5] [--results RESULTS.md]");
                    return;
                }
                default -> throw new IllegalArgumentException("unknown argument " + args[i] + " (try --help)");
            }
        }
        Logger.getLogger("").setLevel(Level.WARNING);
        for (var h : Logger.getLogger("").getHandlers()) {
            h.setLevel(Level.WARNING);
        }
        long begin = System.nanoTime();
        Unicorn unicorn = Unicorn.load();
        try (Stack stack = new Stack()) {
            Bench bench = new Bench(sizes, unicorn, stack);
            if (only.isEmpty() || only.contains("1")) {
                bench.hypercalls();
            }
            if (only.isEmpty() || only.contains("2")) {
                bench.compute();
            }
            if (only.isEmpty() || only.contains("3")) {
                bench.launch();
            }
            if (only.isEmpty() || only.contains("4")) {
                bench.fill();
            }
            if (only.isEmpty() || only.contains("5")) {
                bench.switches();
            }
            double seconds = (System.nanoTime() - begin) / 1e9;
            System.out.println();
            System.out.print(bench.table(false));
            System.out.printf(Locale.ROOT, "%nmeasured in %.0f s (%s sizes)%n", seconds, sizes == Sizes.FULL ? "full" : "quick");
            if (results != null) {
                bench.writeResults(results, seconds, unicorn.version());
                System.out.println("wrote the table into " + results);
            }
        }
    }

    private static void progress(String format, Object... args) {
        System.out.printf(Locale.ROOT, format + "%n", args);
        System.out.flush();
    }

    /** The kept rounds of a phase, each divided by {@code per}. */
    private List<Double> kept(Console console, String phase, double per, int warm) {
        return kept(console, phase, per, warm, 0);
    }

    /** The kept rounds of a phase, each less {@code minus} nanoseconds and divided by {@code per}. */
    private List<Double> kept(Console console, String phase, double per, int warm, double minus) {
        List<Long> all = console.phase(phase);
        if (all.size() <= warm) {
            throw new IllegalStateException("phase " + phase + " ran " + all.size() + " rounds; console:\n" + console.text());
        }
        List<Double> out = new ArrayList<>();
        for (Long d : all.subList(warm, all.size())) {
            out.add((d - minus) / per);
        }
        return out;
    }

    // ------------------------------------------------------------ 1 and 2

    /** 1. FLUSH_ASYNC round trips through the whole Host against the same loop on a bare engine. */
    private void hypercalls() {
        int n = sizes.hcalls;
        String cmd = "bench-hcall rounds=" + (sizes.rounds + sizes.warmRounds) + " count=" + n;
        hostAgainstBare("1", "hypercall round trip (FLUSH_ASYNC)", "bench-hcall", cmd, "hcall", n, "/call",
            "same image, bare Engine + INTR hook", c -> null);
    }

    /** 2. A xorshift loop in the guest against the same loop on a bare engine. */
    private void compute() {
        int n = sizes.computeSteps;
        String cmd = "bench-compute rounds=" + (sizes.rounds + sizes.warmRounds) + " count=" + n;
        String expected = String.format("%#x", xorshift(0x2545F491, n));
        hostAgainstBare("2", "guest compute (" + n / 1_000_000 + "M xorshift steps)", "bench-compute", cmd, "compute", 1, "/round",
            "same image, bare Engine", c -> expected.equals(c.result()) ? null : "computed " + c.result() + ", not " + expected);
    }

    private static int xorshift(int x, int count) {
        for (int i = 0; i < count; i++) {
            x ^= x << 13;
            x ^= x >>> 17;
            x ^= x << 5;
        }
        return x;
    }

    private void hostAgainstBare(String id, String name, String image, String cmd, String phase, double per, String unit,
            String floorName, Function<Console, String> check) {
        progress("%s. %s: %s", id, name, cmd);
        List<Double> host = new ArrayList<>(), bare = new ArrayList<>();
        List<Double> ratios = new ArrayList<>();
        for (int block = -1; block < sizes.blocks; block++) {
            List<Double> h = null, b = null;
            for (int turn = 0; turn < 2; turn++) {
                boolean hostTurn = (turn == 0) == (block % 2 == 0);
                if (hostTurn) {
                    Console c = HostRun.run(stack.device(), image, cmd, MEMORY_MIB);
                    c.expectPass(image, "on the Host");
                    verify(check, c, image + " on the Host");
                    h = kept(c, phase, per, sizes.warmRounds);
                } else {
                    Console c = BareRun.run(unicorn, image, cmd, MEMORY_MIB);
                    c.expectPass(image, "on the bare engine");
                    verify(check, c, image + " on the bare engine");
                    b = kept(c, phase, per, sizes.warmRounds);
                }
            }
            if (block < 0) {
                progress("   warm-up block: host %s, floor %s", time(Stats.of(h).median()), time(Stats.of(b).median()));
                continue;
            }
            host.addAll(h);
            bare.addAll(b);
            ratios.add(Stats.of(h).median() / Stats.of(b).median());
            progress("   block %d: host %s, floor %s, ratio %.2f", block + 1, time(Stats.of(h).median()), time(Stats.of(b).median()),
                ratios.get(ratios.size() - 1));
        }
        rows.add(new Row(id, name, unit, Stats.of(host), floorName, Stats.of(bare), Stats.of(ratios)));
    }

    private static void verify(Function<Console, String> check, Console c, String what) {
        String problem = check.apply(c);
        if (problem != null) {
            throw new IllegalStateException(what + ": " + problem + "; console:\n" + c.text());
        }
    }

    // ------------------------------------------------------------------ 3

    /** Records when the first byte arrives, and keeps everything. */
    private static final class FirstByte extends OutputStream {
        final ByteArrayOutputStream all = new ByteArrayOutputStream();
        final CountDownLatch first = new CountDownLatch(1);
        volatile long firstNanos;

        @Override
        public synchronized void write(int b) {
            write(new byte[] {(byte) b}, 0, 1);
        }

        @Override
        public synchronized void write(byte[] b, int off, int len) {
            if (len > 0 && firstNanos == 0) {
                firstNanos = System.nanoTime();
                first.countDown();
            }
            all.write(b, off, len);
        }

        synchronized String text() {
            return all.toString(StandardCharsets.ISO_8859_1);
        }
    }

    /** 3. LaunchOptions to the first console byte through the real Launcher, against a bare start of the same image. */
    private void launch() throws Exception {
        String image = "hello";
        progress("3. launch to first console byte: %s, %d MiB", image, MEMORY_MIB);
        Launcher launcher = Launchers.launcher(stack.device());
        List<Double> host = new ArrayList<>(), bare = new ArrayList<>(), ratios = new ArrayList<>();
        try {
            for (int block = -1; block < sizes.blocks; block++) {
                List<Double> h = new ArrayList<>(), b = new ArrayList<>();
                for (int turn = 0; turn < 2; turn++) {
                    boolean hostTurn = (turn == 0) == (block % 2 == 0);
                    for (int i = 0; i < sizes.launches; i++) {
                        if (hostTurn) {
                            h.add(launchOnce(launcher, image));
                        } else {
                            b.add(bareStartOnce(image));
                        }
                    }
                }
                if (block < 0) {
                    progress("   warm-up block: launcher %s, floor %s", time(Stats.of(h).median()), time(Stats.of(b).median()));
                    continue;
                }
                host.addAll(h);
                bare.addAll(b);
                ratios.add(Stats.of(h).median() / Stats.of(b).median());
                progress("   block %d: launcher %s, floor %s, ratio %.2f", block + 1, time(Stats.of(h).median()),
                    time(Stats.of(b).median()), ratios.get(ratios.size() - 1));
            }
        } finally {
            Launchers.deactivate(launcher);
        }
        rows.add(new Row("3", "launch to first console byte (hello)", "", Stats.of(host),
            "read+load image, bare Engine to its first NOTIFY", Stats.of(bare), Stats.of(ratios)));
    }

    private static double launchOnce(Launcher launcher, String image) throws Exception {
        FirstByte console = new FirstByte();
        long start = System.nanoTime();
        Guest guest = launcher.launch(new LaunchOptions(image, MEMORY_MIB, console));
        if (!console.first.await(30, TimeUnit.SECONDS)) {
            guest.stop();
            throw new IllegalStateException(image + " printed nothing within 30 s");
        }
        double nanos = console.firstNanos - start;
        Guest.Outcome outcome = guest.outcome().toCompletableFuture().get(30, TimeUnit.SECONDS);
        if (outcome.state() != Guest.State.POWERED_OFF || !console.text().endsWith("PASS " + image + "\n")) {
            throw new IllegalStateException(image + " through the Launcher ended " + outcome + "; console:\n" + console.text());
        }
        return nanos;
    }

    private double bareStartOnce(String image) throws IOException {
        FirstByte console = new FirstByte();
        long start = System.nanoTime();
        try (BareRun run = new BareRun(unicorn, GuestImage.read(image), image, MEMORY_MIB)) {
            if (run.next(console) == null) {
                throw new IllegalStateException(image + " on the bare engine printed nothing");
            }
            double nanos = console.firstNanos - start;
            while (run.next(console) != null) {
                // to its end, untimed
            }
            if (!console.text().endsWith("PASS " + image + "\n")) {
                throw new IllegalStateException(image + " on the bare engine did not pass:\n" + console.text());
            }
            return nanos;
        }
    }

    // ------------------------------------------------------------ 4 and 5

    /** 4. A shadow fill per page, against a write to a page whose shadow entry is filled (same guest, next pass). */
    private void fill() {
        int pages = sizes.fillPages;
        String cmd = "bench-fill rounds=" + (sizes.fillRounds + sizes.warmRounds) + " pages=" + pages;
        progress("4. shadow fill per page: %s", cmd);
        List<Double> fill = new ArrayList<>(), filled = new ArrayList<>(), ratios = new ArrayList<>();
        for (int block = -1; block < sizes.blocks; block++) {
            Console c = HostRun.run(stack.device(), "bench-fill", cmd, MEMORY_MIB);
            c.expectPass("bench-fill", "on the Host");
            // The filled pass is short enough that the two console lines around it would count: take off
            // what an empty phase (the same two lines, nothing between them) costs in this guest.
            double empty = Stats.of(kept(c, "none", 1, sizes.warmRounds)).median();
            List<Double> f = kept(c, "fill", pages, sizes.warmRounds, empty);
            List<Double> p = kept(c, "filled", pages, sizes.warmRounds, empty);
            if (block < 0) {
                progress("   warm-up guest: fill %s, filled %s per page (empty phase %s)", time(Stats.of(f).median()),
                    time(Stats.of(p).median()), time(empty));
                continue;
            }
            fill.addAll(f);
            filled.addAll(p);
            ratios.add(Stats.of(f).median() / Stats.of(p).median());
            progress("   guest %d: fill %s, filled %s per page, ratio %.1f (empty phase %s)", block + 1,
                time(Stats.of(f).median()), time(Stats.of(p).median()), ratios.get(ratios.size() - 1), time(empty));
        }
        rows.add(new Row("4", "demand fill (" + pages + " fresh pages, 1 write each)", "/page", Stats.of(fill),
            "same pages again, shadows filled (both less an empty phase)", Stats.of(filled), Stats.of(ratios)));
    }

    /** 5. NEW_PGTABLE among four cached directories, against the same loop with FLUSH_ASYNC in its place. */
    private void switches() {
        int n = sizes.switches;
        String cmd = "bench-switch rounds=" + (sizes.switchRounds + sizes.warmRounds) + " count=" + n + " touch=8";
        progress("5. address-space switch: %s", cmd);
        List<Double> sw = new ArrayList<>(), same = new ArrayList<>(), stay = new ArrayList<>();
        List<Double> swRatios = new ArrayList<>(), sameRatios = new ArrayList<>();
        for (int block = -1; block < sizes.blocks; block++) {
            Console c = HostRun.run(stack.device(), "bench-switch", cmd, MEMORY_MIB);
            c.expectPass("bench-switch", "on the Host");
            List<Double> a = kept(c, "switch", n, sizes.warmRounds);
            List<Double> s = kept(c, "same", n, sizes.warmRounds);
            List<Double> f = kept(c, "stay", n, sizes.warmRounds);
            if (block < 0) {
                progress("   warm-up guest: switch %s, same %s, stay %s", time(Stats.of(a).median()), time(Stats.of(s).median()),
                    time(Stats.of(f).median()));
                continue;
            }
            sw.addAll(a);
            same.addAll(s);
            stay.addAll(f);
            swRatios.add(Stats.of(a).median() / Stats.of(f).median());
            sameRatios.add(Stats.of(s).median() / Stats.of(f).median());
            progress("   guest %d: switch %s, same %s, stay %s per iteration", block + 1, time(Stats.of(a).median()),
                time(Stats.of(s).median()), time(Stats.of(f).median()));
        }
        rows.add(new Row("5", "address-space switch (NEW_PGTABLE among 4, 8 pages touched)", "/iteration", Stats.of(sw),
            "same loop, FLUSH_ASYNC instead (no switch)", Stats.of(stay), Stats.of(swRatios)));
        rows.add(new Row("5b", "  NEW_PGTABLE of the current directory (no switch)", "/iteration", Stats.of(same),
            "same loop, FLUSH_ASYNC instead (no switch)", Stats.of(stay), Stats.of(sameRatios)));
    }

    // -------------------------------------------------------------- output

    static String time(double nanos) {
        if (nanos < 1_000) {
            return String.format(Locale.ROOT, "%.0f ns", nanos);
        }
        if (nanos < 1_000_000) {
            return String.format(Locale.ROOT, "%.2f us", nanos / 1e3);
        }
        if (nanos < 1_000_000_000) {
            return String.format(Locale.ROOT, "%.2f ms", nanos / 1e6);
        }
        return String.format(Locale.ROOT, "%.2f s", nanos / 1e9);
    }

    private static String measured(Stats s, String unit) {
        return String.format(Locale.ROOT, "%s%s ±%.0f%%", time(s.median()), unit, s.spreadPercent());
    }

    private static String ratio(Row r) {
        return String.format(Locale.ROOT, r.ratio() >= 100 ? "%.0fx" : r.ratio() >= 10 ? "%.1fx" : "%.2fx", r.ratio());
    }

    private static String range(Row r) {
        Stats b = r.blockRatios();
        String f = r.ratio() >= 100 ? "%.0f-%.0f" : r.ratio() >= 10 ? "%.1f-%.1f" : "%.2f-%.2f";
        return String.format(Locale.ROOT, f, b.min(), b.max());
    }

    /** The table, as text for the terminal or as Markdown. */
    String table(boolean markdown) {
        String[] head = {"#", "benchmark", "measured", "floor", "floor is", "ratio", "blocks"};
        List<String[]> lines = new ArrayList<>();
        lines.add(head);
        for (Row r : rows) {
            lines.add(new String[] {r.id(), r.name(), measured(r.bench(), r.unit()), measured(r.floor(), r.unit()), r.floorName(),
                ratio(r), range(r)});
        }
        StringBuilder out = new StringBuilder();
        if (markdown) {
            for (int i = 0; i < lines.size(); i++) {
                String[] l = lines.get(i);
                out.append("| ").append(String.join(" | ", List.of(l).stream().map(String::strip).toList())).append(" |\n");
                if (i == 0) {
                    out.append("|---|---|---:|---:|---|---:|---:|\n");
                }
            }
            return out.toString();
        }
        int[] width = new int[head.length];
        for (String[] l : lines) {
            for (int i = 0; i < l.length; i++) {
                width[i] = Math.max(width[i], l[i].length());
            }
        }
        for (String[] l : lines) {
            for (int i = 0; i < l.length; i++) {
                boolean right = i == 2 || i == 3 || i == 5 || i == 6;
                String cell = right ? " ".repeat(width[i] - l[i].length()) + l[i] : l[i] + " ".repeat(width[i] - l[i].length());
                out.append(cell).append(i < l.length - 1 ? "  " : "\n");
            }
        }
        return out.toString();
    }

    private static final String BEGIN = "<!-- bench:table:begin -->", END = "<!-- bench:table:end -->";

    /** Replaces the table between the markers in {@code file} (or appends a Benchmarks section). */
    private void writeResults(Path file, double seconds, String unicornVersion) throws IOException {
        String cpu = "unknown CPU";
        try {
            cpu = Files.readAllLines(Path.of("/proc/cpuinfo")).stream().filter(l -> l.startsWith("model name"))
                .map(l -> l.substring(l.indexOf(':') + 1).strip()).findFirst().orElse(cpu);
        } catch (IOException e) {
            // keep "unknown CPU"
        }
        String block = BEGIN + "\n"
            + String.format(Locale.ROOT, "Run of %s: `./bench`%s, %d s; %s, %d CPUs; JDK %s; Unicorn %s.%n%n", LocalDate.now(),
                sizes == Sizes.FULL ? "" : " --quick", Math.round(seconds), cpu, Runtime.getRuntime().availableProcessors(),
                Runtime.version(), unicornVersion)
            + table(true) + END;
        String text = Files.exists(file) ? Files.readString(file) : "# lguest benchmarks\n";
        int b = text.indexOf(BEGIN), e = text.indexOf(END);
        if (b >= 0 && e > b) {
            text = text.substring(0, b) + block + text.substring(e + END.length());
        } else {
            text = text.stripTrailing() + "\n\n## Benchmarks\n\n" + block + "\n";
        }
        Files.writeString(file, text);
    }
}
