package org.lguest.launcher.internal;

import java.lang.foreign.MemorySegment;
import java.nio.ByteBuffer;

import org.lguest.api.guest.LaunchException;

/**
 * A bzImage, loaded as lguest's Launcher loaded one: only the protected-mode
 * part (the file after the boot sector and the setup sectors) goes into
 * guest RAM, at 1 MiB, and the guest enters at the header's code32_start,
 * the decompressor's 32-bit entry. The real-mode setup code never runs and
 * its header is not copied into the boot data: the Launcher writes that
 * itself ({@link BootParams}).
 */
record BzImage(String name, ImageSource source, long payloadOffset, long payloadSize, long entry) implements KernelImage {
    /** Where the protected-mode part goes, as for every bzImage loaded high. */
    static final long LOAD_ADDRESS = 0x100000;
    static final int HEADER_MAGIC_OFFSET = 0x202;
    private static final int HEADER_MAGIC = 0x53726448; // "HdrS"
    private static final int SETUP_SECTS = 0x1F1;
    private static final int CODE32_START = 0x214;
    /** The header up to code32_start is all we read. */
    private static final int HEADER_BYTES = CODE32_START + 4;
    private static final int SECTOR = 512;
    /** The boot protocol's rule for very old images: 0 setup sectors means 4. */
    private static final int SETUP_SECTS_WHEN_ZERO = 4;

    static boolean hasSetupHeader(ImageSource source) throws LaunchException {
        return source.size() >= HEADER_BYTES
            && KernelImage.little(source.bytes(HEADER_MAGIC_OFFSET, 4)).getInt(0) == HEADER_MAGIC;
    }

    static BzImage parse(ImageSource source) throws LaunchException {
        /*M:030
         * A Linux bzImage: only its header is read here. The setup sectors are skipped (a count of 0 stands
         * for 4), the rest of the file is the protected-mode part that will sit at 1 MiB, and code32_start,
         * which must fall inside that part, becomes the entry point.
         */
        ByteBuffer header = KernelImage.little(source.bytes(0, HEADER_BYTES));
        int setupSects = Byte.toUnsignedInt(header.get(SETUP_SECTS));
        if (setupSects == 0) {
            setupSects = SETUP_SECTS_WHEN_ZERO;
        }
        long payloadOffset = (long) (setupSects + 1) * SECTOR;
        if (payloadOffset >= source.size()) {
            throw KernelImage.refuse(source, String.format("its setup header says %d setup sectors, but the file ends at"
                + " %d bytes: there is no protected-mode part", setupSects, source.size()));
        }
        long payloadSize = source.size() - payloadOffset;
        long entry = Integer.toUnsignedLong(header.getInt(CODE32_START));
        if (entry < LOAD_ADDRESS || entry >= LOAD_ADDRESS + payloadSize) {
            throw KernelImage.refuse(source, String.format("its code32_start %#x lies outside its protected-mode part"
                + " (%#x to %#x)", entry, LOAD_ADDRESS, LOAD_ADDRESS + payloadSize));
        }
        return new BzImage(source.name(), source, payloadOffset, payloadSize, entry);
    }

    @Override
    public long end() {
        return LOAD_ADDRESS + payloadSize;
    }

    @Override
    public void checkFits(long limit) throws LaunchException {
        if (end() > limit) {
            throw new LaunchException(String.format("cannot boot %s: its protected-mode part (%d KiB at %#x) does not fit"
                + " in %d MiB of guest memory", name, payloadSize >> 10, LOAD_ADDRESS, limit >> 20));
        }
    }

    @Override
    public void load(MemorySegment ram) throws LaunchException {
        source.read(payloadOffset, ram.asSlice(LOAD_ADDRESS, payloadSize));
    }
}
