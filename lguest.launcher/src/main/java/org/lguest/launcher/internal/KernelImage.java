package org.lguest.launcher.internal;

import java.lang.foreign.MemorySegment;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;

import org.lguest.api.guest.LaunchException;

/**
 * What the Launcher boots, as lguest's Launcher told them apart: an ELF file
 * (a vmlinux, or one of our own images) is loaded segment by segment at its
 * physical addresses; anything else must be a bzImage, whose setup header
 * says where its protected-mode part starts. Parsing reads only headers;
 * {@link #load} copies the rest straight into guest RAM.
 */
sealed interface KernelImage permits ElfImage, BzImage {
    int ELF_MAGIC = 0x464C457F;

    /** Guest-physical address of the first instruction. */
    long entry();

    /** The first guest-physical byte above everything it loads: an initrd must start at or above it. */
    long end();

    /** Refuses, with what to do about it, an image that does not fit below {@code limit}. */
    void checkFits(long limit) throws LaunchException;

    /** Copies it into fresh (all-zero) guest RAM; {@link #checkFits} has passed. */
    void load(MemorySegment ram) throws LaunchException;

    static KernelImage parse(ImageSource source) throws LaunchException {
        /*M:020
         * Two kinds of kernel are told apart by their first bytes: an ELF file is loaded by segments, and
         * anything with a Linux setup header is a bzImage.
         */
        if (source.size() >= 4 && little(source.bytes(0, 4)).getInt(0) == ELF_MAGIC) {
            return ElfImage.parse(source);
        }
        if (BzImage.hasSetupHeader(source)) {
            return BzImage.parse(source);
        }
        throw refuse(source, "it is neither an ELF32 i386 file (vmlinux) nor a bzImage (no \"HdrS\" setup header at "
            + String.format("%#x", BzImage.HEADER_MAGIC_OFFSET) + ")");
    }

    static LaunchException refuse(ImageSource source, String why) {
        return new LaunchException("cannot boot " + source.name() + ": " + why);
    }

    static ByteBuffer little(byte[] bytes) {
        return ByteBuffer.wrap(bytes).order(ByteOrder.LITTLE_ENDIAN);
    }
}
