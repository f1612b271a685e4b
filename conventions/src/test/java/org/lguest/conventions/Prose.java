package org.lguest.conventions;

import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The words a file says to its reader: the comments of source files and the prose of
 * Markdown, cut into sentences that remember the line they start on. Code is never
 * looked at, so a string literal that happens to hold comment markers stays code.
 */
final class Prose {

    /** One sentence as written, and the line of the file it starts on. */
    record Sentence(int line, String text) {}

    /** How a file marks its comments, chosen from its name. */
    enum Kind { C_LIKE, JAVA, HASH, XML, MARKDOWN, NONE }

    /** A marker that ends a sentence whatever precedes it: paragraph breaks, list items, ends of comments. */
    private static final char BREAK = '\u2029';

    /** Journey tags (L:010, P:200) are labels, not words: drop them before comparing. */
    private static final Pattern TAG = Pattern.compile("\\b[A-Z]:\\d{3}\\b");

    private static final Pattern NOT_A_WORD = Pattern.compile("[^\\p{L}\\p{N}]+");

    /**
     * Sentence ends: . ! ? ; : followed by white space, or a hard break. Colons and
     * semicolons count too, so a copied clause is caught even when it is glued to new words.
     */
    private static final Pattern SENTENCE_END = Pattern.compile("(?<=[.!?;:])\\s+|" + BREAK);

    private Prose() {}

    static Kind kind(String fileName, String content) {
        String name = fileName.substring(fileName.lastIndexOf('/') + 1);
        if (name.endsWith(".java")) return Kind.JAVA;
        if (name.endsWith(".c") || name.endsWith(".h") || name.endsWith(".S") || name.endsWith(".s")
                || name.endsWith(".ld")) return Kind.C_LIKE;
        if (name.endsWith(".md")) return Kind.MARKDOWN;
        if (name.endsWith(".xml")) return Kind.XML;
        if (name.endsWith(".bnd") || name.endsWith(".bndrun") || name.endsWith(".properties")
                || name.endsWith(".sh") || name.endsWith(".list") || name.equals("Makefile")
                || content.startsWith("#!")) return Kind.HASH;
        return Kind.NONE;
    }

    /** The sentences of one file's comments (or, for Markdown, of its prose). */
    static List<Sentence> sentences(String fileName, String content) {
        String text = content.replace("\r\n", "\n");
        List<Block> blocks = switch (kind(fileName, text)) {
            case JAVA -> cComments(text, true);
            case C_LIKE -> cComments(text, false);
            case HASH -> hashComments(text);
            case XML -> xmlComments(text);
            case MARKDOWN -> markdownProse(text);
            case NONE -> List.of();
        };
        List<Sentence> out = new ArrayList<>();
        for (Block b : blocks) {
            split(b, out);
        }
        return out;
    }

    /** One line of a comment, its markers (and a block comment's leading stars) taken off. */
    record CommentLine(int line, String text) {}

    /**
     * Every comment line of a Java or C-like file, in order; other kinds have none here.
     * Strings and character literals are skipped as for {@link #sentences}.
     */
    static List<CommentLine> commentLines(String fileName, String content) {
        String text = content.replace("\r\n", "\n");
        List<Block> blocks = switch (kind(fileName, text)) {
            case JAVA -> cComments(text, true);
            case C_LIKE -> cComments(text, false);
            default -> List.of();
        };
        List<CommentLine> out = new ArrayList<>();
        for (Block b : blocks) {
            for (int k = 0; k < b.lines().size(); k++) {
                out.add(new CommentLine(b.lines().get(k), b.texts().get(k)));
            }
        }
        return out;
    }

    /** Lower case, no journey tags, no punctuation or comment markers, single spaces. */
    static String normalise(String s) {
        String noTags = TAG.matcher(s).replaceAll(" ");
        return NOT_A_WORD.matcher(noTags.toLowerCase(Locale.ROOT)).replaceAll(" ").strip();
    }

