package org.lguest.api.virtio;

import org.osgi.annotation.versioning.ConsumerType;

/**
 * Where a bus sends its interrupts: the Launcher answers with
 * {@code LHREQ_IRQ}. Called from device threads; it must not block for long
 * and should not throw.
 */
@ConsumerType
@FunctionalInterface
public interface InterruptSink {

    /** Marks interrupt {@code irq} pending for the guest. */
    void raise(int irq);
}
