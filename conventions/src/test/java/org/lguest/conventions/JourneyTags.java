package org.lguest.conventions;

import java.util.ArrayList;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Where the journey's steps sit in the code. A tag is a capital letter, a colon and three
 * digits (L:010, M:040); it marks a step when it opens a line of a comment, as lguest's
 * own tags do ({@code /*L:010}, {@code // M:040}, or a block comment's row starting with
 * it). A tag further along a comment line is only a mention, and a tag in code or in a
 * string is nothing at all.
 */
final class JourneyTags {

    /** Any tag, wherever it stands: the form both the code and journey.md use. */
    static final Pattern TAG = Pattern.compile("\\b[A-Z]:\\d{3}\\b");

    /** A tag at the start of a comment line, white space allowed before it. */
    private static final Pattern OPENING_TAG = Pattern.compile("^\\s*([A-Z]:\\d{3})\\b");

    /** One marked step: the tag, the file (relative to the root, '/' separators) and the line. */
    record Tag(String tag, String file, int line) {
        /** The file's own name, without its folders: what journey.md's next pointers give. */
        String fileName() {
            return file.substring(file.lastIndexOf('/') + 1);
        }

        @Override
        public String toString() {
            return tag + " at " + file + ":" + line;
        }
    }

    private JourneyTags() {}

    /**
     * Whether a file can hold steps: Java and C-like sources (C, headers, assembly, linker
     * scripts) outside test folders. Tests quote tags as samples, so they do not count.
     */
    static boolean isSource(String file) {
        if (file.startsWith("src/test/") || file.contains("/src/test/")) return false;
        Prose.Kind kind = Prose.kind(file, "");
        return kind == Prose.Kind.JAVA || kind == Prose.Kind.C_LIKE;
    }

    /** The steps one source file marks, in line order. */
    static List<Tag> inSource(String file, String content) {
        List<Tag> tags = new ArrayList<>();
        for (Prose.CommentLine line : Prose.commentLines(file, content)) {
            Matcher m = OPENING_TAG.matcher(line.text());
            if (m.find()) tags.add(new Tag(m.group(1), file, line.line()));
        }
        return tags;
    }
}
