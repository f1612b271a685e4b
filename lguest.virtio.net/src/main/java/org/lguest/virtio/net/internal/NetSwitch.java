package org.lguest.virtio.net.internal;

import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.function.Consumer;

/**
 * A learning Ethernet switch inside the JVM: it connects the network cards
 * of the guests of one runtime. A frame goes to the port its destination
 * MAC was last seen on, or to every other port when the destination is
 * broadcast, multicast or not yet known.
 */
final class NetSwitch {
    private final String name;
    private final List<Port> ports = new CopyOnWriteArrayList<>();
    private final Map<Long, Port> learned = new ConcurrentHashMap<>();

    NetSwitch(String name) {
        this.name = name;
    }

    String name() {
        return name;
    }

    /** Connects a card; frames for it go to {@code receiver} (on the sender's thread: it must only queue them). */
    Link connect(Consumer<byte[]> receiver) {
        Port port = new Port(receiver);
        ports.add(port);
        return port;
    }

    int ports() {
        return ports.size();
    }

    static long mac(byte[] frame, int at) {
        long mac = 0;
        for (int i = 0; i < 6; i++) {
            mac = mac << 8 | (frame[at + i] & 0xFF);
        }
        return mac;
    }

    private void forward(Port from, byte[] frame) {
        if (frame.length < 14) {
            return;
        }
        long source = mac(frame, 6);
        if ((frame[6] & 1) == 0) {
            learned.put(source, from);
        }
        Port to = (frame[0] & 1) == 0 ? learned.get(mac(frame, 0)) : null;
        if (to != null) {
            if (to != from && ports.contains(to)) {
                to.receiver.accept(frame);
            }
            return;
        }
        for (Port port : ports) {
            if (port != from) {
                port.receiver.accept(frame);
            }
        }
    }

    private final class Port implements Link {
        private final Consumer<byte[]> receiver;

        Port(Consumer<byte[]> receiver) {
            this.receiver = receiver;
        }

        @Override
        public void send(byte[] frame) {
            forward(this, frame);
        }

        @Override
        public void close() {
            ports.remove(this);
            learned.values().removeIf(p -> p == this);
        }
    }
}
