package org.lguest.launcher.internal;

import java.io.IOException;
import java.io.OutputStream;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.lang.management.ManagementFactory;
import java.lang.management.ThreadMXBean;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.SubmissionPublisher;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;

import org.lguest.api.abi.Errno;
import org.lguest.api.abi.Lguest;
import org.lguest.api.abi.LguestPending;
import org.lguest.api.abi.Lhcall;
import org.lguest.api.abi.Lhreq;
import org.lguest.api.abi.ProtocolWords;
import org.lguest.api.abi.PtRegs;
import org.lguest.api.cpu.AnonymousMemory;
import org.lguest.api.device.Eventfd;
import org.lguest.api.device.LauncherTask;
import org.lguest.api.device.LguestDevice;
import org.lguest.api.device.GuestCounters;
import org.lguest.api.device.LguestFile;
import org.lguest.api.guest.Guest;
import org.lguest.api.guest.LaunchException;
import org.lguest.api.virtio.GuestRam;
import org.lguest.api.virtio.VirtioBus;
import org.lguest.api.virtio.VirtioBusFactory;
import org.lguest.api.virtio.VirtioGuest;

/**
 * One guest, its virtio bus and its CPU thread. The thread initializes the
 * guest (so it owns CPU 0, as the seed requires), attaches an eventfd to each
 * of the bus's notification addresses, then loops on {@code read()} and does
 * what each answer asks: print the early console, emulate a device access or
 * hand the trap back, or end the guest. Other threads reach the CPU only by
 * queueing work and interrupting the thread, whose {@code read()} then
 * answers EINTR.
 */
final class RunningGuest implements Guest {
    private static final int CPU = 0;
    private static final long PAGE = 4096;
    /** Pages of a known pattern on each side of guest RAM: a Host that wrote outside the guest would show here. */
    private static final long GUARD_BYTES = 4 * PAGE;
    private static final byte GUARD_PATTERN = (byte) 0xA5;
    private static final long BACKEND_RETRY_MILLIS = 20;
    /** The first device's interrupt: lguest keeps 0 for the timer. */
    private static final int FIRST_DEVICE_IRQ = 1;
    /** lguest's gap between the end of RAM and the first BAR. */
    private static final long BAR_GAP = 1 << 20;
    /** How long ending a guest waits for its CPU thread to leave the Host. */
    private static final long END_WAIT_SECONDS = 10;
    private static final ThreadMXBean THREADS = ManagementFactory.getThreadMXBean();

    private final int id;
    private final String image;
    private final String name;
    /** The Host and the platform it runs on, to tell which guests end when one goes. */
    private final LguestDevice host;
    private final VirtioBusFactory platform;
    private final long memoryBytes;
    private final OutputStream console;
    private final ConsoleTail tail;
    private final Arena arena = Arena.ofShared();
    private final LauncherTask task = new LauncherTask();
    private final LguestFile file;
    private final Thread cpuThread;
    private final BlockingQueue<Runnable> cpuWork = new LinkedBlockingQueue<>();
    /** Completes with null once the Host has accepted the guest and its eventfds, or with why it refused. */
    /** Empty once the Host accepted the guest, or why it refused it. */
    private final CompletableFuture<Optional<String>> initialized = new CompletableFuture<>();
    /** Bytes typed at the guest's console, for its virtio console. */
    private final SubmissionPublisher<byte[]> consoleInput = new SubmissionPublisher<>();
    private final CompletableFuture<Outcome> outcome = new CompletableFuture<>();
    private final AtomicReference<State> state = new AtomicReference<>(State.RUNNING);
    private final AtomicLong exits = new AtomicLong();
    // Exits by kind, written by the CPU thread only and read racily for listings.
    private long notifyExits;
    private final long[] trapExits = new long[256];
    private volatile String stopReason;
    private boolean waitingForBackend;
    private volatile long finalCpuNanos;
    /** The Host's counters as they were when the file closed; null while it is open. */
    private volatile GuestCounters finalHostCounters;
    private MemorySegment ram;
    private MemorySegment guardBelow;
    private MemorySegment guardAbove;
    /** The guest's devices; null without a virtio platform. */
    private final VirtioBus bus;
    private final TrapEmulator traps;

