package org.lguest.virtio.net.internal;

import java.io.IOException;
import java.lang.foreign.MemorySegment;
import java.util.HexFormat;
import java.util.Map;
import java.util.concurrent.LinkedBlockingDeque;
import java.util.concurrent.atomic.AtomicLong;

import org.lguest.api.virtio.DescriptorChain;
import org.lguest.api.virtio.DeviceContext;
import org.lguest.api.virtio.DeviceFault;
import org.lguest.api.virtio.DeviceSession;
import org.lguest.api.virtio.VirtQueue;
import org.lguest.api.virtio.Virtio;
import org.lguest.api.virtio.VirtioDevice;
import org.osgi.service.component.annotations.Activate;
import org.osgi.service.component.annotations.Component;
import org.osgi.service.component.annotations.ConfigurationPolicy;
import org.osgi.service.component.annotations.Reference;
import org.osgi.service.metatype.annotations.AttributeDefinition;
import org.osgi.service.metatype.annotations.Designate;
import org.osgi.service.metatype.annotations.ObjectClassDefinition;
import org.osgi.service.metatype.annotations.Option;

/**
 * A network card (virtio 1.0, 5.1): queue 0 receives, queue 1 transmits;
 * every buffer starts with the 12-byte virtio_net_hdr. Frames go to an
 * in-JVM {@link NetSwitch} shared by the guests of this runtime, or over a
 * {@link UdpLink} on loopback to another runtime. The MAC and the link
 * status are in the configuration space. Frames that arrive while the
 * guest has no receive buffer wait (a bounded backlog, in the platform's
 * state so a restart of this bundle keeps them); past the backlog they are
 * dropped, as a real card drops them.
 */
@Component(service = VirtioDevice.class, configurationPid = NetDevice.PID, configurationPolicy = ConfigurationPolicy.REQUIRE)
@Designate(ocd = NetDevice.Config.class, factory = true)
public class NetDevice implements VirtioDevice {
    static final String PID = "org.lguest.virtio.net";
    /** Feature bits (5.1.3). */
    static final int F_MAC = 5;
    static final int F_STATUS = 16;
    static final int S_LINK_UP = 1;
    static final int RECEIVE = 0;
    static final int TRANSMIT = 1;
    /** struct virtio_net_hdr with num_buffers: its size whenever VIRTIO_F_VERSION_1 is negotiated. */
    static final int HEADER = 12;
    /** mac[6], status (le16). */
    static final int CONFIG_SIZE = 8;
    private static final String RX = "rx";
    private static final String DROPPED = "dropped";

    enum Backend { SWITCH, UDP }

    @ObjectClassDefinition(name = "lguest virtio network card", description = "A guest's network card on the in-JVM switch or a UDP link over loopback.")
    public @interface Config {
        @AttributeDefinition(name = "Name", description = "The device's name on a guest's bus; empty for the configuration's pid")
        String name() default "";

        @AttributeDefinition(name = "Guests", description = "Guest names or numbers that get this card; * for every guest; none: no guest gets it")
        String[] guests() default {};

        @AttributeDefinition(name = "MAC", description = "The card's address (52:54:00:12:34:56); empty for one made from the name and the guest's number")
        String mac() default "";

        @AttributeDefinition(name = "Backend", description = "Where the frames go", options = {
            @Option(label = "The in-JVM switch", value = "switch"), @Option(label = "UDP over loopback", value = "udp")})
        String backend() default "switch";

        @AttributeDefinition(name = "Switch", description = "The in-JVM switch's name: cards on the same switch reach each other")
        String switch_name() default "default";

        @AttributeDefinition(name = "UDP port", description = "The card's port on 127.0.0.1 (UDP backend)", min = "0", max = "65535")
        int udp_port() default 0;

        @AttributeDefinition(name = "UDP peer port", description = "The other runtime's port on 127.0.0.1 (UDP backend)", min = "1", max = "65535")
        int udp_peer_port() default 0;

        @AttributeDefinition(name = "Queue size", description = "Entries in each queue (a power of 2)", min = "2", max = "32768")
        int queue_size() default 256;

