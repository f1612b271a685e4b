package org.lguest.conventions;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.fail;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;
import org.junit.jupiter.api.Test;

/**
 * Every module has a README.md with the same six headings, so a newcomer finds the same
 * things in the same place in each. The modules are read from the poms: those the root
 * pom.xml lists, and those each of them lists in turn.
 */
class ModuleReadmeTest {

    @Test
    void everyModuleHasAReadmeWithTheSixHeadingsInOrder() throws IOException {
        Path root = Repository.root();
        assertFalse(Modules.listedIn(root.resolve("pom.xml")).isEmpty(), "the root pom.xml lists no modules");
        Set<String> modules = new TreeSet<>(Modules.reactor(root));

        List<String> failures = new ArrayList<>();
        for (String module : modules) {
            Path readme = root.resolve(module).resolve("README.md");
            if (!Files.isRegularFile(readme)) {
                failures.add(module + ": no README.md");
                continue;
            }
            for (String problem : ReadmeHeadings.problems(Files.readString(readme, StandardCharsets.UTF_8))) {
                failures.add(module + "/README.md: " + problem);
            }
        }
        if (!failures.isEmpty()) {
            fail("module READMEs need these '## ' headings in order " + ReadmeHeadings.REQUIRED + ":\n  "
                    + String.join("\n  ", failures));
        }
    }

    @Test
    void headingsInOrderPass() {
        assertEquals(List.of(), ReadmeHeadings.problems(readme(ReadmeHeadings.REQUIRED)));
    }

    @Test
    void extraHeadingsBetweenAndBelowAreAllowed() {
        String text = "# m\n\n## What it does\n## Commands\n## How it differs from lguest\n## What it depends on\n"
                + "## Threads and locks\n### Locks\n## Tests\n## Limits\n## See also\n";
        assertEquals(List.of(), ReadmeHeadings.problems(text));
    }

    @Test
    void aMissingHeadingIsNamed() {
        List<String> noTests = new ArrayList<>(ReadmeHeadings.REQUIRED);
        noTests.remove("Tests");
        assertEquals(List.of("no '## Tests'"), ReadmeHeadings.problems(readme(noTests)));
    }

    @Test
    void headingsOutOfOrderAreNamed() {
        List<String> swapped = new ArrayList<>(ReadmeHeadings.REQUIRED);
        swapped.set(4, "Limits");
        swapped.set(5, "Tests");
        assertEquals(List.of("'## Limits' comes before '## Tests'"), ReadmeHeadings.problems(readme(swapped)));
    }

    @Test
    void aRepeatedHeadingIsNamed() {
        List<String> twice = new ArrayList<>(ReadmeHeadings.REQUIRED);
        twice.add("Limits");
        assertEquals(List.of("'## Limits' appears more than once"), ReadmeHeadings.problems(readme(twice)));
    }

    @Test
    void headingsInsideCodeFencesAndOtherLevelsDoNotCount() {
        String fenced = "```\n" + readme(ReadmeHeadings.REQUIRED) + "```\n";
        assertEquals(6, ReadmeHeadings.problems(fenced).size());
        String third = readme(ReadmeHeadings.REQUIRED).replace("## ", "### ");
        assertEquals(6, ReadmeHeadings.problems(third).size());
    }

    @Test
    void modulesAreReadFromThePom(@org.junit.jupiter.api.io.TempDir Path dir) throws IOException {
        Path pom = dir.resolve("pom.xml");
        Files.writeString(pom, """
                <project xmlns="http://maven.apache.org/POM/4.0.0">
                  <artifactId>x</artifactId>
                  <modules>
                    <module>a</module>
                    <module> b.c </module>
                  </modules>
                  <profiles><profile><modules><module>not-this</module></modules></profile></profiles>
                </project>
                """);
        assertEquals(List.of("a", "b.c"), Modules.listedIn(pom));
    }

    @Test
    void theReactorIncludesNestedModulesButNotUnlistedPoms(@org.junit.jupiter.api.io.TempDir Path dir) throws IOException {
        pom(dir, "a", "examples");
        pom(dir.resolve("a"));
        pom(dir.resolve("examples"), "one", "../b");
        pom(dir.resolve("examples/one"));
        pom(dir.resolve("examples/invoker-only")); // a pom no reactor pom lists
        pom(dir.resolve("b"));
        assertEquals(List.of("a", "examples", "examples/one", "b"), Modules.reactor(dir));
    }

    private static void pom(Path dir, String... modules) throws IOException {
        Files.createDirectories(dir);
        StringBuilder xml = new StringBuilder("<project><artifactId>x</artifactId><modules>");
        for (String m : modules) xml.append("<module>").append(m).append("</module>");
        Files.writeString(dir.resolve("pom.xml"), xml.append("</modules></project>").toString());
    }

    private static String readme(List<String> headings) {
        StringBuilder b = new StringBuilder("# module\n\nIntro.\n\n");
        for (String h : headings) b.append("## ").append(h).append("\n\nText.\n\n");
        return b.toString();
    }
}