    /**
     * @param name what the guest is called, which its devices' configurations name
     * @param virtio the platform that builds the guest's bus, or null for a guest without devices
     */
    RunningGuest(int id, String image, String name, BootPlan boot, OutputStream console, LguestDevice device,
            VirtioBusFactory virtio) throws LaunchException {
        this.id = id;
        this.image = image;
        this.name = name;
        this.host = device;
        this.platform = virtio;
        this.memoryBytes = boot.memoryBytes();
        this.console = tail = new ConsoleTail(console);
        try {
            /*M:060
             * Guest RAM comes from the LauncherTask, not from the Launcher's own arena, so the Host can check
             * every address it is given against the task's mappings; guard pages on both sides expose a Host
             * that writes past them.
             */
            // The task owns guest RAM and keeps it mapped while the Host's file holds it.
            MemorySegment all = task.allocate(GUARD_BYTES + memoryBytes + GUARD_BYTES);
            guardBelow = all.asSlice(0, GUARD_BYTES);
            ram = all.asSlice(GUARD_BYTES, memoryBytes);
            guardAbove = all.asSlice(GUARD_BYTES + memoryBytes, GUARD_BYTES);
            guardBelow.fill(GUARD_PATTERN);
            guardAbove.fill(GUARD_PATTERN);
        } catch (OutOfMemoryError e) {
            task.close();
            arena.close();
            throw new LaunchException("cannot allocate " + (memoryBytes >> 20) + " MiB of guest memory; ask for less");
        }
        try {
            boot.load(ram);
        } catch (LaunchException e) {
            task.close();
            arena.close();
            throw e;
        }
        /*M:090
         * Our /dev/lguest: opening the Host's device for this task gives the LguestFile every later request
         * goes to.
         */
        this.file = device.open(task);
        try {
            this.bus = virtio == null ? null : createBus(virtio);
        } catch (LaunchException e) {
            file.close();
            task.close();
            arena.close();
            throw e;
        }
        this.traps = new TrapEmulator(file, CPU, bus);
        if (bus != null) {
            /*M:130
             * The Host is told who answers the guest's in and out instructions: this guest's TrapEmulator, in
             * front of its bus.
             */
            file.portIo(traps);
        }
        this.cpuThread = Thread.ofPlatform().name("lguest-guest-" + id + "-cpu" + CPU).daemon()
            .unstarted(() -> run(boot.entry()));
    }

    /**
     * The guest's bus, its BARs from one MiB past the end of RAM as lguest
     * placed them. Every access there, past the page-frame limit, reaches the
     * Launcher as a device-memory fault; the gap keeps the first frames past
     * the limit answering as nothing, for guests that probe their memory's end.
     */
    private VirtioBus createBus(VirtioBusFactory factory) throws LaunchException {
        try {
            /*M:120
             * Each guest gets its own bus from the virtio platform: the devices configured for it, with BARs
             * laid out from one MiB past the end of its RAM.
             */
            return factory.create(new VirtioGuest(id, name, console, consoleInput), new GuestRam(ram, memoryBytes),
                /*M:180
                 * The way back from a device: its interrupt line is an LHREQ_IRQ write, from whichever device
                 * thread raises it.
                 */
                irq -> Requests.write(file, CPU, Lhreq.IRQ, irq), memoryBytes + BAR_GAP, FIRST_DEVICE_IRQ);
        } catch (IllegalArgumentException e) {
            throw new LaunchException("the guest's virtio devices do not fit: " + e.getMessage() + "; configure fewer devices", e);
        }
    }

