package org.lguest.conventions;

import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import java.io.IOException;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.stream.Collectors;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * docs/journey.md and the tags in the code tell one story: each tag marks one place in
 * the code, each step of the journey owns the tags of its places, each pointer leads to
 * the next step's first tag in the file that holds it, and every name the journey quotes
 * from the code is still there.
 */
class JourneyTest {

    static final String JOURNEY = "docs/journey.md";

    private static List<String> files;
    /** Every Java and C-like file, tests too: the journey may name a test; only main sources hold tags. */
    private static Map<String, String> sources;
    private static List<JourneyTags.Tag> codeTags;
    private static String journey;
    private static List<JourneyMap.Step> steps;

    @BeforeAll
    static void read() throws IOException {
        Path root = Repository.root();
        files = Repository.files(root);
        sources = new LinkedHashMap<>();
        codeTags = new ArrayList<>();
        for (String file : files) {
            Prose.Kind kind = Prose.kind(file, "");
            if (kind != Prose.Kind.JAVA && kind != Prose.Kind.C_LIKE) continue;
            String content;
            try {
                content = Files.readString(root.resolve(file), StandardCharsets.UTF_8);
            } catch (CharacterCodingException binary) {
                continue;
            }
            sources.put(file, content);
            if (JourneyTags.isSource(file)) codeTags.addAll(JourneyTags.inSource(file, content));
        }
        journey = Files.readString(root.resolve(JOURNEY), StandardCharsets.UTF_8);
        steps = JourneyMap.steps(journey);
        assertFalse(codeTags.isEmpty(), "found no journey tags in the sources");
        assertFalse(steps.isEmpty(), "found no numbered steps in " + JOURNEY);
    }

    @Test
    void eachTagMarksOnePlace() {
        Map<String, List<JourneyTags.Tag>> byTag = codeTags.stream()
                .collect(Collectors.groupingBy(JourneyTags.Tag::tag, TreeMap::new, Collectors.toList()));
        String twice = byTag.values().stream().filter(places -> places.size() > 1)
                .map(places -> "  " + places.stream().map(Object::toString).collect(Collectors.joining("; ")))
                .collect(Collectors.joining("\n"));
        assertTrue(twice.isEmpty(), "journey tags used more than once (renumber one of each):\n" + twice);
    }

    @Test
    void stepsAreNumberedInOrderAndEachOwnsTags() {
        List<String> problems = new ArrayList<>();
        Set<String> owned = new LinkedHashSet<>();
        for (int i = 0; i < steps.size(); i++) {
            JourneyMap.Step s = steps.get(i);
            if (s.number() != i + 1) problems.add(JOURNEY + ":" + s.line() + ": step " + s.number() + " should be " + (i + 1));
            if (s.tags().isEmpty()) problems.add(JOURNEY + ":" + s.line() + ": step " + s.number() + " opens with no tag");
            for (String tag : s.tags()) {
                if (!owned.add(tag)) problems.add(JOURNEY + ":" + s.line() + ": " + tag + " is owned by an earlier step too");
            }
        }
        assertTrue(problems.isEmpty(), String.join("\n", problems));
    }

    @Test
    void everyTagInTheCodeIsAStepAndEveryStepIsInTheCode() {
        Set<String> inCode = codeTags.stream().map(JourneyTags.Tag::tag).collect(Collectors.toCollection(LinkedHashSet::new));
        Set<String> owned = steps.stream().flatMap(s -> s.tags().stream()).collect(Collectors.toSet());
        List<String> problems = new ArrayList<>();
        for (JourneyTags.Tag t : codeTags) {
            if (!owned.contains(t.tag())) problems.add("  " + t + " is in no step of " + JOURNEY);
        }
        for (String tag : JourneyMap.mentionedTags(journey)) {
            if (!inCode.contains(tag)) problems.add("  " + JOURNEY + " names " + tag + ", which no comment in the code opens with");
        }
        assertTrue(problems.isEmpty(), "the journey and the code disagree:\n" + String.join("\n", problems));
    }

    @Test
    void eachPointerLeadsToTheNextStep() {
        Map<String, JourneyTags.Tag> where = new LinkedHashMap<>();
        codeTags.forEach(t -> where.putIfAbsent(t.tag(), t));
        List<String> problems = new ArrayList<>();
        for (int i = 0; i < steps.size(); i++) {
            JourneyMap.Step s = steps.get(i);
            String at = JOURNEY + ":" + s.line() + ": step " + s.number();
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
        assertTrue(problems.isEmpty(), String.join("\n", problems));
    }

    @Test
    void everyNameTheJourneyQuotesIsInTheCode() {
        SourceNames names = new SourceNames(sources, files);
        List<String> problems = new ArrayList<>();
        int checked = 0;
        for (String span : JourneyMap.codeSpans(journey)) {
            if (!SourceNames.isName(span)) continue;
            checked++;
            String missing = names.missing(span);
            if (missing != null) problems.add("  `" + span + "`: " + missing);
        }
        assertTrue(checked > 0, JOURNEY + " quotes no names at all");
        if (!problems.isEmpty()) {
            fail(JOURNEY + " quotes names the code no longer has (rename them there, or cite a tag):\n"
                    + String.join("\n", problems));
        }
    }
}
