package org.lguest.conventions;

import java.util.ArrayList;
import java.util.List;

/**
 * The matching rule: a sentence of ours is a copy when, normalised, it has at least
 * {@link #MIN_WORDS} words and occurs word for word in the normalised seed.
 */
final class SeedWords {

    /** Shorter runs are names and stock phrases ("the Guest's page tables"), not prose. */
    static final int MIN_WORDS = 7;

    /** Where a copied sentence sits: file, line, and the sentence as we wrote it. */
    record Hit(String file, int line, String sentence) {
        @Override
        public String toString() {
            return file + ":" + line + ": " + sentence;
        }
    }

    private final String seed;

    /** @param seedText the whole seed file: comments and code alike */
    SeedWords(String seedText) {
        this.seed = " " + Prose.normalise(seedText) + " ";
    }

    boolean copied(String sentence) {
        String n = Prose.normalise(sentence);
        return Prose.words(n) >= MIN_WORDS && seed.contains(" " + n + " ");
    }

    /** The sentences of one file that the seed already says. */
    List<Hit> hits(String file, String content) {
        List<Hit> hits = new ArrayList<>();
        for (Prose.Sentence s : Prose.sentences(file, content)) {
            if (copied(s.text())) hits.add(new Hit(file, s.line(), s.text()));
        }
        return hits;
    }
}
