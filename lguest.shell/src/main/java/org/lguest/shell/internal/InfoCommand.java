package org.lguest.shell.internal;

import java.util.ArrayList;
import java.util.Collection;
import java.util.Comparator;
import java.util.List;
import java.util.function.Function;

import org.apache.felix.service.command.Descriptor;
import org.lguest.api.cpu.VcpuBackend;
import org.lguest.api.paging.PageTableManager;
import org.lguest.api.virtio.Virtio;
import org.lguest.api.virtio.VirtioDevice;
import org.osgi.framework.BundleContext;
import org.osgi.framework.InvalidSyntaxException;
import org.osgi.framework.ServiceReference;
import org.osgi.service.component.annotations.Activate;
import org.osgi.service.component.annotations.Component;

/**
 * {@code lguest:info}: what this runtime runs guests with, one line each:
 * the vCPU backend the Host takes (the highest-ranked one) with its engine's
 * version, the page-table manager, and the virtio devices offered, each
 * with the bundle that provides it. {@code ./lguest --verbose} prints the
 * same lines at start-up.
 */
@Component(service = InfoCommand.class, property = {
    "osgi.command.scope=lguest",
    "osgi.command.function=info"
})
public class InfoCommand {
    private BundleContext context;

    @Activate
    void activate(BundleContext context) {
        this.context = context;
    }

    @Descriptor("what runs the guests: the CPU backend and its engine version, the page-table manager, the virtio devices offered")
    public String info() {
        return String.join("\n", lines(context));
    }

    /** The lines {@link #info} prints. */
    static List<String> lines(BundleContext context) {
        return List.of(
            "cpu: " + describeBest(context, VcpuBackend.class, VcpuBackend::description, "none (no vCPU backend service)"),
            "paging: " + describeBest(context, PageTableManager.class, PageTableManager::description,
                "none (no page-table manager service)"),
            "devices: " + devices(context));
    }

    /** The service the Host would take (the highest ranking, then the oldest), described, with its bundle. */
    private static <S> String describeBest(BundleContext context, Class<S> type, Function<S, String> describe, String none) {
        ServiceReference<S> reference = context.getServiceReference(type);
        String text = reference == null ? null : describe(context, reference, describe);
        return text == null ? none : text;
    }

    private static String devices(BundleContext context) {
        Collection<ServiceReference<VirtioDevice>> references;
        try {
            references = context.getServiceReferences(VirtioDevice.class, null);
        } catch (InvalidSyntaxException e) {
            throw new IllegalStateException(e); // no filter was given
        }
        List<ServiceReference<VirtioDevice>> sorted = new ArrayList<>(references);
        sorted.sort(Comparator.comparing((ServiceReference<VirtioDevice> r) -> r.getBundle() == null ? "" : r.getBundle().getSymbolicName())
            .thenComparing(r -> (Long) r.getProperty("service.id")));
        List<String> found = new ArrayList<>();
        for (ServiceReference<VirtioDevice> reference : sorted) {
            String text = describe(context, reference, device -> Virtio.typeName(device.type()));
            if (text != null) {
                found.add(text);
            }
        }
        return found.isEmpty() ? "none" : String.join(", ", found);
    }

    /** "what (bundle)", or null when the service went away meanwhile. */
    private static <S> String describe(BundleContext context, ServiceReference<S> reference, Function<S, String> describe) {
        S service = context.getService(reference);
        if (service == null) {
            return null;
        }
        try {
            String bundle = reference.getBundle() == null ? "?" : reference.getBundle().getSymbolicName();
            return describe.apply(service) + " (" + bundle + ")";
        } finally {
            context.ungetService(reference);
        }
    }
}
