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
import java.util.function.Predicate;
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
 * java --enable-native-access=ALL-UNNAMED -cp ... org.lguest.bench.Bench [--quick] [--only 1,3] [--results FILE] [--tsv FILE]
 * </pre>
 */
public final class Bench {
    private static final int MEMORY_MIB = 32;

    /**
     * How much of everything: the full run, or a quick look (--quick). For the virtio benchmarks (6-8): more,
     * shorter blocks than the others ({@code virtioBlocks}, each with {@code virtioRounds} kept rounds per side and
     * one more thrown away), the disk image's size and how much of it the write-and-flush pass writes, ping-pongs
     * and bursts per round, notifications per round.
     */
    private record Sizes(int blocks, int rounds, int warmRounds, int hcalls, int computeSteps, int launches, int fillPages,
            int fillRounds, int switches, int switchRounds, int virtioBlocks, int virtioRounds, int diskMiB, int flushMiB,
            int pingPongs, int bursts, int notifies, int stores) {
        static final Sizes FULL = new Sizes(6, 10, 2, 100_000, 20_000_000, 12, 4096, 8, 3000, 6, 10, 4, 64, 8, 1000, 200, 10_000,
            1_000_000);
        static final Sizes QUICK = new Sizes(2, 3, 1, 20_000, 5_000_000, 3, 512, 4, 500, 3, 3, 2, 16, 2, 300, 50, 3000, 200_000);
    }

    /** Throughput shown beside a time: {@code per} of {@code unit} per measured unit of time. */
    record Rate(double per, String unit) {
        String of(double nanos) {
            double v = per / nanos * 1e9;
            return v >= 1e6 ? String.format(Locale.ROOT, "%.2fM %s", v / 1e6, unit)
                : v >= 1e4 ? String.format(Locale.ROOT, "%.0fk %s", v / 1e3, unit) : String.format(Locale.ROOT, "%.0f %s", v, unit);
        }
    }

    /** One line of the table. */
    record Row(String id, String name, String unit, Stats bench, String floorName, Stats floor,
            Stats blockRatios, Rate rate) {
        Row(String id, String name, String unit, Stats bench, String floorName, Stats floor, Stats blockRatios) {
            this(id, name, unit, bench, floorName, floor, blockRatios, null);
        }

        double ratio() {
            return bench.median() / floor.median();
        }
    }

    private final Sizes sizes;
    private Unicorn unicorn;
    private Stack stack;
    private final List<Row> rows = new ArrayList<>();
    /** Benchmark 10's table (its figures are not times against a floor time, so it is not a Row); null until it ran. */
    private String idleTable;

    private Bench(Sizes sizes) {
        this.sizes = sizes;
    }

    /** The engine and the Host components, made for the first benchmark that needs them (1-5 and 9; 6-8 do not). */
    private void needHost() {
        if (unicorn == null) {
            unicorn = Unicorn.load();
            progress("engine: Unicorn %s", unicorn.version());
            stack = new Stack();
        }
    }

