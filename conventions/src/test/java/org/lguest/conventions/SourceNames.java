package org.lguest.conventions;

import java.util.ArrayList;
import java.util.Collection;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The names a document may quote from the code, and whether the code still has them.
 * A code span is taken for a name only when it has one of these shapes; anything else
 * (a command, a constant, a C field, a quoted string) is prose and is not looked up:
 * <ul>
 * <li>{@code RunningGuest}: a Java type, declared in its own file or inside another;
 * <li>{@code Launcher.launch}, {@code LguestDevice.open(task)}: a type whose file has a
 *     method of that name ({@code launch(}); {@code ExitHandler.Action}, a type nested
 *     in that file;
 * <li>{@code runGuest}, {@code read()}: a method of that name in some Java file (a lower
 *     case word needs the parentheses, or an upper case letter inside, to count);
 * <li>{@code virtq_kick()}: a function of that name in some C or Java file;
 * <li>{@code lguest.launcher}: a folder of that name at the root (a module);
 * <li>{@code org.lguest.shell.internal}: a Java package of ours.
 * </ul>
 */
final class SourceNames {

    private static final String TYPE = "[A-Z][A-Za-z0-9]*[a-z][A-Za-z0-9]*";
    private static final String ARGS = "(?:\\([^()]*\\))?";
    private static final Pattern A_TYPE = Pattern.compile(TYPE);
    private static final Pattern TYPE_MEMBER = Pattern.compile("(" + TYPE + ")\\.([a-z][A-Za-z0-9]*)" + ARGS);
    private static final Pattern NESTED_TYPE = Pattern.compile("(" + TYPE + ")\\.(" + TYPE + ")");
    private static final Pattern CAMEL_METHOD = Pattern.compile("([a-z][a-z0-9]*[A-Z][A-Za-z0-9]*)" + ARGS);
    private static final Pattern CALLED = Pattern.compile("([a-z][a-z0-9_]*)\\(\\)");
    private static final Pattern MODULE = Pattern.compile("lguest(?:\\.[a-z0-9]+)*");
    private static final Pattern PACKAGE = Pattern.compile("org\\.lguest(?:\\.[a-z0-9]+)+");
    private static final Pattern DECLARED_TYPE =
            Pattern.compile("\\b(?:class|interface|record|enum)\\s+(" + TYPE + ")\\b");

    private final Map<String, String> sources;
    private final Collection<String> files;
    /** Type name to the Java files that declare it. */
    private final Map<String, List<String>> types = new HashMap<>();

    /**
     * @param sources file (relative, '/' separators) to its text: where types, methods and functions are looked up
     * @param files every file of the repository, the same way: where modules and packages are looked up
     */
    SourceNames(Map<String, String> sources, Collection<String> files) {
        this.sources = sources;
        this.files = files;
        for (var e : sources.entrySet()) {
            if (!e.getKey().endsWith(".java")) continue;
            String own = e.getKey().substring(e.getKey().lastIndexOf('/') + 1).replaceFirst("\\.java$", "");
            types.computeIfAbsent(own, k -> new ArrayList<>()).add(e.getKey());
            Matcher m = DECLARED_TYPE.matcher(e.getValue());
            while (m.find()) {
                List<String> declaring = types.computeIfAbsent(m.group(1), k -> new ArrayList<>());
                if (!declaring.contains(e.getKey())) declaring.add(e.getKey());
            }
        }
    }

    /** Whether the span has the shape of a name, so that {@link #missing} looks it up. */
    static boolean isName(String span) {
        return A_TYPE.matcher(span).matches() || TYPE_MEMBER.matcher(span).matches()
                || NESTED_TYPE.matcher(span).matches() || CAMEL_METHOD.matcher(span).matches()
                || CALLED.matcher(span).matches() || MODULE.matcher(span).matches()
                || PACKAGE.matcher(span).matches();
    }

    /** Null when the span is no name or the code has it; otherwise what is missing. */
    String missing(String span) {
        Matcher m;
        if (A_TYPE.matcher(span).matches()) {
            return types.containsKey(span) ? null : "no Java type " + span;
        }
        if ((m = TYPE_MEMBER.matcher(span)).matches()) {
            return memberOf(m.group(1), m.group(2), "\\b" + m.group(2) + "\\s*\\(", "method");
        }
        if ((m = NESTED_TYPE.matcher(span)).matches()) {
            return memberOf(m.group(1), m.group(2), "\\b(?:class|interface|record|enum)\\s+" + m.group(2) + "\\b",
                    "nested type");
        }
        if ((m = CAMEL_METHOD.matcher(span)).matches() || (m = CALLED.matcher(span)).matches()) {
            Pattern call = Pattern.compile("\\b" + m.group(1) + "\\s*\\(");
            for (String text : sources.values()) {
                if (call.matcher(text).find()) return null;
            }
            return "no method or function " + m.group(1) + " in any source";
        }
        if (MODULE.matcher(span).matches()) {
            String folder = span + "/";
            return files.stream().anyMatch(f -> f.startsWith(folder)) ? null : "no module folder " + span;
        }
        if (PACKAGE.matcher(span).matches()) {
            String folder = "/" + span.replace('.', '/') + "/";
            return files.stream().anyMatch(f -> f.contains(folder)) ? null : "no package " + span;
        }
        return null;
    }

    private String memberOf(String type, String member, String regex, String what) {
        List<String> declaring = types.get(type);
        if (declaring == null) return "no Java type " + type;
        Pattern p = Pattern.compile(regex);
        for (String f : declaring) {
            if (p.matcher(sources.get(f)).find()) return null;
        }
        return "no " + what + " " + member + " in " + String.join(", ", declaring);
    }
}
