package org.lguest.api.virtio;

import java.lang.foreign.MemorySegment;
import java.util.List;

import org.osgi.annotation.versioning.ProviderType;

/**
 * A checked descriptor chain: the guest buffers of one request, each a
 * slice of guest RAM that the platform has checked lies inside it. The
 * device-readable buffers come first, then the device-writable ones.
 */
@ProviderType
public interface DescriptorChain {

    /** The head descriptor's index, as the used ring reports it. */
    int head();

    /** The buffers the device may read, in order. */
    List<MemorySegment> readable();

    /** The buffers the device may write, in order. */
    List<MemorySegment> writable();

    long readableLength();

    long writableLength();

    /**
     * Copies readable bytes from {@code offset} (counted over all readable
     * buffers) into {@code destination}, as many as fit and exist.
     *
     * @return the bytes copied
     */
    long read(long offset, MemorySegment destination);

    /**
     * Copies {@code source} into the writable buffers from {@code offset}
     * (counted over all writable buffers), as much as fits.
     *
     * @return the bytes copied
     */
    long write(long offset, MemorySegment source);
}
