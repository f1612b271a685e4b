package org.lguest.virtio.rng.internal;

import java.lang.foreign.MemorySegment;
import java.security.NoSuchAlgorithmException;
import java.security.SecureRandom;
import java.util.Map;

import org.lguest.api.virtio.DescriptorChain;
import org.lguest.api.virtio.DeviceContext;
import org.lguest.api.virtio.DeviceSession;
import org.lguest.api.virtio.VirtQueue;
import org.lguest.api.virtio.Virtio;
import org.lguest.api.virtio.VirtioDevice;
import org.osgi.service.component.annotations.Activate;
import org.osgi.service.component.annotations.Component;
import org.osgi.service.component.annotations.ConfigurationPolicy;
import org.osgi.service.metatype.annotations.AttributeDefinition;
import org.osgi.service.metatype.annotations.Designate;
import org.osgi.service.metatype.annotations.ObjectClassDefinition;

/**
 * The entropy device (virtio 1.0, 5.4): one request queue; each buffer the
 * guest offers comes back filled from {@link SecureRandom}. Present for every
 * guest unless configured otherwise.
 */
@Component(service = VirtioDevice.class, configurationPid = RngDevice.PID, configurationPolicy = ConfigurationPolicy.OPTIONAL)
@Designate(ocd = RngDevice.Config.class)
public class RngDevice implements VirtioDevice {
    static final String PID = "org.lguest.virtio.rng";

    @ObjectClassDefinition(name = "lguest virtio entropy device", description = "Random bytes for guests, from SecureRandom.")
    public @interface Config {
        @AttributeDefinition(name = "Name", description = "The device's name on a guest's bus")
        String name() default "rng";

        @AttributeDefinition(name = "Guests", description = "Guest names or numbers that get this device; * for every guest")
        String[] guests() default {"*"};

        @AttributeDefinition(name = "SecureRandom algorithm", description = "Empty for the platform's default (e.g. NativePRNG, DRBG)")
        String algorithm() default "";

        @AttributeDefinition(name = "Queue size", description = "Entries in the request queue (a power of 2)", min = "1", max = "32768")
        int queue_size() default 64;

        @AttributeDefinition(name = "Bytes per request", description = "The most bytes one buffer gets", min = "1")
        int max_bytes() default 65536;
    }

    private final String name;
    private final SecureRandom random;
    private final int queueSize;
    private final int maxBytes;

    @Activate
    public RngDevice(Config config) {
        this(config.name(), secureRandom(config.algorithm()), config.queue_size(), config.max_bytes());
    }

    public RngDevice(String name, SecureRandom random, int queueSize, int maxBytes) {
        if (queueSize < 1 || queueSize > Virtio.MAX_QUEUE_SIZE || Integer.bitCount(queueSize) != 1) {
            throw new IllegalArgumentException("rng queue size " + queueSize + " is not a power of 2 up to " + Virtio.MAX_QUEUE_SIZE);
        }
        if (maxBytes < 1) {
            throw new IllegalArgumentException("bytes per request must be at least 1, not " + maxBytes);
        }
        this.name = name == null || name.isBlank() ? "rng" : name;
        this.random = random;
        this.queueSize = queueSize;
        this.maxBytes = maxBytes;
    }

    static SecureRandom secureRandom(String algorithm) {
        if (algorithm == null || algorithm.isBlank()) {
            return new SecureRandom();
        }
        try {
            return SecureRandom.getInstance(algorithm);
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalArgumentException("no SecureRandom algorithm '" + algorithm + "' in this JDK", e);
        }
    }

    @Override
    public int type() {
        return Virtio.ID_ENTROPY;
    }

    @Override
    public String name() {
        return name;
    }

    @Override
    public int[] queueSizes() {
        return new int[] {queueSize};
    }

    @Override
    public DeviceSession attach(DeviceContext context) {
        return new Session(context);
    }

    /** No state of its own: each buffer is filled as it comes. */
    private final class Session implements DeviceSession {
        private final DeviceContext context;
        private byte[] bytes = new byte[0];

        Session(DeviceContext context) {
            this.context = context;
        }

        @Override
        public void serve(int queue) {
            /*V:070
             * A device serving a queue, on the device thread: each chain the guest offered is filled with
             * random bytes and given back with its length.
             */
            VirtQueue q = context.queue(queue);
            DescriptorChain chain;
            while ((chain = q.next()) != null) {
                int n = (int) Math.min(chain.writableLength(), maxBytes);
                if (bytes.length < n) {
                    bytes = new byte[n];
                }
                random.nextBytes(bytes);
                q.complete(chain, (int) chain.write(0, MemorySegment.ofArray(bytes).asSlice(0, n)));
            }
        }

        @Override
        public void reset() {
        }

        @Override
        public void close() {
        }
    }

    @Override
    public String toString() {
        return "rng " + name + " " + Map.of("queue", queueSize);
    }
}
