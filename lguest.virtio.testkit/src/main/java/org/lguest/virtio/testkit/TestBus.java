package org.lguest.virtio.testkit;

import java.util.List;
import java.util.Objects;
import java.util.ServiceLoader;

import org.lguest.api.virtio.StandaloneBus;
import org.lguest.api.virtio.StandaloneBusFactory;
import org.lguest.api.virtio.VirtioBus;
import org.lguest.api.virtio.VirtioDevice;
import org.lguest.api.virtio.VirtioGuest;

/**
 * The devices under test on the platform's real PCI bus, over guarded guest
 * RAM, with a Java guest driver and an interrupt recorder: everything a
 * device test needs, in one object to close. The device region starts where
 * RAM ends. {@link #detach}, {@link #attach} and {@link #restart} do what the
 * platform does when a device service goes and comes, so a test can check
 * that its device carries on where the guest left it.
 * <p>
 * The bus comes from the {@link StandaloneBusFactory} that {@code
 * lguest.virtio} registers in {@code META-INF/services}: put that artifact on
 * the test class path beside the kit. Every field is final; the bus and the
 * recorder are safe from any thread, the driver is for the test's thread.
 */
public final class TestBus implements AutoCloseable {
    /** RAM when the test does not choose: room for rings and buffers of a few queues. */
    public static final long DEFAULT_RAM = 4L << 20;

    private final GuardedRam memory;
    private final RecordingInterrupts interrupts = new RecordingInterrupts();
    private final StandaloneBus bus;
    private final GuestDriver driver;

    /**
     * The devices on slots 1 upward, for a guest numbered 1 named "test",
     * with {@link #DEFAULT_RAM} and interrupts from 1.
     */
    public TestBus(VirtioDevice... devices) {
        this(VirtioGuest.of(1, "test", null), DEFAULT_RAM, 1, List.of(devices));
    }

    /**
     * @param guest who the devices serve (its console output and input, for a console device)
     * @param ramBytes guest RAM, a multiple of 4096
     * @param firstIrq the interrupt of the first device; the next ones count up
     * @param devices the devices on slots 1 upward
     */
    public TestBus(VirtioGuest guest, long ramBytes, int firstIrq, List<? extends VirtioDevice> devices) {
        this(platform(), guest, ramBytes, firstIrq, devices);
    }

    /** As above, with the bus made by {@code factory} instead of the one on the class path. */
    public TestBus(StandaloneBusFactory factory, VirtioGuest guest, long ramBytes, int firstIrq,
            List<? extends VirtioDevice> devices) {
        Objects.requireNonNull(factory, "factory");
        memory = new GuardedRam(ramBytes);
        try {
            bus = factory.create(guest, memory.guestRam(), interrupts, ramBytes, firstIrq, devices);
        } catch (RuntimeException e) {
            memory.close();
            throw e;
        }
        driver = new GuestDriver(bus, memory.guestRam());
    }

    /**
     * The platform's bus factory from the class path.
     *
     * @throws IllegalStateException when no artifact provides one
     */
    public static StandaloneBusFactory platform() {
        for (ClassLoader loader : new ClassLoader[] {Thread.currentThread().getContextClassLoader(),
                TestBus.class.getClassLoader()}) {
            if (loader == null) {
                continue;
            }
            var found = ServiceLoader.load(StandaloneBusFactory.class, loader).findFirst();
            if (found.isPresent()) {
                return found.get();
            }
        }
        throw new IllegalStateException("no " + StandaloneBusFactory.class.getName()
            + " on the class path: add org.lguest:lguest.virtio to the test dependencies beside the kit");
    }

    public StandaloneBus bus() {
        return bus;
    }

    public GuestDriver driver() {
        return driver;
    }

    public GuardedRam memory() {
        return memory;
    }

    public RecordingInterrupts interrupts() {
        return interrupts;
    }

    /** The first device of a virtio type, as the guest finds it. */
    public DriverDevice find(int type) {
        return driver.find(type);
    }

    /** The slot serving the device named {@code name}, as the bus lists it now. */
    public VirtioBus.Slot slot(String name) {
        return bus.slots().stream().filter(s -> s.name().equals(name)).findFirst()
            .orElseThrow(() -> new AssertionError("no slot named " + name + " on the bus"));
    }

    /** Takes the device off its slot, as when its bundle stops; the guest's side of the slot stays. */
    public void detach(VirtioDevice device) {
        bus.detach(device);
    }

    /**
     * Puts a device on the vacant slot of its name, as when a bundle starts.
     *
     * @return false when the slot is taken or the device's shape differs from the slot's
     */
    public boolean attach(VirtioDevice device) {
        return bus.attach(device);
    }

    /**
     * Replaces {@code running} by {@code replacement} (which may be the same
     * object), as a restart or an update of the device's bundle does.
     *
     * @return whether the replacement was attached
     */
    public boolean restart(VirtioDevice running, VirtioDevice replacement) {
        bus.detach(running);
        return bus.attach(replacement);
    }

    /**
     * Closes the bus (every device detached, its threads stopped), then
     * frees the RAM.
     *
     * @throws AssertionError when something wrote outside guest RAM
     */
    @Override
    public void close() {
        long changed;
        try {
            bus.close();
        } finally {
            changed = memory.changedGuardBytes();
            memory.close();
        }
        if (changed != 0) {
            throw new AssertionError(changed + " guard bytes around guest RAM changed: something wrote outside it");
        }
    }
}
