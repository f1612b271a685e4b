package org.lguest.conventions;

import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Collectors;
import org.junit.jupiter.api.Test;

/**
 * The seed (lguest_user.c, kept beside the repository) is our specification, not our
 * text: no comment or doc sentence of seven words or more may repeat it.
 */
class OurOwnWordsTest {

    /** Where the seed lives, relative to the repository root; CI checks it out there. */
    static final String SEED = "../shared/seeds/lguest_user.c";

    @Test
    void noCommentRepeatsTheSeed() throws IOException {
        Path root = Repository.root();
        Path seedFile = root.resolve(SEED).normalize();
        assumeTrue(Files.isRegularFile(seedFile), "no seed beside the repository: " + SEED);
        SeedWords seed = new SeedWords(Files.readString(seedFile, StandardCharsets.UTF_8));

        List<SeedWords.Hit> hits = new ArrayList<>();
        int checked = 0;
        for (Repository.TextFile text : Repository.textFiles(root)) {
            if (Prose.kind(text.name(), text.content()) == Prose.Kind.NONE) continue;
            checked++;
            hits.addAll(seed.hits(text.name(), text.content()));
        }
        assertTrue(checked > 0, "found no files to check under the repository root");
        if (!hits.isEmpty()) {
            fail(hits.size() + " sentence(s) repeat the seed word for word; say it in our own words:\n"
                + hits.stream().map(h -> "  " + h).collect(Collectors.joining("\n")));
        }
    }
}