    static int words(String normalised) {
        return normalised.isEmpty() ? 0 : normalised.split(" ").length;
    }

    // ---------------------------------------------------------------- blocks

    /** A run of comment text: its lines, cleaned of markers, each with its line number. */
    private record Block(List<Integer> lines, List<String> texts) {
        Block() {
            this(new ArrayList<>(), new ArrayList<>());
        }

        void add(int line, String text) {
            lines.add(line);
            texts.add(text);
        }
    }

    /**
     * Comments in C, assembly run through cpp, linker scripts and Java. Strings, character
     * literals and (for Java) text blocks are skipped so their contents are never taken
     * for comments. Line comments on consecutive lines form one block, as a reader sees them.
     */
    private static List<Block> cComments(String s, boolean java) {
        List<Block> blocks = new ArrayList<>();
        int n = s.length();
        int line = 1;
        int lastLineComment = -2;
        Block open = null;
        int i = 0;
        while (i < n) {
            char c = s.charAt(i);
            if (c == '\n') {
                line++;
                i++;
            } else if (s.startsWith("//", i)) {
                int end = s.indexOf('\n', i);
                if (end < 0) end = n;
                String body = s.substring(i, end).replaceFirst("^/{2,}!?\\s?", "");
                if (open == null || lastLineComment != line - 1) {
                    open = new Block();
                    blocks.add(open);
                }
                open.add(line, body);
                lastLineComment = line;
                i = end;
            } else if (s.startsWith("/*", i)) {
                int end = s.indexOf("*/", i + 2);
                end = end < 0 ? n : end + 2;
                Block b = new Block();
                String[] rows = s.substring(i, end).split("\n", -1);
                for (int k = 0; k < rows.length; k++) {
                    String row = rows[k];
                    if (k == 0) row = row.replaceFirst("^/\\*+!?", "");
                    if (k == rows.length - 1) row = row.replaceFirst("\\*+/$", "");
                    row = row.replaceFirst("^\\s*\\*+(?!/)", "");
                    b.add(line + k, row);
                }
                blocks.add(b);
                open = null;
                line += rows.length - 1;
                i = end;
            } else if (java && s.startsWith("\"\"\"", i)) {
                int j = i + 3;
                while (j < n && !s.startsWith("\"\"\"", j)) {
                    if (s.charAt(j) == '\\') j++;
                    else if (s.charAt(j) == '\n') line++;
                    j++;
                }
                i = Math.min(n, j + 3);
            } else if (c == '"' || c == '\'') {
                int j = i + 1;
                while (j < n && s.charAt(j) != c && s.charAt(j) != '\n') {
                    if (s.charAt(j) == '\\') j++;
                    j++;
                }
                i = j < n && s.charAt(j) == c ? j + 1 : j;
            } else {
                i++;
            }
        }
        return blocks;
    }

    /** Shell, Makefile, bnd and properties comments: whole # lines, and # after a space in scripts. */
    private static List<Block> hashComments(String s) {
        List<Block> blocks = new ArrayList<>();
        Block open = null;
        String[] rows = s.split("\n", -1);
        for (int k = 0; k < rows.length; k++) {
            String row = rows[k];
            int hash = commentStart(row);
            if (hash < 0 || row.startsWith("#!")) {
                open = null;
                continue;
            }
            if (open == null) {
                open = new Block();
                blocks.add(open);
            }
            open.add(k + 1, row.substring(hash).replaceFirst("^#+\\s?", ""));
            if (hash > 0 && !row.substring(0, hash).isBlank()) open = null;
        }
        return blocks;
    }

    /** Where a # comment starts on a row, or -1: at the start, or after white space outside quotes. */
    private static int commentStart(String row) {
        boolean single = false;
        boolean dbl = false;
        for (int i = 0; i < row.length(); i++) {
            char c = row.charAt(i);
            if (c == '\'' && !dbl) single = !single;
            else if (c == '"' && !single) dbl = !dbl;
            else if (c == '#' && !single && !dbl && (i == 0 || Character.isWhitespace(row.charAt(i - 1)))) {
                return i;
            }
        }
        return -1;
    }

