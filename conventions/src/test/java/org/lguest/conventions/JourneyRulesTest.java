package org.lguest.conventions;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import java.util.Map;
import java.util.Set;
import org.junit.jupiter.api.Test;

/** JourneyTest's rules on small samples: what counts as a tag, a step, a pointer and a name. */
class JourneyRulesTest {

    private static List<String> tags(String file, String content) {
        return JourneyTags.inSource(file, content).stream().map(JourneyTags.Tag::tag).toList();
    }

    @Test
    void aTagOpeningACommentLineMarksAStepWithItsLine() {
        String java = """
                class Harbour {
                    /*B:010
                     * The boat comes in.
                     */
                    void arrive() {
                        // B:020 It is counted.
                        count++;
                        /* B:030 And moored. */
                    }
                    /**
                     * Leaves.
                     * B:040 The tide decides when.
                     */
                    void leave() {}
                }
                """;
        List<JourneyTags.Tag> found = JourneyTags.inSource("h/Harbour.java", java);
        assertEquals(List.of("B:010", "B:020", "B:030", "B:040"), found.stream().map(JourneyTags.Tag::tag).toList());
        assertEquals(List.of(2, 6, 8, 12), found.stream().map(JourneyTags.Tag::line).toList());
        assertEquals("Harbour.java", found.getFirst().fileName());
    }

    @Test
    void aMentionACodeTokenOrAStringMarksNothing() {
        String java = """
                class Harbour {
                    // The count (see B:010) happens first.
                    String s = "/*B:050 not a comment */";
                    char c = 'B'; int B = 0; // the B:060 here is a mention too
                    int x = B:070;
                }
                """;
        assertEquals(List.of(), tags("h/Harbour.java", java));
    }

    @Test
    void cAndAssemblyCommentsCountAsJavaDoes() {
        assertEquals(List.of("G:010"), tags("rt/rt.c", "/*G:010 The guest says hello. */\nvoid say(void);\n"));
        assertEquals(List.of("G:020"), tags("rt/entry.S", "    /* G:020 Back from a trap. */\n    iret\n"));
        assertEquals(List.of(), tags("notes.txt", "/*G:030 not a source */\n"));
    }

    @Test
    void onlyMainSourcesCanHoldTags() {
        assertTrue(JourneyTags.isSource("lguest.launcher/src/main/java/org/x/Launcher.java"));
        assertTrue(JourneyTags.isSource("lguest.guest/src/main/guest/rt/entry.S"));
        assertFalse(JourneyTags.isSource("lguest.launcher/src/test/java/org/x/LauncherTest.java"));
        assertFalse(JourneyTags.isSource("docs/journey.md"));
    }

    private static final String MAP = """
            # A walk

            ## I. In (`harbour`)
            1. `B:010` `B:020` The boat comes in
               (`Harbour.arrive`) and is counted.
               Next: `B:030` (Harbour.java).
            2. `B:030` Moored.
               Next: `B:040` (Quay.java).

            Some prose that is not a step, with a `B:030` mention.

            3. `B:040` It leaves.
            4. No tag here.
            """;

    @Test
    void stepsOwnTheTagsTheyOpenWithAndPointOn() {
        List<JourneyMap.Step> steps = JourneyMap.steps(MAP);
        assertEquals(4, steps.size());
        JourneyMap.Step first = steps.getFirst();
        assertEquals(1, first.number());
        assertEquals(4, first.line());
        assertEquals(List.of("B:010", "B:020"), first.tags());
        assertEquals("B:030", first.nextTag());
        assertEquals("Harbour.java", first.nextFile());
        assertTrue(first.text().contains("(`Harbour.arrive`) and is counted."), first.text());
        assertEquals("Quay.java", steps.get(1).nextFile());
        assertNull(steps.get(2).nextTag());
        assertEquals(List.of(), steps.get(3).tags());
        assertEquals(Set.of("B:010", "B:020", "B:030", "B:040"), JourneyMap.mentionedTags(MAP));
    }

    @Test
    void aTagInsideTheTextIsAMentionNotOwned() {
        JourneyMap.Step s = JourneyMap.steps("1. The boat (`B:010`) comes in.\n").getFirst();
        assertEquals(List.of(), s.tags());
    }

    @Test
    void codeSpansMayWrapButFencedBlocksAreSkipped() {
        String md = "The `Harbour.arrive`\nand `Quay.moor\n  (boat)` calls.\n```\n`Fenced.out`\n```\n";
        assertEquals(List.of("Harbour.arrive", "Quay.moor (boat)"), List.copyOf(JourneyMap.codeSpans(md)));
    }

    private final SourceNames names = new SourceNames(Map.of(
            "h/src/main/java/org/lguest/harbour/Harbour.java", """
                    package org.lguest.harbour;
                    class Harbour {
                        void arrive(Boat b) { countBoats(); }
                        enum Tide { HIGH, LOW }
                        record Berth(int n) {}
                    }
                    """,
            "rt/quay.c", "void moor_boat(int n)\n{\n}\n"),
            List.of("h/src/main/java/org/lguest/harbour/Harbour.java", "rt/quay.c", "lguest.harbour/bnd.bnd"));

