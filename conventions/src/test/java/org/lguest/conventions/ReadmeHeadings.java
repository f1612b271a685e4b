package org.lguest.conventions;

import java.util.ArrayList;
import java.util.List;

/** The second-level headings every module's README.md has, and how a README is checked for them. */
final class ReadmeHeadings {

    /** In this order; other headings may sit between or below them. */
    static final List<String> REQUIRED = List.of(
            "What it does",
            "How it differs from lguest",
            "What it depends on",
            "Threads and locks",
            "Tests",
            "Limits");

    private ReadmeHeadings() {}

    /** The text of each "## " heading outside fenced code blocks, in file order. */
    static List<String> secondLevel(String markdown) {
        List<String> out = new ArrayList<>();
        boolean fenced = false;
        for (String line : markdown.replace("\r\n", "\n").split("\n")) {
            String stripped = line.strip();
            if (stripped.startsWith("```") || stripped.startsWith("~~~")) {
                fenced = !fenced;
            } else if (!fenced && line.startsWith("## ")) {
                out.add(line.substring(3).strip());
            }
        }
        return out;
    }

    /** What is wrong with a README's headings, or an empty list when every required one is there in order. */
    static List<String> problems(String markdown) {
        List<String> headings = secondLevel(markdown);
        List<String> problems = new ArrayList<>();
        int last = -1;
        String lastName = null;
        for (String wanted : REQUIRED) {
            int at = headings.indexOf(wanted);
            if (at < 0) {
                problems.add("no '## " + wanted + "'");
            } else if (headings.lastIndexOf(wanted) != at) {
                problems.add("'## " + wanted + "' appears more than once");
            } else if (at < last) {
                problems.add("'## " + wanted + "' comes before '## " + lastName + "'");
            } else {
                last = at;
                lastName = wanted;
            }
        }
        return problems;
    }
}
