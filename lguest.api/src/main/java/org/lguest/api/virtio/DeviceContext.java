package org.lguest.api.virtio;

import java.util.concurrent.ConcurrentMap;

import org.osgi.annotation.versioning.ProviderType;

/** What the platform gives a device for one guest. Its methods may be called from any thread. */
@ProviderType
public interface DeviceContext {

    VirtioGuest guest();

    GuestRam ram();

    /** The device's queues, as many as {@link VirtioDevice#queueSizes()} has entries. */
    VirtQueue queue(int index);

    int queueCount();

    /** The features the driver accepted (0 until it has). */
    long features();

    /** Asks for {@link DeviceSession#serve} of {@code queue} on the device's thread, e.g. when input arrived. */
    void wake(int queue);

    /**
     * As {@link #wake}, but if the device is idle its {@link DeviceSession#serve}
     * of {@code queue} runs now, on the calling thread, and the answer is true:
     * for work handed over from another device's thread (a switch delivering
     * a frame), which saves waking the device's own thread. The serve is
     * exclusive with the device's thread as always; one nested in another
     * such serve is left to the device's thread instead. The caller must
     * hold no lock the device's serve could need.
     *
     * @since 1.1
     */
    default boolean serveNow(int queue) {
        wake(queue);
        return false;
    }

    /** The device-specific configuration changed: the guest gets a configuration interrupt. */
    void configChanged();

    /**
     * Marks the device broken (DEVICE_NEEDS_RESET): its queues stop until the
     * guest resets it. For requests that break the device's own rules.
     */
    void fail(String reason);

    /**
     * As {@link #fail(String)}, saying which kind of fault it is: the reason
     * becomes {@link DeviceFault#reason}, and the bus counts it under that
     * kind ({@link #fail(String)} counts {@link DeviceFault#REQUEST}).
     *
     * @since 1.2
     */
    default void fail(DeviceFault fault, String detail) {
        fail(fault.reason(detail));
    }

    /** Why the device is broken, or null. */
    String broken();

    /**
     * State the platform keeps for this guest's slot across device
     * restarts (not across guest resets unless the device keeps it). Keep only
     * JDK types in it: a restarted bundle has a new class loader.
     * <p>
     * The map belongs to the slot, not to an implementation: every device
     * service attached to the slot (the same bundle restarted, or another
     * bundle's device of the same name and shape) sees the same map. Start
     * keys with a prefix of the kind of device ({@code "rng."}, {@code
     * "block."}) for what any implementation of that kind may read, and with
     * your bundle's symbolic name for what only yours understands; never
     * assume a key you did not write holds a type you expect.
     */
    ConcurrentMap<String, Object> state();
}