        @AttributeDefinition(name = "Receive backlog", description = "Frames kept while the guest has no receive buffer", min = "1")
        int rx_backlog() default 256;
    }

    /**
     * What a card is.
     *
     * @param mac the address, or null for one made per guest
     */
    record Settings(String name, byte[] mac, Backend backend, String switchName, int udpPort, int udpPeerPort,
            int queueSize, int rxBacklog) {
        Settings {
            if (queueSize < 2 || queueSize > Virtio.MAX_QUEUE_SIZE || Integer.bitCount(queueSize) != 1) {
                throw new IllegalArgumentException("net queue size " + queueSize + " is not a power of 2 from 2 to "
                    + Virtio.MAX_QUEUE_SIZE);
            }
            if (mac != null && (mac.length != 6 || (mac[0] & 1) != 0)) {
                throw new IllegalArgumentException("a card's MAC is 6 bytes of a unicast address");
            }
            if (backend == Backend.UDP && (udpPort < 0 || udpPort > 65535 || udpPeerPort < 1 || udpPeerPort > 65535)) {
                throw new IllegalArgumentException("the UDP backend needs a port (0 to 65535) and a peer port (1 to 65535) on 127.0.0.1");
            }
            rxBacklog = Math.max(1, rxBacklog);
        }
    }

    private final Settings settings;
    private final Switches switches;

    @Activate
    public NetDevice(Config config, Map<String, Object> properties, @Reference Switches switches) {
        this(new Settings(config.name().isBlank() ? defaultName(properties) : config.name(), parseMac(config.mac()),
            parseBackend(config.backend()), config.switch_name(), config.udp_port(), config.udp_peer_port(),
            config.queue_size(), config.rx_backlog()), switches);
    }

    NetDevice(Settings settings, Switches switches) {
        this.settings = settings;
        this.switches = switches;
    }

    static String defaultName(Map<String, Object> properties) {
        Object pid = properties.get("service.pid");
        return pid != null ? pid.toString() : "net";
    }

    static byte[] parseMac(String text) {
        if (text == null || text.isBlank()) {
            return null;
        }
        String[] parts = text.trim().split("[:-]");
        if (parts.length != 6) {
            throw new IllegalArgumentException("MAC '" + text + "' is not six hex bytes like 52:54:00:12:34:56");
        }
        byte[] mac = new byte[6];
        try {
            for (int i = 0; i < 6; i++) {
                if (parts[i].length() != 2) {
                    throw new NumberFormatException(parts[i]);
                }
                mac[i] = (byte) Integer.parseInt(parts[i], 16);
            }
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException("MAC '" + text + "' is not six hex bytes like 52:54:00:12:34:56", e);
        }
        return mac;
    }

    static Backend parseBackend(String text) {
        return switch (text == null ? "" : text.trim().toLowerCase(java.util.Locale.ROOT)) {
            case "", "switch" -> Backend.SWITCH;
            case "udp" -> Backend.UDP;
            default -> throw new IllegalArgumentException("backend '" + text + "': use switch or udp");
        };
    }

    /** A locally administered unicast MAC from the card's name and the guest's number: 02:4c:47 ("LG") and three bytes. */
    static byte[] derivedMac(String name, int guest) {
        int h = (name + "/" + guest).hashCode() * 0x9E3779B1;
        return new byte[] {0x02, 0x4C, 0x47, (byte) (h >>> 16), (byte) (h >>> 8), (byte) h};
    }

    @Override
    public int type() {
        return Virtio.ID_NET;
    }

    @Override
    public String name() {
        return settings.name();
    }

    @Override
    public long features() {
        return Virtio.bit(F_MAC) | Virtio.bit(F_STATUS);
    }

    @Override
    public int[] queueSizes() {
        return new int[] {settings.queueSize(), settings.queueSize()};
    }

    @Override
    public int configSize() {
        return CONFIG_SIZE;
    }

    @Override
    public DeviceSession attach(DeviceContext context) {
        return new Session(context);
    }

