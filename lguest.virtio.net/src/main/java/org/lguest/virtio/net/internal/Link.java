package org.lguest.virtio.net.internal;

/** Where a guest's network card sends frames; frames for it arrive through the receiver given when the link was made. */
interface Link extends AutoCloseable {

    /** Sends one Ethernet frame (no virtio header). Never blocks for long; drops when it must. */
    void send(byte[] frame);

    @Override
    void close();
}
