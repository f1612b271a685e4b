package org.example.hello;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.atomic.AtomicLong;

import org.lguest.api.virtio.DescriptorChain;
import org.lguest.api.virtio.DeviceContext;
import org.lguest.api.virtio.DeviceSession;
import org.lguest.api.virtio.VirtQueue;
import org.lguest.api.virtio.VirtioDevice;
import org.osgi.service.component.annotations.Activate;
import org.osgi.service.component.annotations.Component;
import org.osgi.service.component.annotations.ConfigurationPolicy;
import org.osgi.service.metatype.annotations.AttributeDefinition;
import org.osgi.service.metatype.annotations.Designate;
import org.osgi.service.metatype.annotations.ObjectClassDefinition;

/**
 * A small virtio device, as an example of writing one: the guest offers
 * buffers on its one queue and gets each back filled with a greeting,
 * repeated. Its 4-byte configuration space counts the greetings it has
 * handed this guest. The count lives in the platform's per-slot state, so
 * it survives a restart of this bundle under a running guest.
 * <p>
 * No Linux driver knows this device type: a guest of your own, or the
 * device kit's Java driver, talks to it.
 */
@Component(service = VirtioDevice.class, configurationPid = HelloDevice.PID,
    configurationPolicy = ConfigurationPolicy.OPTIONAL)
@Designate(ocd = HelloDevice.Config.class)
public class HelloDevice implements VirtioDevice {
    /** The configuration that sets this device up (Configuration Admin, or a file in etc/). */
    public static final String PID = "org.example.hello";
    /** A device type far above the numbers the virtio specification has handed out. */
    public static final int TYPE = 0x7E11;
    /** The key of this device's counter in the slot's state. */
    static final String GREETINGS = "hello.greetings";

    @ObjectClassDefinition(name = "Hello device", description = "Fills the guest's buffers with a greeting.")
    public @interface Config {
        @AttributeDefinition(description = "The device's name on a guest's bus")
        String name() default "hello";

        @AttributeDefinition(description = "Guest names or numbers that get this device; * for every guest")
        String[] guests() default {"*"};

        @AttributeDefinition(description = "What the guest reads")
        String greeting() default "hello, guest\n";
    }

    private final String name;
    private final byte[] greeting;

    @Activate
    public HelloDevice(Config config) {
        this(config.name(), config.greeting());
    }

    public HelloDevice(String name, String greeting) {
        if (greeting == null || greeting.isEmpty()) {
            throw new IllegalArgumentException("the greeting must not be empty");
        }
        this.name = name;
        this.greeting = greeting.getBytes(StandardCharsets.UTF_8);
    }

    @Override
    public int type() {
        return TYPE;
    }

    @Override
    public String name() {
        return name;
    }

    @Override
    public int[] queueSizes() {
        return new int[] {16};
    }

    @Override
    public int configSize() {
        return 4;
    }

    @Override
    public DeviceSession attach(DeviceContext context) {
        // A JDK type only: the next version of this bundle has its own class loader.
        AtomicLong greetings = (AtomicLong) context.state().computeIfAbsent(GREETINGS, key -> new AtomicLong());
        return new DeviceSession() {
            @Override
            public int readConfig(int offset, int size) {
                return (int) (greetings.get() >>> (8 * offset));
            }

            @Override
            public void serve(int queue) {
                VirtQueue requests = context.queue(queue);
                DescriptorChain chain;
                while ((chain = requests.next()) != null) {
                    int length = (int) Math.min(chain.writableLength(), 1 << 16);
                    int written = 0;
                    if (length > 0) {
                        try (Arena arena = Arena.ofConfined()) {
                            MemorySegment text = arena.allocate(length);
                            for (int at = 0; at < length; at++) {
                                text.set(ValueLayout.JAVA_BYTE, at, greeting[at % greeting.length]);
                            }
                            written = (int) chain.write(0, text);
                        }
                    }
                    requests.complete(chain, written);
                    greetings.incrementAndGet();
                }
            }

            @Override
            public void reset() {
            }

            @Override
            public void close() {
            }
        };
    }
}
