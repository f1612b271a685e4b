package org.lguest.conventions;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import org.junit.jupiter.api.Test;

/** The check's own check: extraction and matching on small samples, no repository needed. */
class SeedWordsTest {

    /** A stand-in seed in the seed's style: a tagged block comment, code, a line comment. */
    private static final String SEED = """
            /*X:100 The harbour master counts every boat
             * that enters the bay before the tide turns.
             */
            int count(struct boat *b) { return b->n; /* Small boats are counted twice. */ }
            // Nobody may moor a boat without asking the harbour master first.
            """;

    private final SeedWords seed = new SeedWords(SEED);

    @Test
    void aCopiedSentenceIsCaughtWithItsLine() {
        String java = """
                package x;

                class Harbour {
                    /**
                     * Counts boats.
                     * <p>
                     * X:100 The harbour master
                     * counts every boat that enters the bay
                     * before the tide turns.
                     */
                    int count() { return 0; }
                }
                """;
        List<SeedWords.Hit> hits = seed.hits("x/Harbour.java", java);
        assertEquals(1, hits.size(), hits.toString());
        assertEquals(7, hits.getFirst().line());
        assertTrue(hits.getFirst().sentence().startsWith("X:100 The harbour master"));
    }

    @Test
    void ourOwnSentenceIsNotCaught() {
        String java = """
                class Harbour {
                    // Each boat is counted once, on the way in; the count is only read by the shell.
                    int count;
                }
                """;
        assertEquals(List.of(), seed.hits("x/Harbour.java", java));
    }

    @Test
    void caseLineBreaksAndMarkersDoNotHideACopy() {
        String c = """
                int x; // NOBODY may moor a boat
                       // without asking the harbour master first!
                """;
        assertEquals(1, seed.hits("rt/x.c", c).size());
    }

    @Test
    void aCopiedClauseAfterAColonIsCaught() {
        assertTrue(seed.copied("the harbour master counts every boat that enters the bay"));
        assertEquals(1, seed.hits("x/A.java", "// Our rule: nobody may moor a boat without asking the harbour master first.\n").size());
    }

    @Test
    void shortSentencesAndStringsAreLeftAlone() {
        // Six words from the seed are a phrase, not a copy.
        assertFalse(seed.copied("small boats are counted twice"));
        String java = """
                class A {
                    String s = "/* Nobody may moor a boat without asking the harbour master first. */";
                    String t = \"""
                        // Nobody may moor a boat without asking the harbour master first.
                        \""";
                }
                """;
        assertEquals(List.of(), seed.hits("x/A.java", java));
    }

    @Test
    void markdownProseIsCheckedButItsCodeIsNot() {
        String md = """
                # Boats

                - Nobody may moor a boat without asking
                  the harbour master first.

                ```
                Nobody may moor a boat without asking the harbour master first.
                ```
                """;
        List<SeedWords.Hit> hits = seed.hits("NOTES.md", md);
        assertEquals(1, hits.size(), hits.toString());
        assertEquals(3, hits.getFirst().line());
    }

    @Test
    void hashAndXmlCommentsAreChecked() {
        assertEquals(1, seed.hits("bnd.bnd", "# Nobody may moor a boat without asking the harbour master first.\nX: y\n").size());
        assertEquals(1, seed.hits("pom.xml", "<a><!-- nobody may moor a boat\n without asking the harbour master first --></a>").size());
    }

    @Test
    void normalisingDropsTagsMarkersAndCase() {
        assertEquals("we grab the lock", Prose.normalise("/*L:010 We grab\n * the LOCK. */"));
    }
}
