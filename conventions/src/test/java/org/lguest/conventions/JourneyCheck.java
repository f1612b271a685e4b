package org.lguest.conventions;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.stream.Collectors;

/**
 * The rules that tie docs/journey.md to the code, as functions of what was read: each
 * returns the problems it finds, one line each, and an empty list when all is well.
 * JourneyTest runs them on the repository; JourneyRulesTest on small broken samples.
 */
final class JourneyCheck {

    private final String doc;
    private final List<JourneyTags.Tag> codeTags;
    private final List<JourneyMap.Step> steps;

    /** @param doc the journey's path, for messages */
    JourneyCheck(String doc, List<JourneyTags.Tag> codeTags, List<JourneyMap.Step> steps) {
        this.doc = doc;
        this.codeTags = codeTags;
        this.steps = steps;
    }

    /** A tag that opens comments in two places: one of them must be renumbered. */
    List<String> tagsUsedTwice() {
        Map<String, List<JourneyTags.Tag>> byTag = codeTags.stream()
                .collect(Collectors.groupingBy(JourneyTags.Tag::tag, TreeMap::new, Collectors.toList()));
        return byTag.values().stream().filter(places -> places.size() > 1)
                .map(places -> places.stream().map(Object::toString).collect(Collectors.joining("; ")))
                .toList();
    }

    /** Steps numbered 1, 2, 3 in order, each opening with a tag no earlier step owns. */
    List<String> stepOrder() {
        List<String> problems = new ArrayList<>();
        Set<String> owned = new LinkedHashSet<>();
        for (int i = 0; i < steps.size(); i++) {
            JourneyMap.Step s = steps.get(i);
            String at = doc + ":" + s.line() + ": step " + s.number();
            if (s.number() != i + 1) problems.add(at + " should be step " + (i + 1));
            if (s.tags().isEmpty()) problems.add(at + " opens with no tag");
            for (String tag : s.tags()) {
                if (!owned.add(tag)) problems.add(at + ": " + tag + " is owned by an earlier step too");
            }
        }
        return problems;
    }

    /** Every tag in the code is owned by a step, and every tag the journey names is in the code. */
    List<String> coverage(String markdown) {
        Set<String> inCode = codeTags.stream().map(JourneyTags.Tag::tag).collect(Collectors.toSet());
        Set<String> owned = steps.stream().flatMap(s -> s.tags().stream()).collect(Collectors.toSet());
        List<String> problems = new ArrayList<>();
        for (JourneyTags.Tag t : codeTags) {
            if (!owned.contains(t.tag())) problems.add(t + " is in no step of " + doc);
        }
        for (String tag : JourneyMap.mentionedTags(markdown)) {
            if (!inCode.contains(tag)) problems.add(doc + " names " + tag + ", which no comment in the code opens with");
        }
        return problems;
    }

    /** Each step but the last points to the next step's first tag, in the file that holds it. */
    List<String> pointers() {
        Map<String, JourneyTags.Tag> where = new LinkedHashMap<>();
        codeTags.forEach(t -> where.putIfAbsent(t.tag(), t));
        List<String> problems = new ArrayList<>();
        for (int i = 0; i < steps.size(); i++) {
            JourneyMap.Step s = steps.get(i);
            String at = doc + ":" + s.line() + ": step " + s.number();
            if (i == steps.size() - 1) {
                if (s.nextTag() != null) problems.add(at + " is the last, yet points on to " + s.nextTag());
                continue;
            }
            JourneyMap.Step following = steps.get(i + 1);
            if (s.nextTag() == null) {
                problems.add(at + " has no \"Next: `X:nnn` (File)\" pointer");
            } else if (!following.tags().isEmpty() && !s.nextTag().equals(following.tags().getFirst())) {
                problems.add(at + " points to " + s.nextTag() + ", but step " + following.number() + " starts with "
                        + following.tags().getFirst());
            } else if (where.containsKey(s.nextTag()) && !where.get(s.nextTag()).fileName().equals(s.nextFile())) {
                problems.add(at + " says " + s.nextTag() + " is in " + s.nextFile() + "; it is at " + where.get(s.nextTag()));
            }
        }
        return problems;
    }

    /** Each name quoted in backticks that the code no longer has. */
    static List<String> missingNames(Set<String> codeSpans, SourceNames names) {
        List<String> problems = new ArrayList<>();
        for (String span : codeSpans) {
            if (!SourceNames.isName(span)) continue;
            String missing = names.missing(span);
            if (missing != null) problems.add("`" + span + "`: " + missing);
        }
        return problems;
    }
}
