package org.lguest.api.virtio;

/** The numbers of virtio 1.0 that devices and the transport share. Facts, not policy. */
public final class Virtio {
    /** Device types (virtio 1.0, 5). */
    public static final int ID_NET = 1;
    public static final int ID_BLOCK = 2;
    public static final int ID_CONSOLE = 3;
    public static final int ID_ENTROPY = 4;

    /** PCI: every virtio function has this vendor (4.1.2). */
    public static final int PCI_VENDOR_ID = 0x1AF4;
    /** PCI: a non-transitional function's device id is this plus the device type. */
    public static final int PCI_DEVICE_ID_BASE = 0x1040;

    /** Device status bits (2.1). */
    public static final int STATUS_ACKNOWLEDGE = 1;
    public static final int STATUS_DRIVER = 2;
    public static final int STATUS_DRIVER_OK = 4;
    public static final int STATUS_FEATURES_OK = 8;
    public static final int STATUS_DEVICE_NEEDS_RESET = 0x40;
    public static final int STATUS_FAILED = 0x80;

    /** Transport feature bits (6): the platform offers these itself. */
    public static final int F_RING_INDIRECT_DESC = 28;
    public static final int F_RING_EVENT_IDX = 29;
    public static final int F_VERSION_1 = 32;

    /** Descriptor flags (2.4.5). */
    public static final int DESC_F_NEXT = 1;
    public static final int DESC_F_WRITE = 2;
    public static final int DESC_F_INDIRECT = 4;
    /** Available ring flag: the driver needs no interrupt. */
    public static final int AVAIL_F_NO_INTERRUPT = 1;
    /** Used ring flag: the device needs no notification. */
    public static final int USED_F_NO_NOTIFY = 1;

    /** The largest split virtqueue (2.4). */
    public static final int MAX_QUEUE_SIZE = 32768;

    /** ISR status bits (4.1.4.5). */
    public static final int ISR_QUEUE = 1;
    public static final int ISR_CONFIG = 2;

    private Virtio() {
    }

    /** The mask of one feature bit. */
    public static long bit(int feature) {
        return 1L << feature;
    }

    /** A device type's name, for messages. */
    public static String typeName(int type) {
        return switch (type) {
            case ID_NET -> "net";
            case ID_BLOCK -> "block";
            case ID_CONSOLE -> "console";
            case ID_ENTROPY -> "rng";
            default -> "type " + type;
        };
    }
}
