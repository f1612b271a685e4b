package org.lguest.conventions;

import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * docs/journey.md and the tags in the code tell one story: each tag marks one place in
 * the code, each step of the journey owns the tags of its places, each pointer leads to
 * the next step's first tag in the file that holds it, and every name the journey quotes
 * from the code is still there. The rules are JourneyCheck's; this runs them on the
 * repository.
 */
class JourneyTest {

    static final String JOURNEY = "docs/journey.md";

    private static List<String> files;
    /** Every Java and C-like file, tests too: the journey may name a test; only main sources hold tags. */
    private static Map<String, String> sources;
    private static String journey;
    private static JourneyCheck check;

    @BeforeAll
    static void read() throws IOException {
        Path root = Repository.root();
        files = Repository.files(root);
        sources = new LinkedHashMap<>();
        List<JourneyTags.Tag> codeTags = new ArrayList<>();
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
        List<JourneyMap.Step> steps = JourneyMap.steps(journey);
        assertFalse(codeTags.isEmpty(), "found no journey tags in the sources");
        assertFalse(steps.isEmpty(), "found no numbered steps in " + JOURNEY);
        check = new JourneyCheck(JOURNEY, codeTags, steps);
    }

    private static void none(List<String> problems, String what) {
        assertTrue(problems.isEmpty(), what + ":\n  " + String.join("\n  ", problems));
    }

    @Test
    void eachTagMarksOnePlace() {
        none(check.tagsUsedTwice(), "journey tags used more than once (renumber one of each)");
    }

    @Test
    void stepsAreNumberedInOrderAndEachOwnsTags() {
        none(check.stepOrder(), JOURNEY + "'s steps");
    }

    @Test
    void everyTagInTheCodeIsAStepAndEveryStepIsInTheCode() {
        none(check.coverage(journey), "the journey and the code disagree");
    }

    @Test
    void eachPointerLeadsToTheNextStep() {
        none(check.pointers(), JOURNEY + "'s Next pointers");
    }

    @Test
    void everyNameTheJourneyQuotesIsInTheCode() {
        Set<String> spans = JourneyMap.codeSpans(journey);
        assertTrue(spans.stream().anyMatch(SourceNames::isName), JOURNEY + " quotes no names at all");
        none(JourneyCheck.missingNames(spans, new SourceNames(sources, files)),
                JOURNEY + " quotes names the code no longer has (rename them there, or cite a tag)");
    }
}
