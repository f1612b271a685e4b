package org.lguest.virtio.net.internal;

import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.StandardProtocolFamily;
import java.nio.ByteBuffer;
import java.nio.channels.ClosedChannelException;
import java.nio.channels.DatagramChannel;
import java.util.Arrays;
import java.util.function.Consumer;

/**
 * Frames over UDP on the loopback interface to another runtime: one frame
 * per datagram, to and from one peer port on 127.0.0.1. Nothing leaves the
 * machine: the socket is bound to the loopback address and connected to a
 * loopback peer, so the kernel drops datagrams from anyone else.
 */
final class UdpLink implements Link {
    /** The largest UDP payload over IPv4. */
    static final int MAX_FRAME = 65507;

    private final DatagramChannel channel;
    private final Thread receiver;

    UdpLink(int localPort, int peerPort, Consumer<byte[]> deliver) throws IOException {
        InetAddress loopback = InetAddress.getByName("127.0.0.1");
        channel = DatagramChannel.open(StandardProtocolFamily.INET);
        try {
            channel.bind(new InetSocketAddress(loopback, localPort));
            channel.connect(new InetSocketAddress(loopback, peerPort));
        } catch (IOException e) {
            channel.close();
            throw new IOException("UDP link 127.0.0.1:" + localPort + " to 127.0.0.1:" + peerPort + ": " + e.getMessage(), e);
        }
        receiver = Thread.ofVirtual().name("lguest-net-udp-" + localPort).start(() -> receive(deliver));
    }

    int localPort() throws IOException {
        return ((InetSocketAddress) channel.getLocalAddress()).getPort();
    }

    private void receive(Consumer<byte[]> deliver) {
        ByteBuffer buffer = ByteBuffer.allocate(MAX_FRAME + 1);
        while (channel.isOpen()) {
            try {
                buffer.clear();
                int n = channel.read(buffer);
                if (n >= 14 && n <= MAX_FRAME) {
                    deliver.accept(Arrays.copyOf(buffer.array(), n));
                }
            } catch (ClosedChannelException e) {
                return;
            } catch (IOException e) {
                // ICMP port unreachable from an earlier send (the peer is not up yet): keep listening
            }
        }
    }

    @Override
    public void send(byte[] frame) {
        if (frame.length > MAX_FRAME) {
            return;
        }
        try {
            channel.write(ByteBuffer.wrap(frame));
        } catch (IOException e) {
            // the peer is not listening: the frame is lost, as on a cable nobody is plugged into
        }
    }

    @Override
    public void close() {
        try {
            channel.close();
        } catch (IOException e) {
            // closing anyway
        }
        try {
            receiver.join(5000);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
