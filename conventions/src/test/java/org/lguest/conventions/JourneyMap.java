package org.lguest.conventions;

import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * What docs/journey.md says, read as data: its numbered steps, the tags each one owns,
 * where each says the walk goes next, and the names it quotes in backticks.
 * <p>
 * A step is a Markdown list item {@code 12. ...} with the lines indented under it; a
 * blank line, a heading or the next item ends it. The tags it owns open its text, each
 * in backticks ({@code 12. `S:010` `S:020` The engine ...}). Its pointer reads
 * {@code Next: `S:030` (UnicornVcpu.java)}: the tag the following step starts with, and
 * the file that tag is in.
 */
final class JourneyMap {

    /** One step: its number, the line it starts on, the tags it owns, its pointer (or nulls) and its text. */
    record Step(int number, int line, List<String> tags, String nextTag, String nextFile, String text) {}

    private static final Pattern ITEM = Pattern.compile("^(\\d+)\\.\\s+(.*)$");
    private static final Pattern OWNED = Pattern.compile("^`([A-Z]:\\d{3})`[\\s,]*");
    private static final Pattern NEXT = Pattern.compile("Next: `([A-Z]:\\d{3})` \\(([^()\\s]+)\\)");
    private static final Pattern CODE_SPAN = Pattern.compile("`([^`]+)`");

    private JourneyMap() {}

    static List<Step> steps(String markdown) {
        List<Step> steps = new ArrayList<>();
        String[] rows = markdown.replace("\r\n", "\n").split("\n", -1);
        boolean fenced = false;
        int number = -1;
        int start = 0;
        StringBuilder text = null;
        for (int k = 0; k < rows.length; k++) {
            String row = rows[k];
            if (row.strip().startsWith("```")) fenced = !fenced;
            Matcher item = fenced ? null : ITEM.matcher(row);
            boolean ends = fenced || row.isBlank() || row.startsWith("#") || (item != null && item.matches())
                    || !Character.isWhitespace(row.charAt(0));
            if (text != null && ends) {
                steps.add(step(number, start, text.toString()));
                text = null;
            }
            if (item != null && item.matches()) {
                number = Integer.parseInt(item.group(1));
                start = k + 1;
                text = new StringBuilder(item.group(2));
            } else if (text != null) {
                text.append(' ').append(row.strip());
            }
        }
        if (text != null) steps.add(step(number, start, text.toString()));
        return steps;
    }

    private static Step step(int number, int line, String text) {
        List<String> owned = new ArrayList<>();
        Matcher m = OWNED.matcher(text);
        int at = 0;
        while (m.region(at, text.length()).lookingAt()) {
            owned.add(m.group(1));
            at = m.end();
        }
        Matcher next = NEXT.matcher(text);
        boolean hasNext = next.find();
        return new Step(number, line, List.copyOf(owned), hasNext ? next.group(1) : null,
                hasNext ? next.group(2) : null, text);
    }

    /** Every tag the document mentions, owned or pointed at, in order of first mention. */
    static Set<String> mentionedTags(String markdown) {
        Set<String> tags = new LinkedHashSet<>();
        Matcher m = JourneyTags.TAG.matcher(markdown);
        while (m.find()) tags.add(m.group());
        return tags;
    }

    /**
     * The contents of every code span outside fenced blocks, in order, each once. A span
     * may wrap onto the next line; its white space is taken as one space.
     */
    static Set<String> codeSpans(String markdown) {
        StringBuilder prose = new StringBuilder();
        boolean fenced = false;
        for (String row : markdown.replace("\r\n", "\n").split("\n")) {
            if (row.strip().startsWith("```")) {
                fenced = !fenced;
                prose.append('\n');
                continue;
            }
            if (!fenced) prose.append(row).append('\n');
        }
        Set<String> spans = new LinkedHashSet<>();
        Matcher m = CODE_SPAN.matcher(prose);
        while (m.find()) spans.add(m.group(1).strip().replaceAll("\\s+", " "));
        return spans;
    }
}
