package org.lguest.conventions;

import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.FileVisitResult;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.SimpleFileVisitor;
import java.nio.file.attribute.BasicFileAttributes;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.TimeUnit;
import javax.xml.parsers.DocumentBuilderFactory;
import org.w3c.dom.Element;
import org.w3c.dom.Node;

/** The repository these checks look at: its root, and the files a contributor writes. */
final class Repository {

    /** Generated or private folders: nothing in them is ours to check. */
    private static final Set<String> SKIPPED_DIRS = Set.of("target", ".git", ".idea", ".vscode", "node_modules");

    private Repository() {}

    /**
     * The root: walk up from the module's folder (Surefire's basedir, else the working
     * directory) to the first pom.xml whose own artifactId, not its parent's, is lguest.
     */
    static Path root() {
        Path start = Path.of(System.getProperty("basedir", System.getProperty("user.dir"))).toAbsolutePath();
        for (Path dir = start; dir != null; dir = dir.getParent()) {
            Path pom = dir.resolve("pom.xml");
            if (Files.isRegularFile(pom) && "lguest".equals(ownArtifactId(pom))) {
                return dir;
            }
        }
        throw new IllegalStateException("no lguest root pom above " + start);
    }

    private static String ownArtifactId(Path pom) {
        try {
            var factory = DocumentBuilderFactory.newInstance();
            factory.setFeature("http://apache.org/xml/features/disallow-doctype-decl", true);
            Element project = factory.newDocumentBuilder().parse(pom.toFile()).getDocumentElement();
            for (Node n = project.getFirstChild(); n != null; n = n.getNextSibling()) {
                if (n instanceof Element e && "artifactId".equals(e.getLocalName() != null ? e.getLocalName() : e.getTagName())) {
                    return e.getTextContent().strip();
                }
            }
            return null;
        } catch (Exception e) {
            return null;
        }
    }

    /**
     * The files to check, relative to the root with '/' separators, sorted. Git's view when
     * git is there (tracked plus new files it does not ignore), else a walk of the tree;
     * target and .git folders are left out either way.
     */
    static List<String> files(Path root) throws IOException {
        Set<String> files = new TreeSet<>();
        List<String> fromGit = gitFiles(root);
        if (fromGit != null) {
            for (String f : fromGit) {
                if (!skipped(f) && Files.isRegularFile(root.resolve(f))) files.add(f);
            }
        } else {
            Files.walkFileTree(root, new SimpleFileVisitor<>() {
                @Override
                public FileVisitResult preVisitDirectory(Path dir, BasicFileAttributes attrs) {
                    return !dir.equals(root) && SKIPPED_DIRS.contains(dir.getFileName().toString())
                            ? FileVisitResult.SKIP_SUBTREE : FileVisitResult.CONTINUE;
                }

                @Override
                public FileVisitResult visitFile(Path file, BasicFileAttributes attrs) {
                    files.add(root.relativize(file).toString().replace('\\', '/'));
                    return FileVisitResult.CONTINUE;
                }
            });
        }
        return new ArrayList<>(files);
    }

    private static boolean skipped(String relative) {
        for (String part : relative.split("/")) {
            if (SKIPPED_DIRS.contains(part)) return true;
        }
        return false;
    }

    /** git ls-files, or null when there is no git or no work tree here. */
    private static List<String> gitFiles(Path root) {
        try {
            Process p = new ProcessBuilder("git", "ls-files", "-z", "--cached", "--others", "--exclude-standard")
                    .directory(root.toFile())
                    .redirectError(ProcessBuilder.Redirect.DISCARD)
                    .start();
            byte[] out;
            try (InputStream in = p.getInputStream()) {
                out = in.readAllBytes();
            }
            if (!p.waitFor(30, TimeUnit.SECONDS) || p.exitValue() != 0) {
                p.destroy();
                return null;
            }
            List<String> names = new ArrayList<>();
            for (String name : new String(out, StandardCharsets.UTF_8).split("\0")) {
                if (!name.isEmpty()) names.add(name);
            }
            return names.isEmpty() ? null : names;
        } catch (IOException e) {
            return null;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return null;
        }
    }

    /** A text file to check: its path relative to the root, and what it holds. */
    record TextFile(String name, String content) {
    }

    /** The files of {@link #files} that are UTF-8 text of at most 2 MB, read. */
    static List<TextFile> textFiles(Path root) throws IOException {
        List<TextFile> texts = new ArrayList<>();
        for (String file : files(root)) {
            Path path = root.resolve(file);
            if (Files.size(path) > 2_000_000) {
                continue;
            }
            try {
                texts.add(new TextFile(file, Files.readString(path, StandardCharsets.UTF_8)));
            } catch (java.nio.charset.CharacterCodingException binary) {
                // Not text: nothing in it is prose or a path we wrote.
            }
        }
        return texts;
    }
}
