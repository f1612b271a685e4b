package org.lguest.conventions;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import javax.xml.parsers.DocumentBuilderFactory;
import org.junit.jupiter.api.Test;
import org.w3c.dom.Element;
import org.w3c.dom.Node;

/** lguest.bom pins every bundle the reactor builds, at the versions the reactor itself uses. */
class BomTest {

    @Test
    void everyBundleModuleIsPinned() throws Exception {
        Path root = Repository.root();
        Map<String, String> bom = managed(root.resolve("lguest.bom/pom.xml"));
        List<String> bundles = new ArrayList<>();
        for (Element module : children(child(document(root.resolve("pom.xml")), "modules"), "module")) {
            String name = module.getTextContent().strip();
            Path pom = root.resolve(name).resolve("pom.xml");
            if (Files.readString(pom).contains("<artifactId>bnd-maven-plugin</artifactId>")) {
                bundles.add(name);
            }
        }
        assertTrue(bundles.contains("lguest.api") && bundles.contains("lguest.virtio.testkit"), "bundles found: " + bundles);
        for (String bundle : bundles) {
            assertEquals("${project.version}", bom.get("org.lguest:" + bundle), bundle + " in lguest.bom");
        }
    }

    @Test
    void itsVersionsAreTheReactorsOwn() throws Exception {
        Path root = Repository.root();
        Map<String, String> reactor = managed(root.resolve("pom.xml"));
        Map<String, String> bom = managed(root.resolve("lguest.bom/pom.xml"));
        assertFalse(bom.isEmpty());
        bom.forEach((coordinates, version) ->
            assertEquals(reactor.get(coordinates), version, coordinates + ": lguest.bom and the root pom disagree"));
    }

    /** groupId:artifactId to version (and scope, when given) of a pom's dependencyManagement. */
    private static Map<String, String> managed(Path pom) throws Exception {
        Map<String, String> pins = new LinkedHashMap<>();
        Element dependencies = child(child(document(pom), "dependencyManagement"), "dependencies");
        for (Element d : children(dependencies, "dependency")) {
            String key = text(d, "groupId") + ":" + text(d, "artifactId");
            String type = text(d, "type");
            String classifier = text(d, "classifier");
            key += type.isEmpty() ? "" : ":" + type;
            key += classifier.isEmpty() ? "" : ":" + classifier;
            String scope = text(d, "scope");
            pins.put(key, text(d, "version") + (scope.isEmpty() ? "" : " " + scope));
        }
        return pins;
    }

    private static Element document(Path pom) throws Exception {
        var factory = DocumentBuilderFactory.newInstance();
        factory.setFeature("http://apache.org/xml/features/disallow-doctype-decl", true);
        return factory.newDocumentBuilder().parse(pom.toFile()).getDocumentElement();
    }

    private static List<Element> children(Element parent, String name) {
        List<Element> found = new ArrayList<>();
        for (Node n = parent.getFirstChild(); n != null; n = n.getNextSibling()) {
            if (n instanceof Element e && name.equals(e.getTagName())) {
                found.add(e);
            }
        }
        return found;
    }

    private static Element child(Element parent, String name) {
        List<Element> found = children(parent, name);
        if (found.isEmpty()) {
            throw new AssertionError("no <" + name + "> in <" + parent.getTagName() + ">");
        }
        return found.getFirst();
    }

    private static String text(Element parent, String name) {
        List<Element> found = children(parent, name);
        return found.isEmpty() ? "" : found.getFirst().getTextContent().strip();
    }
}
