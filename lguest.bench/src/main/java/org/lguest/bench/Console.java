package org.lguest.bench;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * A guest's console lines as a benchmark sees them: every line is kept (for
 * the verdict and for diagnostics), and "bench: start PHASE" / "bench: end
 * PHASE" lines are turned into phase durations, from the times at which the
 * host received the two NOTIFYs.
 */
final class Console {
    private final StringBuilder text = new StringBuilder();
    private final Map<String, Long> open = new HashMap<>();
    private final Map<String, List<Long>> durations = new HashMap<>();

    /** One line (its newline included or not), received at {@code nanos}. */
    void line(String line, long nanos) {
        text.append(line);
        if (!line.endsWith("\n")) {
            text.append('\n');
        }
        String l = line.strip();
        if (l.startsWith("bench: start ")) {
            open.put(l.substring("bench: start ".length()), nanos);
        } else if (l.startsWith("bench: end ")) {
            String phase = l.substring("bench: end ".length());
            Long start = open.remove(phase);
            if (start == null) {
                throw new IllegalStateException("'bench: end " + phase + "' without a start; console:\n" + text);
            }
            durations.computeIfAbsent(phase, p -> new ArrayList<>()).add(nanos - start);
        }
    }

    /** The durations of every round of a phase, in nanoseconds, in order. */
    List<Long> phase(String phase) {
        return durations.getOrDefault(phase, List.of());
    }

    String text() {
        return text.toString();
    }

    /** The value printed as "bench: result VALUE", or null. */
    String result() {
        for (String l : text.toString().split("\n")) {
            if (l.startsWith("bench: result ")) {
                return l.substring("bench: result ".length()).strip();
            }
        }
        return null;
    }

    /** Throws unless the last line is "PASS image". */
    void expectPass(String image, String how) {
        String t = text.toString();
        if (!t.endsWith("PASS " + image + "\n")) {
            throw new IllegalStateException(image + " " + how + " did not pass; console:\n" + t);
        }
    }
}
