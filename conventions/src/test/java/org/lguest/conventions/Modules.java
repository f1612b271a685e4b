package org.lguest.conventions;

import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import javax.xml.parsers.DocumentBuilderFactory;
import org.w3c.dom.Element;
import org.w3c.dom.Node;

/** The build's modules as the root pom.xml lists them, so a module added there is checked too. */
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
     * Folders (relative, '/' separated) holding a pom.xml among the given repository files,
     * the root itself left out: each is a module whether or not the root lists it.
     */
    static List<String> foldersWithPom(List<String> files) {
        List<String> folders = new ArrayList<>();
        for (String f : files) {
            if (f.endsWith("/pom.xml")) folders.add(f.substring(0, f.length() - "/pom.xml".length()));
        }
        return folders;
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
