package org.lguest.itest;

import static org.junit.Assert.assertEquals;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.util.Collection;

import org.apache.felix.service.command.CommandProcessor;
import org.apache.felix.service.command.CommandSession;
import org.lguest.api.virtio.VirtioBus;
import org.osgi.framework.BundleContext;
import org.osgi.framework.ServiceReference;

/** What the in-framework tests ask of the framework in the same way. */
final class InFramework {
    private InFramework() {
    }

    /** Runs one Gogo command line in a session of its own and answers its value as text. */
    static String execute(CommandProcessor commands, String line) throws Exception {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        PrintStream print = new PrintStream(out, true, StandardCharsets.UTF_8);
        try (CommandSession session = commands.createSession(System.in, print, print)) {
            return String.valueOf(session.execute(line));
        }
    }

    /** A running guest's bus, as the Launcher publishes it (property {@code lguest.guest.id}). */
    static VirtioBus bus(BundleContext context, int guestId) throws Exception {
        Collection<ServiceReference<VirtioBus>> references = context.getServiceReferences(VirtioBus.class,
            "(lguest.guest.id=" + guestId + ")");
        assertEquals("one bus for guest " + guestId, 1, references.size());
        return context.getService(references.iterator().next());
    }
}
