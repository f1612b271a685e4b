package org.lguest.bench;

import java.lang.reflect.Proxy;
import java.net.URL;
import java.util.ArrayList;
import java.util.Collections;
import java.util.Hashtable;
import java.util.List;
import java.util.Map;

import org.lguest.api.device.LguestDevice;
import org.lguest.launcher.internal.Launcher;
import org.osgi.framework.Bundle;
import org.osgi.framework.BundleContext;

/**
 * The real Launcher component outside the framework. Its image catalog
 * tracks bundles that carry an {@code Lguest-Images} header; here the only
 * such "bundle" is a stand-in for lguest.guest whose entries are the images
 * on the classpath, so {@code LaunchOptions("hello", ...)} finds its image
 * by name, through a URL, as in the runtime.
 */
final class Launchers {
    private Launchers() {
    }

    static Launcher launcher(LguestDevice device) {
        return launcher(device, Map.of());
    }

    /** A Launcher whose configuration has {@code values}, the rest at the defaults. */
    static Launcher launcher(LguestDevice device, Map<String, Object> values) {
        Object config = Stack.defaults(Launcher.Config.class, values);
        return new Launcher(device, null, context(), (Launcher.Config) config); // guests without devices
    }

    static void deactivate(Launcher launcher) {
        Stack.invoke(launcher, "deactivate", null, null);
    }

    /** A BundleContext with one bundle in it (all a BundleTracker asks of a context). */
    private static BundleContext context() {
        Bundle guestBundle = guestBundle();
        return (BundleContext) Proxy.newProxyInstance(Launchers.class.getClassLoader(), new Class<?>[] {BundleContext.class},
            (proxy, method, args) -> switch (method.getName()) {
                case "getBundles" -> new Bundle[] {guestBundle};
                case "getBundle" -> guestBundle;
                case "addBundleListener", "removeBundleListener" -> null;
                case "hashCode" -> System.identityHashCode(proxy);
                case "equals" -> proxy == args[0];
                case "toString" -> "bench BundleContext";
                default -> throw new UnsupportedOperationException("BundleContext." + method.getName() + " in the benchmark");
            });
    }

    private static Bundle guestBundle() {
        Hashtable<String, String> headers = new Hashtable<>();
        headers.put("Bundle-SymbolicName", "lguest.guest");
        headers.put("Lguest-Images", "lguest/images");
        return (Bundle) Proxy.newProxyInstance(Launchers.class.getClassLoader(), new Class<?>[] {Bundle.class},
            (proxy, method, args) -> switch (method.getName()) {
                case "getState" -> Bundle.ACTIVE;
                case "getHeaders" -> headers;
                case "getSymbolicName" -> "lguest.guest";
                case "getBundleId" -> 1L;
                case "findEntries" -> {
                    List<URL> urls = new ArrayList<>();
                    for (String name : GuestImage.names()) {
                        urls.add(GuestImage.entry(name));
                    }
                    yield Collections.enumeration(urls);
                }
                case "hashCode" -> System.identityHashCode(proxy);
                case "equals" -> proxy == args[0];
                case "compareTo" -> 0;
                case "toString" -> "lguest.guest (bench stand-in)";
                default -> throw new UnsupportedOperationException("Bundle." + method.getName() + " in the benchmark");
            });
    }
}
