package org.lguest.conventions;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.List;
import javax.xml.parsers.DocumentBuilderFactory;
import org.w3c.dom.Element;
import org.w3c.dom.Node;

/** The build's modules as the poms list them, so a module added to a pom is checked too. */
final class Modules {

    private Modules() {}

    /** The {@code <module>} entries of the root pom's own {@code <modules>}, in order. */
    static List<String> listedIn(Path rootPom) throws IOException {
        Element project;
        try {
            var factory = DocumentBuilderFactory.newInstance();
            factory.setFeature("http://apache.org/xml/features/disallow-doctype-decl", true);
            project = factory.newDocumentBuilder().parse(rootPom.toFile()).getDocumentElement();
        } catch (IOException e) {
            throw e;
        } catch (Exception e) {
            throw new IOException("cannot read " + rootPom + ": " + e.getMessage(), e);
        }
        List<String> modules = new ArrayList<>();
        for (Element list : children(project, "modules")) {
            for (Element module : children(list, "module")) {
                String name = module.getTextContent().strip();
                if (!name.isEmpty()) modules.add(name);
            }
        }
        return modules;
    }

    /**
     * Every module of the build below {@code root}, relative and '/' separated: the modules
     * the root pom lists, then those each of them lists in turn (an aggregator's children),
     * in the order found. A folder with a pom.xml that no reactor pom lists (a project the
     * Invoker builds, say) is not a module. A listed module without a pom.xml is still
     * named, so a missing folder shows too.
     */
    static List<String> reactor(Path root) throws IOException {
        List<String> found = new ArrayList<>();
        Deque<String> todo = new ArrayDeque<>();
        todo.add("");
        while (!todo.isEmpty()) {
            String dir = todo.removeFirst();
            Path pom = dir.isEmpty() ? root.resolve("pom.xml") : root.resolve(dir).resolve("pom.xml");
            if (!Files.isRegularFile(pom)) continue;
            for (String module : listedIn(pom)) {
                String relative = root.relativize(root.resolve(dir).resolve(module).normalize()).toString().replace('\\', '/');
                if (!found.contains(relative)) {
                    found.add(relative);
                    todo.addLast(relative);
                }
            }
        }
        return found;
    }

    private static List<Element> children(Element parent, String name) {
        List<Element> out = new ArrayList<>();
        for (Node n = parent.getFirstChild(); n != null; n = n.getNextSibling()) {
            if (n instanceof Element e && name.equals(e.getLocalName() != null ? e.getLocalName() : e.getTagName())) {
                out.add(e);
            }
        }
        return out;
    }
}
