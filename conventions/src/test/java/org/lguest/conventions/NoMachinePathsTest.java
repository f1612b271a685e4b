package org.lguest.conventions;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Collectors;
import org.junit.jupiter.api.Test;

/**
 * No committed text names a folder of the machine it was written on: such a path means
 * nothing on the next one. The rule is {@link MachinePaths}'s. The samples below build their
 * paths from pieces, so this file does not trip its own check.
 */
class NoMachinePathsTest {

    private static final String WORK = "/" + "work";
    private static final String ROOT = "/" + "root";
    private static final String HOME = "/" + "home";
    private static final String TMP = "/" + "tmp";

    @Test
    void noCommittedFileNamesAMachinePath() throws IOException {
        Path root = Repository.root();
        List<MachinePaths.Hit> hits = new ArrayList<>();
        int checked = 0;
        for (Repository.TextFile text : Repository.textFiles(root)) {
            checked++;
            hits.addAll(MachinePaths.in(text.name(), text.content()));
        }
        assertTrue(checked > 0, "found no files to check under the repository root");
        if (!hits.isEmpty()) {
            fail(hits.size() + " machine path(s); say it relative to the repository or use a variable:\n"
                    + hits.stream().map(h -> "  " + h).collect(Collectors.joining("\n")));
        }
    }

    @Test
    void pathsUnderTheWorkTreeRootAndHomesAreFound() {
        String text = "see " + WORK + "/wt/core/README.md\n"
                + "cd " + ROOT + "/.m2\n"
                + "`" + HOME + "/alice/src`\n"
                + "PATH=" + "/Users" + "/bob/bin\n";
        assertEquals(List.of(
                        WORK + "/wt/core/README.md",
                        ROOT + "/.m2",
                        HOME + "/alice/src",
                        "/Users" + "/bob/bin"),
                paths(text));
        assertEquals(List.of(1, 2, 3, 4), MachinePaths.in("f", text).stream().map(MachinePaths.Hit::line).toList());
    }

    @Test
    void aNamedEntryInTheTempFolderIsFound() {
        assertEquals(List.of(TMP + "/probe.c", TMP + "/lguest-run/out.log"),
                paths("cc " + TMP + "/probe.c; tail \"" + TMP + "/lguest-run/out.log\""));
    }

    @Test
    void fileUrlsAreFound() {
        assertEquals(List.of(WORK + "/x.html"), paths("open file://" + WORK + "/x.html"));
    }

    @Test
    void mktempTemplatesAndTempDirFallbacksPass() {
        assertEquals(List.of(), paths("d=$(mktemp -d \"${TMPDIR:-" + TMP + "}/lguest.XXXXXX\")"));
        assertEquals(List.of(), paths("f=$(mktemp " + TMP + "/bench.XXXXXX)"));
        assertEquals(List.of(), paths("files go to " + TMP + " or " + TMP + "/ unless TMPDIR is set"));
    }

    @Test
    void pathsGluedToSomethingElsePass() {
        assertEquals(List.of(), paths("https://example.org" + HOME + "/alice/page"));
        assertEquals(List.of(), paths("${project.basedir}" + WORK + "/x"));
        assertEquals(List.of(), paths("src/main" + ROOT + "/x and a" + TMP + "/b"));
    }

    @Test
    void bareFolderNamesPass() {
        assertEquals(List.of(), paths("the " + HOME + "/ folder, " + WORK + " and " + ROOT));
    }

    private static List<String> paths(String text) {
        return MachinePaths.in("sample", text).stream().map(MachinePaths.Hit::path).toList();
    }
}