    @Test
    void namesThatExistPass() {
        for (String name : List.of("Harbour", "Berth", "Harbour.arrive", "Harbour.arrive(boat)", "Harbour.Tide",
                "countBoats", "arrive()", "moor_boat()", "lguest.harbour", "org.lguest.harbour")) {
            assertTrue(SourceNames.isName(name), name);
            assertNull(names.missing(name), name);
        }
    }

    @Test
    void namesThatAreGoneFail() {
        for (String name : List.of("Quay", "Harbour.leave", "Quay.moor", "Harbour.Wind", "countShips", "sail()",
                "lguest.quay", "org.lguest.quay")) {
            assertTrue(SourceNames.isName(name), name);
            assertNotNull(names.missing(name), name);
        }
    }

    @Test
    void proseInBackticksIsNotTakenForAName() {
        for (String span : List.of("LHREQ_INITIALIZE", "lguest:launch hello", "irq_enabled", "hello", "EFAULT",
                "\"CRASH: \"", "int $0x1f", "Lguest-Images:", "B:010")) {
            assertFalse(SourceNames.isName(span), span);
        }
    }

    // ------------------------------------------------------------ the checks

    private static JourneyTags.Tag at(String tag, String file) {
        return new JourneyTags.Tag(tag, file, 1);
    }

    private static final List<JourneyTags.Tag> CODE = List.of(
            at("B:010", "h/Harbour.java"), at("B:020", "h/Harbour.java"), at("B:030", "h/Quay.java"));

    private static final String GOOD = """
            1. `B:010` `B:020` In.
               Next: `B:030` (Quay.java).
            2. `B:030` Moored.
            """;

    private static JourneyCheck check(List<JourneyTags.Tag> code, String md) {
        return new JourneyCheck("j.md", code, JourneyMap.steps(md));
    }

    @Test
    void aConsistentJourneyHasNoProblems() {
        JourneyCheck c = check(CODE, GOOD);
        assertEquals(List.of(), c.tagsUsedTwice());
        assertEquals(List.of(), c.stepOrder());
        assertEquals(List.of(), c.coverage(GOOD));
        assertEquals(List.of(), c.pointers());
    }

    @Test
    void aTagInTwoPlacesIsReported() {
        List<JourneyTags.Tag> code = List.of(at("B:010", "h/Harbour.java"), at("B:010", "h/Quay.java"));
        List<String> twice = check(code, GOOD).tagsUsedTwice();
        assertEquals(1, twice.size(), twice.toString());
        assertTrue(twice.getFirst().contains("Harbour.java") && twice.getFirst().contains("Quay.java"), twice.toString());
    }

    @Test
    void tagsMissingOnEitherSideAreReported() {
        List<JourneyTags.Tag> code = List.of(at("B:010", "h/Harbour.java"), at("B:030", "h/Quay.java"),
                at("B:099", "h/Quay.java"));
        List<String> problems = check(code, GOOD).coverage(GOOD);
        assertEquals(2, problems.size(), problems.toString());
        assertTrue(problems.get(0).startsWith("B:099 at h/Quay.java:1 is in no step"), problems.toString());
        assertTrue(problems.get(1).contains("names B:020"), problems.toString());
    }

    @Test
    void badNumberingAMissingTagAndATagOwnedTwiceAreReported() {
        String md = "1. `B:010` In.\n3. `B:010` Again.\n4. Nothing.\n";
        List<String> problems = check(CODE, md).stepOrder();
        assertEquals(List.of("j.md:2: step 3 should be step 2", "j.md:2: step 3: B:010 is owned by an earlier step too",
                "j.md:3: step 4 should be step 3", "j.md:3: step 4 opens with no tag"), problems);
    }

    @Test
    void aPointerToTheWrongStepOrFileOrNoneIsReported() {
        String wrongFile = GOOD.replace("(Quay.java)", "(Harbour.java)");
        assertEquals(1, check(CODE, wrongFile).pointers().size());
        String wrongTag = GOOD.replace("Next: `B:030`", "Next: `B:020`");
        assertTrue(check(CODE, wrongTag).pointers().getFirst().contains("step 2 starts with B:030"));
        String none = GOOD.replace("   Next: `B:030` (Quay.java).\n", "");
        assertTrue(check(CODE, none).pointers().getFirst().contains("has no"));
        String pastTheEnd = GOOD + "   Next: `B:010` (Harbour.java).\n";
        assertTrue(check(CODE, pastTheEnd).pointers().getFirst().contains("is the last"));
    }

    @Test
    void onlyQuotedNamesThatAreGoneAreReported() {
        List<String> problems = JourneyCheck.missingNames(
                Set.of("Harbour.arrive", "Harbour.leave", "LHREQ_INITIALIZE"), names);
        assertEquals(List.of("`Harbour.leave`: no method leave in h/src/main/java/org/lguest/harbour/Harbour.java"),
                problems);
    }
}
