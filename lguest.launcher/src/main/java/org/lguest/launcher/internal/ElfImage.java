package org.lguest.launcher.internal;

import java.lang.foreign.MemorySegment;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.List;

import org.lguest.api.guest.LaunchException;

/**
 * An ELF32 i386 executable: a vmlinux or one of our own images, checked
 * before anything touches guest RAM. Like lguest's Launcher we load each
 * {@code PT_LOAD} segment at its physical address and enter at
 * {@code e_entry}: the guest starts on a linear mapping, so a physical entry
 * point is where it runs (a vmlinux links its entry at its physical address).
 */
record ElfImage(String name, ImageSource source, long entry, List<Segment> segments) implements KernelImage {
    private static final int PT_LOAD = 1;
    private static final int ET_EXEC = 2;
    private static final int EM_386 = 3;
    private static final int EHDR_SIZE = 52;
    private static final int PHDR_SIZE = 32;
    /** A vmlinux has a handful of program headers; more is not a kernel. */
    static final int MAX_PROGRAM_HEADERS = 128;

    /** One loadable segment: file bytes [offset, offset+fileSize) at physical address, zero-filled to memSize. */
    record Segment(long physical, long offset, long fileSize, long memSize) {
        long end() {
            return physical + memSize;
        }
    }

    ElfImage {
        segments = List.copyOf(segments);
    }

    /** Parses and checks the headers; every refusal says what is wrong with the file. */
    static ElfImage parse(ImageSource source) throws LaunchException {
        if (source.size() < EHDR_SIZE) {
            throw KernelImage.refuse(source, "it is too short for an ELF header");
        }
        byte[] bytes = source.bytes(0, EHDR_SIZE);
        ByteBuffer elf = KernelImage.little(bytes);
        if (elf.getInt(0) != KernelImage.ELF_MAGIC) {
            throw KernelImage.refuse(source, "it is not an ELF file");
        }
        if (bytes[4] != 1 || bytes[5] != 1) {
            throw KernelImage.refuse(source, "it is not a 32-bit little-endian ELF (lguest guests are ELF32 i386)");
        }
        if (Short.toUnsignedInt(elf.getShort(16)) != ET_EXEC) {
            throw KernelImage.refuse(source, "it is not an executable (ET_EXEC); link it statically");
        }
        if (Short.toUnsignedInt(elf.getShort(18)) != EM_386) {
            throw KernelImage.refuse(source, "its machine is not i386 (EM_386)");
        }
        long entry = Integer.toUnsignedLong(elf.getInt(24));
        long phoff = Integer.toUnsignedLong(elf.getInt(28));
        int phentsize = Short.toUnsignedInt(elf.getShort(42));
        int phnum = Short.toUnsignedInt(elf.getShort(44));
        if (phentsize != PHDR_SIZE) {
            throw KernelImage.refuse(source, "its program headers are " + phentsize + " bytes each, not " + PHDR_SIZE);
        }
        if (phnum > MAX_PROGRAM_HEADERS) {
            throw KernelImage.refuse(source, "it has " + phnum + " program headers (at most " + MAX_PROGRAM_HEADERS
                + " make sense)");
        }
        if (phoff + (long) phnum * PHDR_SIZE > source.size()) {
            throw KernelImage.refuse(source, "its program headers lie outside the file");
        }
        ByteBuffer headers = KernelImage.little(source.bytes(phoff, phnum * PHDR_SIZE));
        List<Segment> segments = new ArrayList<>();
        for (int i = 0; i < phnum; i++) {
            int at = i * PHDR_SIZE;
            if (headers.getInt(at) != PT_LOAD) {
                continue;
            }
            long offset = Integer.toUnsignedLong(headers.getInt(at + 4));
            long physical = Integer.toUnsignedLong(headers.getInt(at + 12));
            long fileSize = Integer.toUnsignedLong(headers.getInt(at + 16));
            long memSize = Integer.toUnsignedLong(headers.getInt(at + 20));
            if (offset + fileSize > source.size()) {
                throw KernelImage.refuse(source, "segment " + i + " runs past the end of the file");
            }
            if (fileSize > memSize) {
                throw KernelImage.refuse(source, "segment " + i + " has more file bytes than memory bytes");
            }
            segments.add(new Segment(physical, offset, fileSize, memSize));
        }
        if (segments.isEmpty()) {
            throw KernelImage.refuse(source, "it has no loadable (PT_LOAD) segment");
        }
        boolean entryLoaded = segments.stream().anyMatch(s -> entry >= s.physical() && entry < s.end());
        if (!entryLoaded) {
            throw KernelImage.refuse(source, String.format("its entry point %#x lies in no loadable segment", entry));
        }
        return new ElfImage(source.name(), source, entry, segments);
    }

    @Override
    public long end() {
        return segments.stream().mapToLong(Segment::end).max().orElseThrow();
    }

    @Override
    public void checkFits(long limit) throws LaunchException {
        for (Segment segment : segments) {
            if (segment.end() > limit) {
                throw new LaunchException(String.format("cannot boot %s: its segment at %#x (%d KiB) does not fit in %d MiB"
                    + " of guest memory; give it more (--memory)", name, segment.physical(), segment.memSize() >> 10,
                    limit >> 20));
            }
            if (segment.physical() < BootParams.RESERVED_BYTES) {
                throw new LaunchException(String.format("cannot boot %s: its segment at %#x overlaps the boot data below"
                    + " %#x", name, segment.physical(), BootParams.RESERVED_BYTES));
            }
        }
    }

    @Override
    public void load(MemorySegment ram) throws LaunchException {
        for (Segment segment : segments) {
            source.read(segment.offset(), ram.asSlice(segment.physical(), segment.fileSize()));
            // Fresh RAM is zero already; this is for a segment whose BSS another one's bytes landed on.
            ram.asSlice(segment.physical() + segment.fileSize(), segment.memSize() - segment.fileSize()).fill((byte) 0);
        }
    }
}
