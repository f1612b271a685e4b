package org.lguest.api.virtio;

/**
 * Why a virtio device was marked broken (DEVICE_NEEDS_RESET). Most kinds
 * are a rule of the transport, the rings or a device that the guest's driver
 * broke; the last ones are failures on the host's side. A broken device's
 * reason ({@link DeviceContext#broken()}, {@link VirtioBus.Slot#broken()})
 * starts with the kind's name, and {@link VirtioBus#faults} counts them.
 *
 * @since 1.2
 */
public enum DeviceFault {
    // The driver's register accesses.
    /** A write to PCI configuration space the driver may not make. */
    CONFIG_WRITE(true),
    /** The VIRTIO_PCI_CAP_PCI_CFG window does not point at 1, 2 or 4 aligned bytes of BAR0. */
    CONFIG_WINDOW(true),
    /** A write to the notification register that is not 16 bits wide. */
    NOTIFY_WIDTH(true),
    /** A notification of a queue the device does not have. */
    NOTIFY_QUEUE(true),
    /** DRIVER_OK set before FEATURES_OK. */
    FEATURES_NOT_OK(true),

    // The driver's ring configuration, checked when it sets DRIVER_OK.
    /** A queue size that is not a power of 2 up to the device's maximum. */
    QUEUE_SIZE(true),
    /** A descriptor table, available ring or used ring at a misaligned address. */
    RING_ALIGNMENT(true),
    /** A ring that does not lie wholly inside guest RAM. */
    RING_OUTSIDE_RAM(true),

    // Descriptor chains, checked as each is read.
    /** The available index moved further than the ring holds. */
    AVAIL_INDEX_AHEAD(true),
    /** An available ring entry names a descriptor past the table. */
    HEAD_PAST_RING(true),
    /** A descriptor's next field points past its table. */
    NEXT_PAST_TABLE(true),
    /** A chain that loops, or has more descriptors than its table. */
    CHAIN_LOOP(true),
    /** A device-readable buffer after a device-writable one. */
    READABLE_AFTER_WRITABLE(true),
    /** A buffer that does not lie wholly inside guest RAM. */
    BUFFER_OUTSIDE_RAM(true),
    /** A chain whose buffers add up to more than 4 GiB. */
    CHAIN_TOO_LONG(true),
    /** An indirect descriptor, but the driver did not accept VIRTIO_F_RING_INDIRECT_DESC. */
    INDIRECT_NOT_NEGOTIATED(true),
    /** An indirect descriptor inside an indirect table. */
    INDIRECT_NESTED(true),
    /** A descriptor that is both indirect and chained to another. */
    INDIRECT_CHAINED(true),
    /** An indirect table that is empty, not whole descriptors, or larger than the device takes. */
    INDIRECT_TABLE_SIZE(true),
    /** An indirect table that does not lie wholly inside guest RAM. */
    INDIRECT_OUTSIDE_RAM(true),

    // The device's own rules.
    /** A request the device cannot answer: the device's own rule was broken. */
    REQUEST(true),

    // The host's side: no fault of the guest's.
    /** The device's code or the platform's failed unexpectedly (an exception). */
    DEVICE_ERROR(false),
    /** What the device serves from is gone: a closed disk image, a network card without a link. */
    BACKEND_LOST(false);

    private final boolean driverAtFault;

    DeviceFault(boolean driverAtFault) {
        this.driverAtFault = driverAtFault;
    }

    /** Whether the guest's driver broke a rule, rather than the host failing it. */
    public boolean driverAtFault() {
        return driverAtFault;
    }

    /** The reason a broken device gives: this kind's name, then what happened. */
    public String reason(String detail) {
        return name() + ": " + detail;
    }
}