    public static void main(String[] args) throws Exception {
        Sizes sizes = Sizes.FULL;
        Set<String> only = new LinkedHashSet<>();
        Path results = null, tsv = null;
        for (int i = 0; i < args.length; i++) {
            switch (args[i]) {
                case "--quick" -> sizes = Sizes.QUICK;
                case "--only" -> only.addAll(List.of(args[++i].split(",")));
                case "--results" -> results = Path.of(args[++i]);
                case "--tsv" -> tsv = Path.of(args[++i]);
                case "-h", "--help" -> {
                    System.out.println("usage: bench [--quick] [--only 1,2,3,4,5,6,7,8,9,10,11] [--results RESULTS.md] [--tsv FILE]");
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
        Bench bench = new Bench(sizes);
        try {
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
            if (only.isEmpty() || only.contains("11")) {
                bench.counting();
            }
            // 9 came last but runs with the other guest benchmarks, before the virtio ones.
            if (only.isEmpty() || only.contains("9")) {
                bench.stores();
            }
            long virtioBegin = System.nanoTime();
            if (only.isEmpty() || only.contains("6")) {
                bench.disk();
            }
            if (only.isEmpty() || only.contains("7")) {
                bench.net();
            }
            if (only.isEmpty() || only.contains("8")) {
                bench.notifications();
            }
            if (only.isEmpty() || only.contains("10")) {
                bench.idle();
            }
            double seconds = (System.nanoTime() - begin) / 1e9;
            double virtioSeconds = (System.nanoTime() - virtioBegin) / 1e9;
            System.out.println();
            if (!bench.rows.isEmpty()) {
                System.out.print(bench.table(false, r -> true));
            }
            if (bench.idleTable != null) {
                System.out.println();
                System.out.print(bench.idleTable);
            }
            System.out.printf(Locale.ROOT, "%nmeasured in %.0f s (%s sizes)%n", seconds, sizes == Sizes.FULL ? "full" : "quick");
            if (results != null) {
                bench.writeResults(results, seconds - virtioSeconds, virtioSeconds, only);
                System.out.println("wrote the table into " + results);
            }
            if (tsv != null) {
                Files.writeString(tsv, bench.tsv());
            }
        } finally {
            if (bench.stack != null) {
                bench.stack.close();
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
        // The goal's floor first: a C host handling each int $0x1f in Unicorn's hook; then the same in a Java upcall;
        // then the engine that stops at every one (the floor before exits ran in the hook).
        hostAgainstBare("hypercall round trip (FLUSH_ASYNC)", "bench-hcall", cmd, "hcall", n, "/call", c -> null,
            new Floor("1", BareRun.Floor.C_HOOK, "same image, bare Unicorn, int $0x1f handled in the hook, in C"),
            new Floor("1b", BareRun.Floor.JAVA_HOOK, "the same, hook in Java (FFM upcall)"),
            new Floor("1c", BareRun.Floor.STOP, "same image, bare Engine stopping at each int, restarted"));
    }

    /** 2. A xorshift loop in the guest against the same loop on a bare engine. */
    private void compute() {
        int n = sizes.computeSteps;
        String cmd = "bench-compute rounds=" + (sizes.rounds + sizes.warmRounds) + " count=" + n;
        String expected = String.format("%#x", xorshift(0x2545F491, n));
        hostAgainstBare("guest compute (" + n / 1_000_000 + "M xorshift steps)", "bench-compute", cmd, "compute", 1, "/round",
            c -> expected.equals(c.result()) ? null : "computed " + c.result() + ", not " + expected,
            new Floor("2", BareRun.Floor.STOP, "same image, bare Engine"));
    }

    /** 9. Memory increments over four pages in the guest against the same loop on a bare engine. */
    private void stores() {
        int n = sizes.stores;
        int rounds = sizes.rounds + sizes.warmRounds;
        String cmd = "bench-store rounds=" + rounds + " count=" + n;
        // Every increment lands in the buffer, whose words start at zero: their sum is every store the guest made.
        String expected = Integer.toUnsignedString(rounds * n);
        String size = n % 1_000_000 == 0 ? n / 1_000_000 + "M" : n / 1_000 + "k";
        hostAgainstBare("guest stores (" + size + " incl over 4 pages)", "bench-store", cmd, "store", n, "/store",
            c -> expected.equals(c.result()) ? null : "summed " + c.result() + ", not " + expected,
            new Floor("9", BareRun.Floor.STOP, "same image, bare Engine"));
    }

    private static int xorshift(int x, int count) {
        for (int i = 0; i < count; i++) {
            x ^= x << 13;
            x ^= x >>> 17;
            x ^= x << 5;
        }
        return x;
    }

    /** A floor of {@link #hostAgainstBare}: its row, how the bare engine handles hypercalls, what the table calls it. */
    private record Floor(String id, BareRun.Floor kind, String name) {
    }

    private void hostAgainstBare(String name, String image, String cmd, String phase, double per, String unit,
            Function<Console, String> check, Floor... floors) {
        needHost();
        progress("%s. %s: %s", floors[0].id(), name, cmd);
        int sides = floors.length + 1;
        List<Double> host = new ArrayList<>();
        List<List<Double>> bare = new ArrayList<>(), ratios = new ArrayList<>();
        for (int f = 0; f < floors.length; f++) {
            bare.add(new ArrayList<>());
            ratios.add(new ArrayList<>());
        }
        for (int block = -1; block < sizes.blocks; block++) {
            List<Double> h = null;
            List<List<Double>> b = new ArrayList<>();
            for (int f = 0; f < floors.length; f++) {
                b.add(null);
            }
            for (int turn = 0; turn < sides; turn++) {
                // Host first on even blocks, last on odd ones; the floors in between keep their order.
                int side = block % 2 == 0 ? turn : (turn + 1) % sides;
                if (side == 0) {
                    Console c = HostRun.run(stack.device(), image, cmd, MEMORY_MIB);
                    c.expectPass(image, "on the Host");
                    verify(check, c, image + " on the Host");
                    h = kept(c, phase, per, sizes.warmRounds);
                } else {
                    Floor floor = floors[side - 1];
                    Console c = BareRun.run(unicorn, image, cmd, MEMORY_MIB, floor.kind());
                    c.expectPass(image, "on the bare engine (" + floor.kind() + ")");
                    verify(check, c, image + " on the bare engine (" + floor.kind() + ")");
                    b.set(side - 1, kept(c, phase, per, sizes.warmRounds));
                }
            }
            StringBuilder line = new StringBuilder();
            for (int f = 0; f < floors.length; f++) {
                double ratio = Stats.of(h).median() / Stats.of(b.get(f)).median();
                line.append(String.format(Locale.ROOT, ", floor %s %s (%.2f)", floors[f].id(), time(Stats.of(b.get(f)).median()), ratio));
                if (block >= 0) {
                    bare.get(f).addAll(b.get(f));
                    ratios.get(f).add(ratio);
                }
            }
            if (block < 0) {
                progress("   warm-up block: host %s%s", time(Stats.of(h).median()), line);
                continue;
            }
            host.addAll(h);
            progress("   block %d: host %s%s", block + 1, time(Stats.of(h).median()), line);
        }
        for (int f = 0; f < floors.length; f++) {
            rows.add(new Row(floors[f].id(), f == 0 ? name : "  the same", unit, Stats.of(host), floors[f].name(), Stats.of(bare.get(f)),
                Stats.of(ratios.get(f))));
        }
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
        needHost();
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
        needHost();
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

    /**
     * 11. What the Host's per-guest counters cost: the hypercall round trip (1) and the demand fill (4) with
     * counting on against the same guest with counting off (HostConfig.countPerGuest), in alternating order in
     * each block.
     */
    private void counting() {
        needHost();
        int n = sizes.hcalls;
        String hcall = "bench-hcall rounds=" + (sizes.rounds + sizes.warmRounds) + " count=" + n;
        int pages = sizes.fillPages;
        String fill = "bench-fill rounds=" + (sizes.fillRounds + sizes.warmRounds) + " pages=" + pages;
        progress("11. Host counters on against off: %s; %s", hcall, fill);
        List<List<Double>> calls = List.of(new ArrayList<>(), new ArrayList<>());
        List<List<Double>> fills = List.of(new ArrayList<>(), new ArrayList<>());
        List<Double> callRatios = new ArrayList<>(), fillRatios = new ArrayList<>();
        try {
            for (int block = -1; block < sizes.blocks; block++) {
                double[] call = new double[2], page = new double[2];
                for (int turn = 0; turn < 2; turn++) {
                    // Counting on first in even blocks, off first in odd ones.
                    int side = (block + turn) % 2 == 0 ? 0 : 1;
                    stack.countPerGuest(side == 0);
                    Console c = HostRun.run(stack.device(), "bench-hcall", hcall, MEMORY_MIB);
                    c.expectPass("bench-hcall", side == 0 ? "counting" : "not counting");
                    List<Double> h = kept(c, "hcall", n, sizes.warmRounds);
                    Console f = HostRun.run(stack.device(), "bench-fill", fill, MEMORY_MIB);
                    f.expectPass("bench-fill", side == 0 ? "counting" : "not counting");
                    double empty = Stats.of(kept(f, "none", 1, sizes.warmRounds)).median();
                    List<Double> p = kept(f, "fill", pages, sizes.warmRounds, empty);
                    call[side] = Stats.of(h).median();
                    page[side] = Stats.of(p).median();
                    if (block >= 0) {
                        calls.get(side).addAll(h);
                        fills.get(side).addAll(p);
                    }
                }
                if (block >= 0) {
                    callRatios.add(call[0] / call[1]);
                    fillRatios.add(page[0] / page[1]);
                    progress("   block %d: hypercall %s counting, %s not (%.3f); fill %s counting, %s not (%.3f)", block + 1,
                        time(call[0]), time(call[1]), call[0] / call[1], time(page[0]), time(page[1]), page[0] / page[1]);
                }
            }
        } finally {
            stack.countPerGuest(true);
        }
        rows.add(new Row("11a", "hypercall round trip, Host counting per guest", "/call", Stats.of(calls.get(0)),
            "the same, counting off (countPerGuest=false)", Stats.of(calls.get(1)), Stats.of(callRatios)));
        rows.add(new Row("11b", "demand fill per page, Host counting per guest", "/page", Stats.of(fills.get(0)),
            "the same, counting off", Stats.of(fills.get(1)), Stats.of(fillRatios)));
    }

    /** 5. NEW_PGTABLE among four cached directories, against the same loop with FLUSH_ASYNC in its place. */
    private void switches() {
        int n = sizes.switches;
        String cmd = "bench-switch rounds=" + (sizes.switchRounds + sizes.warmRounds) + " count=" + n + " touch=8";
        needHost();
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

    // ------------------------------------------------------------ 6, 7, 8

    /** One timed round of one side of a virtio benchmark: nanoseconds per unit, for each of its metrics. */
    @FunctionalInterface
    interface Round {
        double[] run() throws Exception;
    }

    /** What {@link #interleave} kept: per side and metric, every kept round and each block's median. */
    private static final class Sides {
        final String[] names;
        final int metrics;
        final List<List<Double>> kept = new ArrayList<>(), blocks = new ArrayList<>();
        /** The share of the CPUs other processes took during each kept block (when known). */
        final List<Double> others = new ArrayList<>();

        Sides(String[] names, int metrics) {
            this.names = names;
            this.metrics = metrics;
            for (int i = 0; i < names.length * metrics; i++) {
                kept.add(new ArrayList<>());
                blocks.add(new ArrayList<>());
            }
        }

        Stats kept(int side, int metric) {
            return Stats.of(kept.get(side * metrics + metric));
        }

        /** Side 0 over {@code side}, block by block. */
        Stats ratios(int side, int metric) {
            List<Double> m = blocks.get(metric), f = blocks.get(side * metrics + metric), r = new ArrayList<>();
            for (int i = 0; i < m.size(); i++) {
                r.add(m.get(i) / f.get(i));
            }
            return Stats.of(r);
        }
    }

    /**
     * The sides of a virtio benchmark (the virtio path first, then its floors), interleaved as the others are: a
     * warm-up block thrown away, then blocks in which every side runs one round more than {@code sizes.virtioRounds}
     * (the first is thrown away), in turn, the order reversed every other block. {@code between} runs untimed after
     * each side's rounds.
     */
    private Sides interleave(String label, String[] names, Round[] sides, int metrics, Runnable between) throws Exception {
        Sides out = new Sides(names, metrics);
        for (int block = -1; block < sizes.virtioBlocks; block++) {
            Load load = Load.now();
            double[] medians = new double[sides.length];
            for (int turn = 0; turn < sides.length; turn++) {
                int side = block % 2 == 0 ? turn : sides.length - 1 - turn;
                List<List<Double>> got = new ArrayList<>();
                for (int m = 0; m < metrics; m++) {
                    got.add(new ArrayList<>());
                }
                for (int round = 0; round <= sizes.virtioRounds; round++) {
                    double[] v = sides[side].run();
                    if (round > 0) {
                        for (int m = 0; m < metrics; m++) {
                            got.get(m).add(v[m]);
                        }
                    }
                }
                between.run();
                medians[side] = Stats.of(got.get(0)).median();
                if (block >= 0) {
                    for (int m = 0; m < metrics; m++) {
                        out.kept.get(side * metrics + m).addAll(got.get(m));
                        out.blocks.get(side * metrics + m).add(Stats.of(got.get(m)).median());
                    }
                }
            }
            double others = Load.othersSince(load);
            if (block >= 0 && others >= 0) {
                out.others.add(others);
            }
            StringBuilder line = new StringBuilder(block < 0 ? "   warm-up block:" : "   block " + (block + 1) + ":");
            for (int side = 0; side < sides.length; side++) {
                line.append(side == 0 ? " " : ", ").append(names[side]).append(' ').append(time(medians[side]));
                if (side > 0) {
                    line.append(String.format(Locale.ROOT, " (ratio %.2f)", medians[0] / medians[side]));
                }
            }
            progress("%s%s%s", line, label.isEmpty() ? "" : " " + label,
                others < 0 ? "" : String.format(Locale.ROOT, "; other processes %.0f%%", 100 * others));
        }
        if (!out.others.isEmpty()) {
            Stats o = Stats.of(out.others);
            progress("   other processes took %.0f%% of the CPUs in the median block, %.0f%% in the busiest", 100 * o.median(),
                100 * o.max());
        }
        return out;
    }

    /** 6. Sequential reads and writes of a disk image through virtio-blk, against the same through a FileChannel. */
    private void disk() throws Exception {
        long bytes = (long) sizes.diskMiB << 20;
        progress("6. virtio-blk sequential, 64 KiB requests over a %d MiB image (page cache)", sizes.diskMiB);
        try (DiskBench d = new DiskBench(bytes, 1)) {
            progress("   read, one request at a time");
            diskRow(d, "6", "virtio-blk sequential read (64 KiB requests, 1 in flight)", DiskBench.Kind.READ, null);
            progress("   write, one request at a time (an untimed fsync after each side's rounds)");
            diskRow(d, "6b", "virtio-blk sequential write (64 KiB, 1 in flight, no flush)", DiskBench.Kind.WRITE, d::settle);
            progress("   (kicks %d, interrupts %d)", d.kicks(), d.interrupts());
        }
        try (DiskBench d = new DiskBench(bytes, 8)) {
            progress("   read, 8 requests in flight (8 per notification)");
            diskRow(d, "6c", "virtio-blk sequential read (64 KiB requests, 8 in flight)", DiskBench.Kind.READ, null);
            progress("   (kicks %d, interrupts %d)", d.kicks(), d.interrupts());
        }
        progress("   read, one request at a time: the device counters (/metrics) kept, against a rig without them");
        try (DiskBench counted = DiskBench.withCounters(true, bytes, 1);
                DiskBench uncounted = DiskBench.withCounters(false, bytes, 1)) {
            Sides s = interleave("", new String[] {"counted", "uncounted"}, new Round[] {
                () -> counted.virtio(DiskBench.Kind.READ), () -> uncounted.virtio(DiskBench.Kind.READ)}, 4, () -> { });
            rows.add(new Row("6e", "virtio-blk sequential read, device counters kept (64 KiB, 1 in flight)", "/request",
                s.kept(0, 0), "the same rig, counters off", s.kept(1, 0), s.ratios(1, 0),
                new Rate(DiskBench.REQUEST / 1e6, "MB/s")));
        }
        try (DiskBench d = new DiskBench((long) sizes.flushMiB << 20, 1)) {
            progress("   write and flush, %d MiB: every write followed by a flush (force(true))", sizes.flushMiB);
            diskRow(d, "6d", "virtio-blk write + flush each (64 KiB, " + sizes.flushMiB + " MiB)", DiskBench.Kind.WRITE_FLUSH,
                null);
        }
    }

    private void diskRow(DiskBench d, String id, String name, DiskBench.Kind kind, Runnable between) throws Exception {
        Sides s = interleave("", new String[] {"virtio", "direct"}, new Round[] {() -> d.virtio(kind), () -> d.direct(kind)}, 4,
            between == null ? () -> { } : between);
        progress("   virtio, medians per batch: publish to the first chain taken %s, taken to the last completed %s, completed to the guest holding the answers %s",
            time(s.kept(0, 1).median()), time(s.kept(0, 2).median()), time(s.kept(0, 3).median()));
        boolean flush = kind == DiskBench.Kind.WRITE_FLUSH;
        rows.add(new Row(id, name, "/request", s.kept(0, 0), flush ? "same, FileChannel write + force(true)"
            : "FileChannel on the same file, same requests", s.kept(1, 0), s.ratios(1, 0), new Rate(DiskBench.REQUEST / 1e6, "MB/s")));
    }

    /** 7. Frames between two guests on the in-JVM switch, against the same exchange between two plain threads. */
    private void net() throws Exception {
        progress("7. virtio-net, two guests on the in-JVM switch, %d-byte frames: %d ping-pongs, %d bursts of %d per round",
            NetBench.FRAME, sizes.pingPongs, sizes.bursts, NetBench.BURST);
        try (NetBench n = new NetBench(); NetBench.Queues q = new NetBench.Queues(); NetBench.Udp u = new NetBench.Udp()) {
            String[] names = {"virtio", "queues", "udp"};
            progress("   ping-pong (per round trip)");
            Sides p = interleave("", names, new Round[] {() -> n.pingPong(sizes.pingPongs), () -> q.pingPong(sizes.pingPongs),
                () -> u.pingPong(sizes.pingPongs)}, 1, () -> { });
            Rate twoFrames = new Rate(2, "frames/s");
            rows.add(new Row("7", "virtio-net ping-pong between two guests (1 frame each way)", "/round trip", p.kept(0, 0),
                "2 threads, 2 ArrayBlockingQueues", p.kept(1, 0), p.ratios(1, 0), twoFrames));
            rows.add(new Row("7b", "  the same", "/round trip", p.kept(0, 0), "2 threads, UDP over 127.0.0.1", p.kept(2, 0),
                p.ratios(2, 0), twoFrames));
            progress("   bursts of %d each way (per frame)", NetBench.BURST);
            Sides b = interleave("", names, new Round[] {() -> n.bursts(sizes.bursts), () -> q.bursts(sizes.bursts),
                () -> u.bursts(sizes.bursts)}, 1, () -> { });
            Rate frames = new Rate(1, "frames/s");
            rows.add(new Row("7c", "virtio-net bursts of " + NetBench.BURST + " each way", "/frame", b.kept(0, 0),
                "2 threads, 2 ArrayBlockingQueues", b.kept(1, 0), b.ratios(1, 0), frames));
            rows.add(new Row("7d", "  the same", "/frame", b.kept(0, 0), "2 threads, UDP over 127.0.0.1", b.kept(2, 0),
                b.ratios(2, 0), frames));
            progress("   (kicks %d, interrupts %d)", n.kicks(), n.interrupts());
        }
    }

    /** 8. A guest's notification to the device's serve, and back, against a hand-off between two parked threads. */
    private void notifications() throws Exception {
        progress("8. notification to serve: %d notifications per round", sizes.notifies);
        try (NotifyBench n = new NotifyBench()) {
            Sides s = interleave("(median one way)", new String[] {"virtio", "unpark"}, new Round[] {
                () -> n.virtio(sizes.notifies), () -> n.floor(sizes.notifies)}, 3, () -> { });
            rows.add(new Row("8", "eventfd signal to the device's serve() (median)", "", s.kept(0, 0),
                "LockSupport.unpark to the parked thread running", s.kept(1, 0), s.ratios(1, 0)));
            rows.add(new Row("8b", "  and back: used ring + interrupt + ISR read (median)", "", s.kept(0, 1),
                "unpark there and back (2 threads)", s.kept(1, 1), s.ratios(1, 1)));
            rows.add(new Row("8c", "  the same round trip, mean (tails included)", "", s.kept(0, 2),
                "unpark there and back (2 threads)", s.kept(1, 2), s.ratios(1, 2)));
            progress("   (interrupts %d)", n.interrupts());
        }
    }

    // ----------------------------------------------------------------- 10

    /** 10. Idle guests: memory, threads, CPU and launch per guest, against the process with none (IdleBench). */
    private void idle() throws Exception {
        needHost();
        boolean quick = sizes == Sizes.QUICK;
        int[] counts = quick ? new int[] {1, 20, 100} : new int[] {1, 200, 1000};
        int seconds = quick ? 3 : 10;
        progress("10. idle guests: %s of them in turn, %d s idle each", java.util.Arrays.toString(counts), seconds);
        IdleBench idle = new IdleBench(stack.device(), counts, seconds, line -> progress("%s", line));
        idle.run();
        idleTable = idle.table();
    }

    // -------------------------------------------------------------- output

    static String time(double nanos) {
        if (nanos < 100) {
            // A few nanoseconds (a store): whole nanoseconds would hide a factor of two.
            return String.format(Locale.ROOT, "%.1f ns", nanos);
        }
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

    private static String measured(Stats s, String unit, Rate rate) {
        return String.format(Locale.ROOT, "%s%s ±%.0f%%", time(s.median()), unit, s.spreadPercent())
            + (rate == null ? "" : " (" + rate.of(s.median()) + ")");
    }

    private static String ratio(Row r) {
        return String.format(Locale.ROOT, r.ratio() >= 100 ? "%.0fx" : r.ratio() >= 10 ? "%.1fx" : "%.2fx", r.ratio());
    }

    private static String range(Row r) {
        Stats b = r.blockRatios();
        String f = r.ratio() >= 100 ? "%.0f-%.0f" : r.ratio() >= 10 ? "%.1f-%.1f" : "%.2f-%.2f";
        return String.format(Locale.ROOT, f, b.min(), b.max());
    }

    /** Whether a row is one of the virtio benchmarks (6-8), which have a table of their own in RESULTS.md. */
    private static boolean virtio(Row r) {
        int n = Character.getNumericValue(r.id().charAt(0));
        return n >= 6 && n <= 8;
    }

    /** The table, as text for the terminal or as Markdown. */
    String table(boolean markdown, Predicate<Row> which) {
        String[] head = {"#", "benchmark", "measured", "floor", "floor is", "ratio", "blocks"};
        List<String[]> lines = new ArrayList<>();
        lines.add(head);
        for (Row r : rows) {
            if (!which.test(r)) {
                continue;
            }
            lines.add(new String[] {r.id(), r.name(), measured(r.bench(), r.unit(), r.rate()),
                measured(r.floor(), r.unit(), r.rate()), r.floorName(), ratio(r), range(r)});
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

    /**
     * The rows for another program (CompareRuns): a first line "#unicorn VERSION" (or "#unicorn none"), then per row
     * id, the medians measured and floor in nanoseconds, the ratio, the lowest and highest block ratio, the unit
     * ("/call", or empty), the name; tab-separated.
     */
    String tsv() {
        StringBuilder out = new StringBuilder("#unicorn " + (unicorn == null ? "none" : unicorn.version()) + "\n");
        for (Row r : rows) {
            out.append(String.format(Locale.ROOT, "%s\t%.3f\t%.3f\t%.5f\t%.5f\t%.5f\t%s\t%s%n", r.id(), r.bench().median(),
                r.floor().median(), r.ratio(), r.blockRatios().min(), r.blockRatios().max(), r.unit(), r.name().strip()));
        }
        return out.toString();
    }

    private static final String BEGIN = "<!-- bench:table:begin -->", END = "<!-- bench:table:end -->";
    private static final String VIRTIO_BEGIN = "<!-- bench:virtio:begin -->", VIRTIO_END = "<!-- bench:virtio:end -->";
    private static final String IDLE_BEGIN = "<!-- bench:idle:begin -->", IDLE_END = "<!-- bench:idle:end -->";

    /**
     * Replaces the tables between the markers in {@code file}: benchmarks 1-5 between the first pair, 6-8 between
     * the second (a section is appended where the markers are missing). A table is only replaced when this run
     * measured some of its benchmarks, so {@code --only 6,7,8} leaves the first one as it was.
     */
    private void writeResults(Path file, double hostSeconds, double virtioSeconds, Set<String> only) throws IOException {
        String cpu = "unknown CPU";
        try {
            cpu = Files.readAllLines(Path.of("/proc/cpuinfo")).stream().filter(l -> l.startsWith("model name"))
                .map(l -> l.substring(l.indexOf(':') + 1).strip()).findFirst().orElse(cpu);
        } catch (IOException e) {
            // keep "unknown CPU"
        }
        String command = "`./bench" + (sizes == Sizes.FULL ? "" : " --quick") + (only.isEmpty() ? "" : " --only " + String.join(",", only))
            + "`";
        String machine = String.format(Locale.ROOT, "%s, %d CPUs; JDK %s", cpu, Runtime.getRuntime().availableProcessors(),
            Runtime.version());
        String text = Files.exists(file) ? Files.readString(file) : "# lguest benchmarks\n";
        if (rows.stream().anyMatch(r -> !virtio(r))) {
            text = replace(text, BEGIN, END, "Benchmarks", String.format(Locale.ROOT, "Run of %s: %s, %d s; %s; Unicorn %s.%n%n",
                LocalDate.now(), command, Math.round(hostSeconds), machine, unicorn.version()) + table(true, r -> !virtio(r)));
        }
        if (rows.stream().anyMatch(Bench::virtio)) {
            text = replace(text, VIRTIO_BEGIN, VIRTIO_END, "Virtio benchmarks", String.format(Locale.ROOT,
                "Run of %s: %s, %d s (these three); %s.%n%n", LocalDate.now(), command, Math.round(virtioSeconds), machine)
                + table(true, Bench::virtio));
        }
        if (idleTable != null) {
            text = replace(text, IDLE_BEGIN, IDLE_END, "Idle guests", String.format(Locale.ROOT,
                "Run of %s: %s; %s; Unicorn %s.%n%n", LocalDate.now(), command, machine, unicorn.version()) + idleTable);
        }
        Files.writeString(file, text);
    }

    private static String replace(String text, String begin, String end, String section, String table) {
        String block = begin + "\n" + table + end;
        int b = text.indexOf(begin), e = text.indexOf(end);
        if (b >= 0 && e > b) {
            return text.substring(0, b) + block + text.substring(e + end.length());
        }
        return text.stripTrailing() + "\n\n## " + section + "\n\n" + block + "\n";
    }
}
