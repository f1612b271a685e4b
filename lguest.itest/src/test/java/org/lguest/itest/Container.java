package org.lguest.itest;

import static org.ops4j.pax.exam.CoreOptions.bundle;
import static org.ops4j.pax.exam.CoreOptions.junitBundles;
import static org.ops4j.pax.exam.CoreOptions.options;
import static org.ops4j.pax.exam.CoreOptions.systemProperty;
import static org.ops4j.pax.exam.CoreOptions.vmOption;

import java.io.File;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.List;

import org.ops4j.pax.exam.Option;
import org.ops4j.pax.exam.options.UrlProvisionOption;

/**
 * The container every in-framework test runs in: the real Felix (Pax Exam's
 * native container) with the bundles the build copied to
 * {@code target/bundles}: SCR, Configuration Admin, Metatype, Gogo and ours.
 */
final class Container {
    private Container() {
    }

    static Option[] withBundlesUnderTest(Option... extra) {
        String folder = System.getProperty("lguest.bundles");
        if (folder == null) {
            throw new IllegalStateException("lguest.bundles is not set: run these tests through Maven (mvn verify)");
        }
        File[] jars = new File(folder).listFiles((dir, name) -> name.endsWith(".jar"));
        if (jars == null || jars.length == 0) {
            throw new IllegalStateException("no bundles in " + folder + ": run 'mvn verify' so they are built and copied");
        }
        Arrays.sort(jars, Comparator.comparing(File::getName));
        List<Option> all = new ArrayList<>();
        for (File jar : jars) {
            UrlProvisionOption option = bundle(jar.toURI().toString());
            all.add(option.start());
        }
        all.add(junitBundles());
        all.add(systemProperty("org.osgi.framework.bootdelegation").value("sun.*"));
        all.addAll(Arrays.asList(extra));
        return options(all.toArray(Option[]::new));
    }
}
