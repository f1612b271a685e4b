package org.lguest.virtio.console.internal;

import java.io.IOException;
import java.io.OutputStream;
import java.lang.foreign.MemorySegment;
import java.util.concurrent.ConcurrentLinkedDeque;
import java.util.concurrent.Flow;
import java.util.concurrent.atomic.AtomicLong;

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
 * The console (virtio 1.0, 5.3), one port: queue 0 carries input to the
 * guest, queue 1 its output, which goes to the guest's console stream (the
 * Launcher's console, where the early console writes too). Input comes from
 * the guest's console publisher; what the guest has not yet taken waits in
 * the platform's state, so a restart of this bundle loses none of it. The
 * emergency write register (VIRTIO_CONSOLE_F_EMERG_WRITE) works from
 * DRIVER on, before any queue exists.
 */
@Component(service = VirtioDevice.class, configurationPid = ConsoleDevice.PID, configurationPolicy = ConfigurationPolicy.OPTIONAL)
@Designate(ocd = ConsoleDevice.Config.class)
public class ConsoleDevice implements VirtioDevice {
    static final String PID = "org.lguest.virtio.console";
    /** VIRTIO_CONSOLE_F_EMERG_WRITE. */
    static final int F_EMERG_WRITE = 2;
    static final int RECEIVE = 0;
    static final int TRANSMIT = 1;
    /** Configuration: cols, rows (le16), max_nr_ports (le32), emerg_wr (le32). */
    static final int CONFIG_SIZE = 12;
    static final int EMERG_WR = 8;
    private static final String INPUT = "input";
    private static final String INPUT_BYTES = "inputBytes";

    @ObjectClassDefinition(name = "lguest virtio console", description = "The guest's console over virtio.")
    public @interface Config {
        @AttributeDefinition(name = "Name", description = "The device's name on a guest's bus")
        String name() default "console";

        @AttributeDefinition(name = "Guests", description = "Guest names or numbers that get this device; * for every guest")
        String[] guests() default {"*"};

        @AttributeDefinition(name = "Queue size", description = "Entries in each queue (a power of 2)", min = "1", max = "32768")
        int queue_size() default 64;

        @AttributeDefinition(name = "Emergency write", description = "Offer the emergency write register for output before the queues are up")
        boolean emergency_write() default true;

        @AttributeDefinition(name = "Input buffer (bytes)", description = "Input kept while the guest takes none; more is dropped", min = "1")
        int input_buffer() default 65536;
    }

    private final String name;
    private final int queueSize;
    private final boolean emergencyWrite;
    private final int inputBuffer;

    @Activate
    public ConsoleDevice(Config config) {
        this(config.name(), config.queue_size(), config.emergency_write(), config.input_buffer());
    }

    public ConsoleDevice(String name, int queueSize, boolean emergencyWrite, int inputBuffer) {
        if (queueSize < 1 || queueSize > Virtio.MAX_QUEUE_SIZE || Integer.bitCount(queueSize) != 1) {
            throw new IllegalArgumentException("console queue size " + queueSize + " is not a power of 2 up to "
                + Virtio.MAX_QUEUE_SIZE);
        }
        this.name = name == null || name.isBlank() ? "console" : name;
        this.queueSize = queueSize;
        this.emergencyWrite = emergencyWrite;
        this.inputBuffer = Math.max(1, inputBuffer);
    }

    @Override
    public int type() {
        return Virtio.ID_CONSOLE;
    }

    @Override
    public String name() {
        return name;
    }

    @Override
    public long features() {
        return emergencyWrite ? Virtio.bit(F_EMERG_WRITE) : 0;
    }

    @Override
    public int[] queueSizes() {
        return new int[] {queueSize, queueSize};
    }

    /** Every field reads as 0 (the session's default readConfig): no size, one port, emerg_wr. */
    @Override
    public int configSize() {
        return CONFIG_SIZE;
    }

    @Override
    public DeviceSession attach(DeviceContext context) {
        return new Session(context);
    }

    private final class Session implements DeviceSession, Flow.Subscriber<byte[]> {
        private final DeviceContext context;
        private final OutputStream console;
        /** Input not yet given to the guest: the platform's, so it outlives this session. */
        private final ConcurrentLinkedDeque<byte[]> input;
        private final AtomicLong inputBytes;
        private volatile Flow.Subscription subscription;
        private volatile boolean closed;

        @SuppressWarnings("unchecked")
        Session(DeviceContext context) {
            this.context = context;
            this.console = context.guest().console();
            this.input = (ConcurrentLinkedDeque<byte[]>) context.state().computeIfAbsent(INPUT, k -> new ConcurrentLinkedDeque<byte[]>());
            this.inputBytes = (AtomicLong) context.state().computeIfAbsent(INPUT_BYTES, k -> new AtomicLong());
            context.guest().consoleInput().subscribe(this);
        }

        // ---- input from the guest's console ----

        @Override
        public void onSubscribe(Flow.Subscription s) {
            if (closed) {
                s.cancel();
                return;
            }
            subscription = s;
            s.request(Long.MAX_VALUE);
        }

        @Override
        public void onNext(byte[] bytes) {
            if (closed || bytes == null || bytes.length == 0) {
                return;
            }
            if (inputBytes.get() + bytes.length > inputBuffer) {
                return; // nobody reads: drop, as a full UART would
            }
            inputBytes.addAndGet(bytes.length);
            input.add(bytes.clone());
            context.wake(RECEIVE);
        }

        @Override
        public void onError(Throwable throwable) {
        }

        @Override
        public void onComplete() {
        }

        // ---- the device ----

        @Override
        public void writeConfig(int offset, int size, int value) {
            if (emergencyWrite && offset == EMERG_WR) {
                write(new byte[] {(byte) value});
            }
        }

        @Override
        public void activate(long features) {
            if (!input.isEmpty()) {
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
                long length = Math.min(chain.readableLength(), 1 << 20);
                byte[] bytes = new byte[(int) length];
                chain.read(0, MemorySegment.ofArray(bytes));
                write(bytes);
                q.complete(chain, 0);
            }
        }

        private void receive(VirtQueue q) {
            while (!input.isEmpty()) {
                DescriptorChain chain = q.next();
                if (chain == null) {
                    return; // the guest has no buffer: the input waits
                }
                long room = chain.writableLength();
                long written = 0;
                byte[] bytes;
                while (written < room && (bytes = input.poll()) != null) {
                    long n = chain.write(written, MemorySegment.ofArray(bytes));
                    written += n;
                    inputBytes.addAndGet(-n);
                    if (n < bytes.length) {
                        input.addFirst(java.util.Arrays.copyOfRange(bytes, (int) n, bytes.length));
                    }
                }
                q.complete(chain, (int) written);
            }
        }

        private void write(byte[] bytes) {
            try {
                synchronized (console) {
                    console.write(bytes);
                    console.flush();
                }
            } catch (IOException e) {
                // the console's reader went away: the guest's output is lost, the guest goes on
            }
        }

        @Override
        public void reset() {
        }

        @Override
        public void close() {
            closed = true;
            Flow.Subscription s = subscription;
            if (s != null) {
                s.cancel();
            }
        }
    }
}
