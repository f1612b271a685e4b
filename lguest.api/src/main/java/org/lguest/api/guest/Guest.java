package org.lguest.api.guest;

import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletionStage;

import org.lguest.api.device.GuestCounters;
import org.osgi.annotation.versioning.ProviderType;

/** One guest started by the Launcher. */
@ProviderType
public interface Guest {

    int id();

    /** The image it was booted from: a bundled name or a file path. */
    String image();

    /**
     * Its name ({@link LaunchOptions#name()}), which its devices' configurations name; the image when the
     * implementation keeps none.
     *
     * @since 1.4
     */
    default String name() {
        return image();
    }

    State state();

    /** Times the guest left the CPU for the Host so far (all CPUs). */
    long exits();

    /**
     * {@link #exits()} by what the Host's answer asked of the Launcher: {@code "notify"} for a notification no
     * eventfd took, {@code "trap N"} for trap N handed over (14: device memory, 13: a #GP); empty when the
     * implementation does not count them.
     */
    default Map<String, Long> exitsByKind() {
        return Map.of();
    }

    /**
     * What the Host counted for this guest: exits by kind, hypercalls by number, page faults filled or
     * reflected, interrupts delivered, time running and halted; {@link GuestCounters#NONE} when not known.
     *
     * @since 1.4
     */
    default GuestCounters hostCounters() {
        return GuestCounters.NONE;
    }

    /** CPU time its run threads have used. */
    Duration cpuTime();

    /** Guest RAM in bytes; 0 when the implementation does not say. */
    default long memoryBytes() {
        return 0;
    }

    /**
     * The part of guest RAM the host backs now (pages the guest touched); all of {@link #memoryBytes()} when
     * the implementation cannot tell.
     *
     * @since 1.4
     */
    default long residentBytes() {
        return memoryBytes();
    }

    /** The last lines the guest wrote to its console, oldest first; empty when none are kept. */
    default List<String> consoleTail() {
        return List.of();
    }

    /** Completes when the guest has stopped, for whatever reason. */
    CompletionStage<Outcome> outcome();

    /** A register of CPU 0 by its ptrace name ("ax", "ip", ...), read with LHREQ_GETREG. */
    long register(String name) throws LaunchException;

    /** Raises an interrupt with LHREQ_IRQ. */
    void interrupt(int irq) throws LaunchException;

    /** Stops the guest and releases everything it held. */
    void stop();

    enum State {
        RUNNING,
        /** The Launcher stopped it. */
        STOPPED,
        /** It asked to power off ({@code LHCALL_SHUTDOWN}). */
        POWERED_OFF,
        /** It asked to be restarted; booting it again is the caller's choice. */
        RESTARTED,
        /** The Host killed it for breaking a rule, or the Launcher could not go on. */
        KILLED
    }

    /**
     * How a guest ended.
     *
     * @param state how it ended: any state but {@link State#RUNNING}
     * @param reason the Host's reason string, or why the Launcher stopped it
     */
    record Outcome(State state, String reason) {
    }
}
