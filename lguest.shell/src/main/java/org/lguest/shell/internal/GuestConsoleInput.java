package org.lguest.shell.internal;

import java.util.Collection;
import java.util.concurrent.SubmissionPublisher;
import java.util.concurrent.TimeUnit;

import org.lguest.api.guest.LaunchException;
import org.osgi.framework.BundleContext;
import org.osgi.framework.InvalidSyntaxException;
import org.osgi.framework.ServiceReference;

/**
 * Where bytes typed at a running guest's console go: the publisher the
 * Launcher registers for the guest (property {@value GuestCommands#GUEST_ID}),
 * which its virtio console subscribes to. Held until closed.
 */
final class GuestConsoleInput implements AutoCloseable, ConsoleLink.Sink {
    /** How long a send waits when the console's own buffer is full. */
    private static final long SEND_WAIT_SECONDS = 1;

    private final BundleContext context;
    private final ServiceReference<?> reference;
    private final SubmissionPublisher<byte[]> input;

    private GuestConsoleInput(BundleContext context, ServiceReference<?> reference, SubmissionPublisher<byte[]> input) {
        this.context = context;
        this.reference = reference;
        this.input = input;
    }

    @SuppressWarnings({"unchecked", "rawtypes"})
    static GuestConsoleInput find(BundleContext context, int id) throws LaunchException {
        Collection<ServiceReference<SubmissionPublisher>> found;
        try {
            found = context.getServiceReferences(SubmissionPublisher.class, "(" + GuestCommands.GUEST_ID + "=" + id + ")");
        } catch (InvalidSyntaxException e) {
            throw new IllegalStateException(e);
        }
        for (ServiceReference<SubmissionPublisher> reference : found) {
            SubmissionPublisher<byte[]> input = context.getService(reference);
            if (input != null) {
                if (!input.hasSubscribers()) {
                    context.ungetService(reference);
                    break;
                }
                return new GuestConsoleInput(context, reference, input);
            }
        }
        throw new LaunchException("guest " + id + " has no virtio console taking input: it is not running (see"
            + " lguest:list), or it has no console device (see lguest:devices " + id + ")");
    }

    /** False when the guest's console took nothing: it is gone, or it has left this much unread. */
    @Override
    public boolean send(byte[] bytes) {
        if (input.isClosed()) {
            return false;
        }
        return input.offer(bytes, SEND_WAIT_SECONDS, TimeUnit.SECONDS, (subscriber, item) -> false) >= 0;
    }

    @Override
    public void close() {
        try {
            context.ungetService(reference);
        } catch (IllegalStateException e) {
            // Our bundle is stopping: the framework releases it anyway.
        }
    }
}
