package org.lguest.api.virtio;

import java.lang.foreign.MemorySegment;
import java.util.Objects;
import java.util.Optional;

/**
 * Guest-physical memory as devices may see it: the first {@code size} bytes
 * of the Launcher's RAM segment, guest-physical address 0 at offset 0.
 * Nothing outside it can be reached through this view: {@link #memory()} is
 * exactly {@code size} bytes long, and {@link #slice} answers empty for any
 * range that does not lie wholly inside.
 */
public final class GuestRam {
    private final MemorySegment memory;

    /**
     * @param ram the Launcher's segment for the guest's RAM
     * @param size the bytes the guest may use (its page-frame limit times the page size)
     */
    public GuestRam(MemorySegment ram, long size) {
        Objects.requireNonNull(ram, "ram");
        if (size <= 0 || size > ram.byteSize()) {
            throw new IllegalArgumentException("guest RAM of " + size + " bytes does not fit a segment of " + ram.byteSize());
        }
        this.memory = ram.asSlice(0, size);
    }

    /** The RAM: exactly {@link #size()} bytes. */
    public MemorySegment memory() {
        return memory;
    }

    /** Bytes of guest RAM: every address at or past this is not RAM. */
    public long size() {
        return memory.byteSize();
    }

    /** Whether {@code [address, address + length)} lies wholly inside guest RAM. */
    public boolean contains(long address, long length) {
        long size = memory.byteSize();
        return address >= 0 && length >= 0 && address <= size && length <= size - address;
    }

    /** The RAM at {@code address} of {@code length} bytes, or empty when any of it lies outside. */
    public Optional<MemorySegment> slice(long address, long length) {
        return contains(address, length) ? Optional.of(memory.asSlice(address, length)) : Optional.empty();
    }

    @Override
    public String toString() {
        return "GuestRam[" + memory.byteSize() + " bytes]";
    }
}