    /** Starts the CPU thread and waits until the Host has accepted the guest. */
    void start() throws LaunchException {
        cpuThread.start();
        try {
            Optional<String> refused = initialized.get(30, TimeUnit.SECONDS);
            if (refused.isPresent()) {
                throw new LaunchException("the Host refused the guest: " + refused.get());
            }
        } catch (ExecutionException | TimeoutException e) {
            stop();
            throw new LaunchException("the guest did not start: " + e.getMessage(), e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            stop();
            throw new LaunchException("interrupted while starting the guest");
        }
    }

    // The CPU thread: initialize, then read until the guest ends.
    private void run(long entry) {
        /*M:100
         * On the guest's own CPU thread, the first request: LHREQ_INITIALIZE with where RAM starts, how many
         * pages it has and the entry point. Whichever thread sends it owns CPU 0 from then on.
         */
        long answer = Requests.write(file, CPU, Lhreq.INITIALIZE, ram.address(), memoryBytes / PAGE, entry);
        Optional<String> refused = answer == -Errno.EAGAIN
            ? Optional.of("LHREQ_INITIALIZE answered EAGAIN: the Host has no page-table manager (is lguest.paging active? try 'lb lguest')")
            : answer < 0 ? Optional.of("LHREQ_INITIALIZE answered " + Errno.name((int) answer)) : attachEventfds();
        initialized.complete(refused);
        if (refused.isPresent()) {
            finish(State.KILLED, refused.get());
            return;
        }
        MemorySegment buffer = arena.allocate(1024);
        try {
            runLoop(buffer);
        } catch (RuntimeException e) {
            finish(State.KILLED, "the Launcher failed: " + e);
        }
    }

    private void runLoop(MemorySegment buffer) {
        while (true) {
            Runnable work;
            while ((work = cpuWork.poll()) != null) {
                work.run();
            }
            if (stopReason != null) {
                finish(State.STOPPED, stopReason);
                return;
            }
            long n = file.read(buffer, CPU);
            if (n == -Errno.EINTR) {
                Thread.interrupted();
                continue;
            }
            if (n == -Errno.EAGAIN) {
                // No vCPU backend or page-table manager right now (one is being replaced): the guest waits, intact.
                awaitBackend();
                continue;
            }
            waitingForBackend = false;
            exits.incrementAndGet();
            if (n == -Errno.ENOENT) {
                /*M:190
                 * The guest is dead: the next read gives its reason. A shutdown's reason carries the CRASH
                 * prefix and counts as a power-off; finish() then closes the file, checks the guard pages and
                 * frees RAM.
                 */
                String reason = deathReason(buffer);
                boolean shutdown = reason.startsWith(Lhcall.SHUTDOWN_REASON_PREFIX);
                finish(shutdown ? State.POWERED_OFF : State.KILLED, reason);
                return;
            }
            if (n == -Errno.ERESTART) {
                finish(State.RESTARTED, "the guest asked to be restarted");
                return;
            }
            if (n < 0) {
                finish(State.KILLED, "reading the guest failed: " + Errno.name((int) n));
                return;
            }
            if (n == Lhreq.WORD) {
                notifyExits++;
                notification(buffer.get(ProtocolWords.WORD_LAYOUT, 0));
            } else if (n == LguestPending.SIZE) {
                /*M:160
                 * A trap the Host could not settle comes out of read() as a struct lguest_pending: emulated
                 * here if it is an access to the bus, otherwise handed back to the guest.
                 */
                LguestPending trap = LguestPending.decode(buffer);
                trapExits[trap.trap() & 0xFF]++;
                Optional<String> failure = traps.handle(trap);
                if (failure.isPresent()) {
                    finish(State.KILLED, failure.get());
                    return;
                }
            } else {
                finish(State.KILLED, "the Host answered a read with " + n + " bytes, which means nothing to the Launcher");
                return;
            }
            if (outcome.isDone()) {
                return;
            }
        }
    }

    /**
     * Each queue's notification address gets its device's eventfd, so a
     * guest's NOTIFY there wakes the device inside the Host and never comes
     * out of {@code read()}. Empty, or why the Host refused one.
     */
    private Optional<String> attachEventfds() {
        if (bus == null) {
            return Optional.empty();
        }
        /*M:140
         * After LHREQ_INITIALIZE, every device's notification register gets that device's eventfd with
         * LHREQ_EVENTFD, so a guest's kick wakes the device without leaving the Host.
         */
        for (var entry : bus.notifyAddresses().entrySet()) {
            int fd = task.descriptors().install(entry.getValue());
            long answer = Requests.write(file, CPU, Lhreq.EVENTFD, entry.getKey(), fd);
            if (answer < 0) {
                return Optional.of(String.format("LHREQ_EVENTFD for notification address %#x answered %s", entry.getKey(),
                    Errno.name((int) answer)));
            }
        }
        return Optional.empty();
    }

    private void awaitBackend() {
        if (!waitingForBackend) {
            waitingForBackend = true;
            System.getLogger(RunningGuest.class.getName()).log(System.Logger.Level.WARNING,
                "guest " + id + " waits: the Host has no vCPU backend or no page-table manager (its warning says which)");
        }
        try {
            Thread.sleep(BACKEND_RETRY_MILLIS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    private String deathReason(MemorySegment buffer) {
        long n = file.read(buffer, CPU);
        if (n <= 0) {
            return "the guest died (" + (n < 0 ? Errno.name((int) n) : "no reason given") + ")";
        }
        byte[] text = buffer.asSlice(0, n).toArray(ValueLayout.JAVA_BYTE);
        int end = 0;
        while (end < text.length && text[end] != 0) {
            end++;
        }
        return new String(text, 0, end, StandardCharsets.UTF_8);
    }

    /** The most the early console takes from one NOTIFY: a line's worth; the rest of a longer string is not shown. */
    static final int EARLY_CONSOLE_MAX = 4096;

    /*
     * The NUL-terminated string at address, cut at EARLY_CONSOLE_MAX bytes
     * and at the end of RAM: the guest chooses its length, so it must not
     * choose what we allocate (issue 13, finding 3: a 1.5 GiB string).
     */
    static byte[] earlyConsoleText(MemorySegment ram, long address) {
        long limit = Math.min(ram.byteSize(), address + EARLY_CONSOLE_MAX);
        long end = address;
        while (end < limit && ram.get(ValueLayout.JAVA_BYTE, end) != 0) {
            end++;
        }
        return ram.asSlice(address, end - address).toArray(ValueLayout.JAVA_BYTE);
    }

    /**
     * A notification no eventfd in the Host took. A device's notification
     * address wakes its device here instead. Otherwise it is early console
     * output: the address of a NUL-terminated string in guest memory; anything
     * outside guest memory stops the guest, as lguest's Launcher did ("Bad NOTIFY").
     */
    private void notification(long address) {
        Eventfd device = bus == null ? null : bus.notifyAddresses().get(address);
        if (device != null) {
            device.signal(1);
            return;
        }
        if (address < 0 || address >= memoryBytes) {
            finish(State.KILLED, String.format("Bad NOTIFY %#x: not in guest memory", address));
            return;
        }
        /*M:110
         * A NOTIFY that reached the Launcher and is no device's: the guest's early console. The address names
         * a NUL-terminated string in its RAM (hello's greeting), printed as it is.
         */
        say(earlyConsoleText(ram, address));
    }

    /** Writes to the guest's console, from any thread (the console takes whole writes). */
    private void say(byte[] text) {
        try {
            console.write(text);
            console.flush();
        } catch (IOException e) {
            // The console's reader went away; the guest goes on without it.
        }
    }

    private synchronized void finish(State end, String reason) {
        if (!outcome.isDone()) {
            if (Thread.currentThread() == cpuThread) {
                finalCpuNanos = THREADS.getCurrentThreadCpuTime();
            }
            finalHostCounters = file.counters();
            file.close();
            if (!guardsIntact()) {
                // Not the guest's doing: the Host reached memory that was never the guest's.
                end = State.KILLED;
                reason = "HOST BUG: memory beside the guest's RAM changed (" + reason + ")";
                System.getLogger(RunningGuest.class.getName()).log(System.Logger.Level.ERROR, "guest " + id + ": " + reason);
            }
            state.set(end);
            if (bus != null) {
                // Before the RAM goes: the device threads stop touching it.
                bus.close();
            }
            consoleInput.close();
            task.close();
            arena.close();
            outcome.complete(new Outcome(end, reason));
        }
    }

    private boolean guardsIntact() {
        for (MemorySegment guard : new MemorySegment[] {guardBelow, guardAbove}) {
            for (long i = 0; i < guard.byteSize(); i += Long.BYTES) {
                if (guard.get(ValueLayout.JAVA_LONG_UNALIGNED, i) != 0xA5A5_A5A5_A5A5_A5A5L) {
                    return false;
                }
            }
        }
        return true;
    }

    /** The guest's virtio bus, or null when it has none. */
    VirtioBus bus() {
        return bus;
    }

    /** Where bytes typed at the guest's console go. */
    SubmissionPublisher<byte[]> consoleInput() {
        return consoleInput;
    }

    @Override
    public int id() {
        return id;
    }

    @Override
    public String image() {
        return image;
    }

    @Override
    public String name() {
        return name;
    }

    @Override
    public State state() {
        return state.get();
    }

    /** Whether the guest runs on {@code service} (its Host or its virtio platform). */
    boolean runsOn(Object service) {
        return service != null && (service == host || service == platform);
    }

    /** Guest RAM the host has backed so far (pages touched): admission control counts it, and so do benchmarks. */
    @Override
    public long residentBytes() {
        MemorySegment r = ram;
        return r == null || !r.scope().isAlive() ? 0 : AnonymousMemory.resident(r);
    }

    @Override
    public long exits() {
        return exits.get();
    }

    @Override
    public Map<String, Long> exitsByKind() {
        Map<String, Long> kinds = new LinkedHashMap<>();
        kinds.put("notify", notifyExits);
        for (int trap = 0; trap < trapExits.length; trap++) {
            long n = trapExits[trap];
            if (n != 0) {
                kinds.put("trap " + trap, n);
            }
        }
        return kinds;
    }

    @Override
    public GuestCounters hostCounters() {
        GuestCounters last = finalHostCounters;
        return last != null ? last : file.counters();
    }

    @Override
    public long memoryBytes() {
        return memoryBytes;
    }

    @Override
    public List<String> consoleTail() {
        return tail.lines();
    }

    @Override
    public Duration cpuTime() {
        long nanos = outcome.isDone() ? finalCpuNanos : THREADS.getThreadCpuTime(cpuThread.threadId());
        return Duration.ofNanos(Math.max(nanos, 0));
    }

    @Override
    public CompletionStage<Outcome> outcome() {
        return outcome.copy();
    }

    @Override
    public long register(String name) throws LaunchException {
        long selector = PtRegs.byName(name);
        if (selector < 0) {
            throw new LaunchException("no register '" + name + "': use one of bx cx dx si di bp ax ds es fs gs ip cs flags sp ss");
        }
        // A guest being stopped has no registers worth showing: say so, as for one that has ended.
        if (stopReason != null || state.get() != State.RUNNING) {
            throw new LaunchException("guest " + id + " has ended: " + (outcome.isDone() ? outcome.join().reason() : stopReason));
        }
        CompletableFuture<Long> value = new CompletableFuture<>();
        onCpu(() -> {
            try {
                value.complete(new GuestRegisters(file, CPU).get(selector));
            } catch (LaunchException e) {
                value.completeExceptionally(e);
            }
        });
        return await(value, "register " + name);
    }

    @Override
    public void interrupt(int irq) throws LaunchException {
        long answer = Requests.write(file, CPU, Lhreq.IRQ, irq);
        if (answer < 0) {
            throw new LaunchException("LHREQ_IRQ " + irq + ": " + Errno.name((int) answer)
                + (answer == -Errno.EINVAL ? " (irqs are 0 to " + (Lguest.LGUEST_IRQS - 1) + ")" : ""));
        }
    }

    @Override
    public void stop() {
        if (stopReason == null) {
            stopReason = "stopped by the Launcher";
        }
        cpuThread.interrupt();
        if (!cpuThread.isAlive()) {
            finish(State.STOPPED, stopReason);
        }
    }

    /**
     * Ends the guest because something it runs on went away: the reason goes
     * on its console, as the last line, and becomes its outcome's.
     */
    void end(String reason) {
        if (stopReason != null || outcome.isDone()) {
            return;
        }
        stopReason = reason;
        say(("\nended: " + reason + "\n").getBytes(StandardCharsets.UTF_8));
        stop();
    }

    /** Waits (a bounded time) until the guest has ended: its bus closed, its file with the Host closed. */
    void awaitEnd() {
        try {
            outcome.get(END_WAIT_SECONDS, TimeUnit.SECONDS);
        } catch (TimeoutException | ExecutionException e) {
            System.getLogger(RunningGuest.class.getName()).log(System.Logger.Level.WARNING,
                "guest " + id + " did not end within " + END_WAIT_SECONDS + " s: " + e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    /** Runs work on the CPU thread between two reads. */
    private void onCpu(Runnable work) throws LaunchException {
        if (outcome.isDone()) {
            throw new LaunchException("guest " + id + " has ended: " + outcome.join().reason());
        }
        cpuWork.add(work);
        cpuThread.interrupt();
    }

    private <T> T await(CompletableFuture<T> answer, String what) throws LaunchException {
        try {
            return answer.get(10, TimeUnit.SECONDS);
        } catch (ExecutionException e) {
            throw e.getCause() instanceof LaunchException l ? l : new LaunchException(what + ": " + e.getCause(), e);
        } catch (TimeoutException e) {
            throw new LaunchException(what + ": the guest's CPU thread did not answer within 10 s");
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new LaunchException(what + ": interrupted");
        }
    }
}