    private static List<Block> xmlComments(String s) {
        List<Block> blocks = new ArrayList<>();
        int from = 0;
        while (true) {
            int start = s.indexOf("<!--", from);
            if (start < 0) return blocks;
            int end = s.indexOf("-->", start + 4);
            end = end < 0 ? s.length() : end;
            int line = 1 + (int) s.substring(0, start).chars().filter(ch -> ch == '\n').count();
            Block b = new Block();
            String[] rows = s.substring(start + 4, end).split("\n", -1);
            for (int k = 0; k < rows.length; k++) {
                b.add(line + k, rows[k]);
            }
            blocks.add(b);
            from = end + 3;
        }
    }

    /**
     * Markdown prose: everything outside fenced code blocks. Headings, list items, quotes
     * and table cells start new sentences; link targets are dropped, link texts kept.
     */
    private static List<Block> markdownProse(String s) {
        Block b = new Block();
        boolean fenced = false;
        String[] rows = s.split("\n", -1);
        for (int k = 0; k < rows.length; k++) {
            String row = rows[k];
            String trimmed = row.strip();
            if (trimmed.startsWith("```") || trimmed.startsWith("~~~")) {
                fenced = !fenced;
                b.add(k + 1, String.valueOf(BREAK));
                continue;
            }
            if (fenced) continue;
            String item = trimmed.replaceFirst("^(#{1,6}\\s|>\\s?|[-*+]\\s|\\d+[.)]\\s)", String.valueOf(BREAK));
            item = item.replace('|', BREAK)
                    .replaceAll("\\]\\([^)]*\\)", "]")
                    .replaceAll("<[^>]+>", " ");
            b.add(k + 1, item);
        }
        return List.of(b);
    }

    // ------------------------------------------------------------- sentences

    private static final Pattern JAVADOC_BREAK =
            Pattern.compile("(?i)(^|\\s)@(param|return|throws|exception|see|since|author|implNote|apiNote|implSpec)\\b"
                    + "|<\\s*/?\\s*(p|li|ul|ol|pre|h\\d|dl|dt|dd|table|tr|td|th|br)\\b[^>]*>");

    private static final Pattern INLINE_TAG = Pattern.compile("\\{@\\w+\\s+([^}]*)}");

    /**
     * Joins a block's lines into running text (an empty line is a paragraph break), then
     * cuts it at sentence ends. Each sentence gets the line its first character came from.
     */
    private static void split(Block b, List<Sentence> out) {
        StringBuilder text = new StringBuilder();
        List<Integer> lineOf = new ArrayList<>();
        for (int k = 0; k < b.lines().size(); k++) {
            String row = b.texts().get(k);
            row = INLINE_TAG.matcher(row).replaceAll(m -> Matcher.quoteReplacement(m.group(1)));
            row = JAVADOC_BREAK.matcher(row).replaceAll(String.valueOf(BREAK));
            if (row.isBlank()) row = String.valueOf(BREAK);
            for (int c = 0; c < row.length(); c++) {
                text.append(row.charAt(c));
                lineOf.add(b.lines().get(k));
            }
            text.append('\n');
            lineOf.add(b.lines().get(k));
        }
        Matcher m = SENTENCE_END.matcher(text);
        int start = 0;
        while (start < text.length()) {
            int end = text.length();
            int next = end;
            if (m.find(start)) {
                end = m.start();
                next = m.end();
            }
            emit(text, lineOf, start, end, out);
            start = next;
        }
    }

    private static void emit(CharSequence text, List<Integer> lineOf, int start, int end, List<Sentence> out) {
        while (start < end && Character.isWhitespace(text.charAt(start))) start++;
        if (start >= end) return;
        String sentence = text.subSequence(start, end).toString().replaceAll("\\s+", " ").strip();
        if (!sentence.isEmpty()) out.add(new Sentence(lineOf.get(start), sentence));
    }
}
