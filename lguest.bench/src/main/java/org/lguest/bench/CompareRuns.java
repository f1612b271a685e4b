package org.lguest.bench;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * Puts together the rounds of a before/after comparison (see {@code before-after} beside RESULTS.md): the
 * {@code --tsv} files of several {@link Bench} runs of one build ("before") and of another ("after"), run in
 * alternation. Round i of one side is paired with round i of the other, as they ran one after the other.
 * <p>
 * Per benchmark it prints: the median over rounds of each side's measured median and of its floor's; the
 * after/before ratio of the measured figures, the median of the per-round ratios with their range; the same for
 * the floors; and each side's own ratio against its floor (the median over its rounds).
 *
 * <pre>
 * java -cp ... org.lguest.bench.CompareRuns before-1.tsv before-2.tsv ... -- after-1.tsv after-2.tsv ...
 * </pre>
 */
public final class CompareRuns {
    private CompareRuns() {
    }

    /** One row of one run. */
    private record Line(double bench, double floor, double ratio, String unit, String name) {
    }

    /** One run: the engine version and its rows by id, in the order they ran. */
    private record Run(String unicorn, Map<String, Line> rows) {
        static Run read(Path file) throws IOException {
            String unicorn = "?";
            Map<String, Line> rows = new LinkedHashMap<>();
            for (String l : Files.readAllLines(file)) {
                if (l.startsWith("#unicorn ")) {
                    unicorn = l.substring("#unicorn ".length()).strip();
                    continue;
                }
                if (l.isBlank()) {
                    continue;
                }
                String[] f = l.split("\t", -1);
                rows.put(f[0], new Line(Double.parseDouble(f[1]), Double.parseDouble(f[2]), Double.parseDouble(f[3]), f[6], f[7]));
            }
            return new Run(unicorn, rows);
        }
    }

    public static void main(String[] args) throws IOException {
        List<Run> before = new ArrayList<>(), after = new ArrayList<>();
        List<Run> into = before;
        for (String a : args) {
            if (a.equals("--")) {
                into = after;
            } else {
                into.add(Run.read(Path.of(a)));
            }
        }
        if (before.isEmpty() || after.size() != before.size()) {
            throw new IllegalArgumentException("usage: CompareRuns BEFORE.tsv... -- AFTER.tsv... (as many rounds on each side)");
        }
        System.out.print(table(before, after));
    }

    static String table(List<Run> before, List<Run> after) {
        StringBuilder out = new StringBuilder();
        out.append(String.format(Locale.ROOT, "%d rounds each; before: Unicorn %s, after: Unicorn %s%n%n", before.size(),
            versions(before), versions(after)));
        out.append("| # | benchmark | before | after | after/before | floor after/before | before vs its floor | after vs its floor |\n");
        out.append("|---|---|---:|---:|---:|---:|---:|---:|\n");
        for (String id : before.get(0).rows().keySet()) {
            List<Line> b = new ArrayList<>(), a = new ArrayList<>();
            for (int i = 0; i < before.size(); i++) {
                Line lb = before.get(i).rows().get(id), la = after.get(i).rows().get(id);
                if (lb != null && la != null) {
                    b.add(lb);
                    a.add(la);
                }
            }
            if (b.isEmpty()) {
                continue;
            }
            List<Double> speed = new ArrayList<>(), floorSpeed = new ArrayList<>();
            for (int i = 0; i < b.size(); i++) {
                speed.add(a.get(i).bench() / b.get(i).bench());
                floorSpeed.add(a.get(i).floor() / b.get(i).floor());
            }
            String unit = b.get(0).unit();
            out.append(String.format(Locale.ROOT, "| %s | %s | %s%s | %s%s | %s | %s | %s | %s |%n", id, b.get(0).name(),
                Bench.time(median(b, Line::bench)), unit, Bench.time(median(a, Line::bench)), unit, withRange(speed),
                withRange(floorSpeed), times(median(b, Line::ratio)), times(median(a, Line::ratio))));
        }
        return out.toString();
    }

    private static String versions(List<Run> runs) {
        return String.join("/", runs.stream().map(Run::unicorn).distinct().toList());
    }

    private static double median(List<Line> lines, java.util.function.ToDoubleFunction<Line> f) {
        return Stats.of(lines.stream().mapToDouble(f).toArray()).median();
    }

    private static String times(double r) {
        return String.format(Locale.ROOT, r >= 10 ? "%.1fx" : "%.2fx", r);
    }

    /** The median ratio and, in brackets, the lowest and highest. */
    private static String withRange(List<Double> ratios) {
        Stats s = Stats.of(ratios);
        String f = s.median() >= 10 ? "%.1f" : s.median() < 0.1 ? "%.3f" : "%.2f";
        return String.format(Locale.ROOT, f + " [" + f + "-" + f + "]", s.median(), s.min(), s.max());
    }
}
