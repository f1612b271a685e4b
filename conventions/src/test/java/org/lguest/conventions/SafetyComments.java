package org.lguest.conventions;

import java.util.ArrayList;
import java.util.List;
import java.util.regex.Pattern;

/**
 * The places where Java hands memory to native code, and the rule for them: each carries a
 * {@code SAFETY:} comment on its line or at most {@value #WINDOW} lines above, saying why it is
 * sound and what keeps the memory alive while the native side holds it.
 */
final class SafetyComments {

    /** How many lines above a door its comment may stand (one comment may cover a short run of them). */
    static final int WINDOW = 6;

    /**
     * The doors: a segment given a new size or lifetime ({@code reinterpret}), memory mapped into
     * Unicorn (its {@code uc_mem_map_ptr} binding and the engine's method over it), Java code handed
     * to native code as a function pointer ({@code upcallStub}), a byte patched in Unicorn's own
     * engine structure.
     */
    private static final Pattern DOOR = Pattern.compile(
            "\\.reinterpret\\(|\\bmemMapPtr\\.invoke|\\bmapPointer\\(|\\.upcallStub\\(|\\bsetEngineByte\\(");

    private static final Pattern DECLARATION = Pattern.compile("^\\s*(public|protected|private|static|final|\\s)*void\\s+\\w+\\(");

    private SafetyComments() {}

    /** A door without its comment: where, and the line. */
    record Miss(String file, int line, String text) {
        @Override
        public String toString() {
            return file + ":" + line + ": " + text.strip();
        }
    }

    /** The doors in one Java source that have no {@code SAFETY:} comment near enough above. */
    static List<Miss> misses(String file, String content) {
        String[] lines = content.split("\n", -1);
        List<Miss> misses = new ArrayList<>();
        for (int i = 0; i < lines.length; i++) {
            String line = lines[i];
            if (!DOOR.matcher(line).find() || isComment(line) || DECLARATION.matcher(line).find()) {
                continue;
            }
            boolean explained = false;
            for (int j = i; j >= Math.max(0, i - WINDOW) && !explained; j--) {
                explained = lines[j].contains("SAFETY:");
            }
            if (!explained) {
                misses.add(new Miss(file, i + 1, line));
            }
        }
        return misses;
    }

    /** A line that is only comment text (a door named in prose is not a door). */
    private static boolean isComment(String line) {
        String s = line.stripLeading();
        return s.startsWith("//") || s.startsWith("*") || s.startsWith("/*");
    }

    /** Whether the check covers this file: main Java sources, where shipped code hands memory over. */
    static boolean applies(String file) {
        return file.endsWith(".java") && file.contains("/src/main/java/");
    }
}
