package org.lguest.conventions;

import java.util.ArrayList;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Absolute paths that only mean something on the machine a file was written on.
 *
 * <p>The rule: a path that starts a token (at the start of a line, after white space, a
 * quote, a backtick, a bracket, '=', ',', ':' or ';', or after "file://") and names a
 * folder under the work tree, root's home, a user's home ("home" or "Users" followed by a
 * name) or a named entry in the temp folder. A mktemp template (a name holding XXX) is not
 * a machine path: it names no file until run. "${TMPDIR:-...}" and a bare temp folder are
 * not matched either. A path glued to a word, such as a URL's path or "${basedir}/work",
 * is relative to something else and passes. Punctuation that ends a sentence is not part
 * of the path.
 */
final class MachinePaths {

    /** One machine path found: where, and the path itself. */
    record Hit(String file, int line, String path) {
        @Override
        public String toString() {
            return file + ":" + line + ": " + path;
        }
    }

    private static final String START = "(?:^|(?<=[\\s\"'`(\\[{<>=,:;])|(?<=file://))";

    private static final String NAME = "[A-Za-z0-9._@%+-]+";

    private static final Pattern PATH = Pattern.compile(START
            + "(/(?:work|root)/" + NAME + "[^\\s\"'`)\\]>]*"
            + "|/(?:home|Users)/" + NAME + "(?:/[^\\s\"'`)\\]>]*)?"
            + "|/tmp/" + NAME + "[^\\s\"'`)\\]>]*)",
            Pattern.MULTILINE);

    private MachinePaths() {}

    /** The machine paths in one file's text, with the line each is on. */
    static List<Hit> in(String file, String content) {
        List<Hit> hits = new ArrayList<>();
        Matcher m = PATH.matcher(content);
        while (m.find()) {
            String path = m.group(1).replaceAll("[.,;:!?]+$", "");
            if (path.startsWith("/tmp/") && path.contains("XXX")) continue;
            hits.add(new Hit(file, lineOf(content, m.start()), path));
        }
        return hits;
    }

    private static int lineOf(String content, int offset) {
        int line = 1;
        for (int i = 0; i < offset; i++) {
            if (content.charAt(i) == '\n') line++;
        }
        return line;
    }
}
