package org.lguest.api.device;

import java.lang.foreign.MemorySegment;

import org.lguest.api.cpu.PortIo;
import org.osgi.annotation.versioning.ProviderType;

/**
 * One open {@code /dev/lguest}: one guest. Writes are little-endian arrays
 * of {@link org.lguest.api.abi.Lhreq#WORD 64-bit words} whose first word is the request; reads
 * run a guest CPU. The CPU index travels as the file offset did. Each call
 * answers with a byte count or a negated {@link org.lguest.api.abi.Errno errno}.
 * <p>
 * Beyond lguest: an address attached with {@link org.lguest.api.abi.Lhreq#EVENTFD}
 * may lie in device memory, such as a virtio notify register. A store there
 * then signals the eventfd inside the Host and never comes out of {@link #read};
 * loads there, and stores elsewhere in device memory, still come out as trap 14.
 */
@ProviderType
public interface LguestFile extends AutoCloseable {

    /**
     * Sends a request.
     *
     * @param request the words; reading past its end is {@code -EFAULT}
     * @param cpu the CPU index (the seed's file offset)
     * @return the bytes the request used, or a negated errno
     */
    long write(MemorySegment request, long cpu);

    /**
     * Runs guest CPU {@code cpu} until something needs the Launcher, and fills
     * {@code buffer} with what that is: a register after GETREG, a
     * notification address, a pending trap, or the dead guest's reason.
     * Only the thread that initialized the CPU may read it.
     *
     * @return the bytes written to {@code buffer}, or a negated errno
     */
    long read(MemorySegment buffer, long cpu);

    /**
     * Where this guest's port I/O goes when its CPUs' engine runs {@code in}
     * and {@code out} instead of trapping them (there is no request word for
     * this: lguest's Host always trapped them to the Launcher). The handler
     * is called on the CPU's thread inside {@link #read}. Null: no device
     * answers any port. An engine that traps still hands the access to the
     * Launcher as trap 13.
     *
     * @since 1.1
     */
    void portIo(PortIo handler);

    /**
     * What the Host has counted for this guest so far ({@link GuestCounters}). Safe from any thread.
     *
     * @since 1.3
     */
    default GuestCounters counters() {
        return GuestCounters.NONE;
    }

    /** Tears the guest down: timers, page tables, eventfds, everything. Idempotent. */
    @Override
    void close();
}