    private final class Session implements DeviceSession {
        private final DeviceContext context;
        private final byte[] mac;
        private final LinkedBlockingDeque<byte[]> rx;
        private final AtomicLong dropped;
        private final Link link;
        private final String linkFailure;
        private volatile boolean closed;

        @SuppressWarnings("unchecked")
        Session(DeviceContext context) {
            this.context = context;
            this.mac = settings.mac() != null ? settings.mac().clone() : derivedMac(settings.name(), context.guest().id());
            this.rx = (LinkedBlockingDeque<byte[]>) context.state().computeIfAbsent(RX,
                k -> new LinkedBlockingDeque<byte[]>(settings.rxBacklog()));
            this.dropped = (AtomicLong) context.state().computeIfAbsent(DROPPED, k -> new AtomicLong());
            Link l = null;
            String failure = null;
            if (settings.backend() == Backend.UDP) {
                try {
                    l = new UdpLink(settings.udpPort(), settings.udpPeerPort(), this::arrived);
                } catch (IOException e) {
                    failure = e.getMessage();
                }
            } else {
                l = switches.get(settings.switchName()).connect(this::arrived);
            }
            this.link = l;
            this.linkFailure = failure;
        }

        /** A frame for this card, on the sender's (or the UDP receiver's) thread: queue it and serve it, here if the card is idle. */
        private void arrived(byte[] frame) {
            if (closed) {
                return;
            }
            if (!rx.offerLast(frame)) {
                dropped.incrementAndGet();
                return;
            }
            // Into the guest's buffers on this thread when the card is idle: one thread hand-off fewer per frame.
            context.serveNow(RECEIVE);
        }

        @Override
        public int readConfig(int offset, int size) {
            int value = 0;
            for (int i = 0; i < size; i++) {
                int at = offset + i;
                int b = at < 6 ? mac[at] & 0xFF : at == 6 ? S_LINK_UP : 0;
                value |= b << (8 * i);
            }
            return value;
        }

        @Override
        public void activate(long features) {
            if (link == null) {
                context.fail(DeviceFault.BACKEND_LOST, "the network card has no link: " + linkFailure);
                return;
            }
            if (!rx.isEmpty()) {
                context.wake(RECEIVE);
            }
        }

        @Override
        public void serve(int queue) {
            if (queue == TRANSMIT) {
                transmit(context.queue(TRANSMIT));
            } else if (queue == RECEIVE) {
                receive(context.queue(RECEIVE));
            }
        }

        private void transmit(VirtQueue q) {
            DescriptorChain chain;
            while ((chain = q.next()) != null) {
                long length = chain.readableLength() - HEADER;
                if (length >= 14 && length <= UdpLink.MAX_FRAME && link != null) {
                    byte[] frame = new byte[(int) length];
                    chain.read(HEADER, MemorySegment.ofArray(frame));
                    link.send(frame);
                }
                q.complete(chain, 0);
            }
        }

        private void receive(VirtQueue q) {
            byte[] frame;
            while ((frame = rx.peekFirst()) != null) {
                DescriptorChain chain = q.next();
                if (chain == null) {
                    return; // no buffer: the frame waits
                }
                rx.pollFirst();
                if (chain.writableLength() < HEADER + frame.length) {
                    dropped.incrementAndGet(); // too big for the guest's buffer
                    q.complete(chain, 0);
                    continue;
                }
                byte[] header = new byte[HEADER];
                header[10] = 1; // num_buffers
                chain.write(0, MemorySegment.ofArray(header));
                chain.write(HEADER, MemorySegment.ofArray(frame));
                q.complete(chain, HEADER + frame.length);
            }
        }

        @Override
        public void reset() {
        }

        @Override
        public void close() {
            closed = true;
            if (link != null) {
                link.close();
            }
        }
    }

    @Override
    public String toString() {
        return "net " + settings.name() + " (" + settings.backend().name().toLowerCase(java.util.Locale.ROOT)
            + (settings.mac() != null ? ", " + HexFormat.ofDelimiter(":").formatHex(settings.mac()) : "") + ")";
    }
}
