package org.lguest.itest;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertFalse;
import static org.junit.Assert.assertNotNull;

import java.io.Reader;
import java.nio.charset.StandardCharsets;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Properties;
import java.util.TreeMap;
import java.util.TreeSet;

import javax.inject.Inject;

import org.junit.Test;
import org.junit.runner.RunWith;
import org.ops4j.pax.exam.Configuration;
import org.ops4j.pax.exam.Option;
import org.ops4j.pax.exam.junit.PaxExam;
import org.ops4j.pax.exam.spi.reactors.ExamReactorStrategy;
import org.ops4j.pax.exam.spi.reactors.PerClass;
import org.osgi.framework.Bundle;
import org.osgi.framework.BundleContext;
import org.osgi.service.metatype.AttributeDefinition;
import org.osgi.service.metatype.MetaTypeInformation;
import org.osgi.service.metatype.MetaTypeService;
import org.osgi.service.metatype.ObjectClassDefinition;

/**
 * The configuration files etc/ ships say what the components would do
 * without them: every attribute their Metatype describes, each with its
 * default, and nothing else. A changed default or a new attribute shows
 * here until etc/ says it too.
 */
@RunWith(PaxExam.class)
@ExamReactorStrategy(PerClass.class)
public class EtcDefaultsIT {

    @Inject
    private BundleContext context;

    @Inject
    private MetaTypeService metatype;

    @Configuration
    public Option[] config() {
        return Container.withBundlesUnderTest();
    }

    @Test
    public void theFilesInEtcHoldTheMetatypeDefaults() throws Exception {
        String folder = System.getProperty("lguest.etc");
        assertNotNull("lguest.etc is not set: run these tests through Maven (mvn verify)", folder);
        List<Path> files = new ArrayList<>();
        try (DirectoryStream<Path> found = Files.newDirectoryStream(Path.of(folder), "org.lguest.*.cfg")) {
            found.forEach(files::add);
        }
        assertFalse("no org.lguest.*.cfg in " + folder, files.isEmpty());
        for (Path file : files) {
            String pid = file.getFileName().toString().replaceFirst("\\.cfg$", "");
            ObjectClassDefinition definition = definition(pid);
            assertNotNull(file + ": no bundle describes " + pid + " with Metatype", definition);
            TreeMap<String, String> defaults = new TreeMap<>();
            for (AttributeDefinition attribute : definition.getAttributeDefinitions(ObjectClassDefinition.ALL)) {
                String[] values = attribute.getDefaultValue();
                defaults.put(attribute.getID(), values == null ? "" : String.join(",", values));
            }
            Properties written = new Properties();
            try (Reader in = Files.newBufferedReader(file, StandardCharsets.ISO_8859_1)) {
                written.load(in);
            }
            TreeMap<String, String> inFile = new TreeMap<>();
            for (String key : new TreeSet<>(written.stringPropertyNames())) {
                inFile.put(key, written.getProperty(key));
            }
            assertEquals(file + " against " + pid + "'s Metatype defaults", defaults, inFile);
        }
    }

    private ObjectClassDefinition definition(String pid) {
        for (Bundle bundle : context.getBundles()) {
            MetaTypeInformation information = metatype.getMetaTypeInformation(bundle);
            if (information != null && Arrays.asList(information.getPids()).contains(pid)) {
                return information.getObjectClassDefinition(pid, null);
            }
        }
        return null;
    }
}
