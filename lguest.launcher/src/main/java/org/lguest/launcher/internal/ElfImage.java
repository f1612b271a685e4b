package org.lguest.launcher.internal;

import java.lang.foreign.MemorySegment;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.ArrayList;
import java.util.List;

import org.lguest.api.guest.LaunchException;

/**
 * An ELF32 i386 executable, checked before anything touches guest RAM. Like
 * lguest's Launcher we load each {@code PT_LOAD} segment at its physical
 * address and enter at {@code e_entry}: the guest starts on a linear
 * mapping, so physical and virtual addresses agree until it loads its own
 * page tables.
 */
final class ElfImage {
    private static final int PT_LOAD = 1;
    private static final int ET_EXEC = 2;
    private static final int EM_386 = 3;
    private static final int PHDR_SIZE = 32;

    /** One loadable segment: file bytes [offset, offset+fileSize) at physical address, zero-filled to memSize. */
    record Segment(long physical, long offset, long fileSize, long memSize) {
    }

    private final String name;
    private final byte[] bytes;
    private final long entry;
    private final List<Segment> segments;

    private ElfImage(String name, byte[] bytes, long entry, List<Segment> segments) {
        this.name = name;
        this.bytes = bytes;
        this.entry = entry;
        this.segments = segments;
    }

    /** Parses and checks an image; every refusal says what is wrong with it. */
    static ElfImage parse(String name, byte[] bytes) throws LaunchException {
        ByteBuffer elf = ByteBuffer.wrap(bytes).order(ByteOrder.LITTLE_ENDIAN);
        if (bytes.length < 52 || elf.getInt(0) != 0x464C457F) {
            throw refuse(name, "it is not an ELF file");
        }
        if (bytes[4] != 1 || bytes[5] != 1) {
            throw refuse(name, "it is not a 32-bit little-endian ELF (lguest guests are ELF32 i386)");
        }
        if (Short.toUnsignedInt(elf.getShort(16)) != ET_EXEC) {
            throw refuse(name, "it is not an executable (ET_EXEC); link it statically");
        }
        if (Short.toUnsignedInt(elf.getShort(18)) != EM_386) {
            throw refuse(name, "its machine is not i386 (EM_386)");
        }
        long entry = Integer.toUnsignedLong(elf.getInt(24));
        long phoff = Integer.toUnsignedLong(elf.getInt(28));
        int phentsize = Short.toUnsignedInt(elf.getShort(42));
        int phnum = Short.toUnsignedInt(elf.getShort(44));
        if (phentsize != PHDR_SIZE || phoff + (long) phnum * PHDR_SIZE > bytes.length) {
            throw refuse(name, "its program headers lie outside the file");
        }
        List<Segment> segments = new ArrayList<>();
        for (int i = 0; i < phnum; i++) {
            int at = (int) (phoff + (long) i * PHDR_SIZE);
            if (elf.getInt(at) != PT_LOAD) {
                continue;
            }
            long offset = Integer.toUnsignedLong(elf.getInt(at + 4));
            long physical = Integer.toUnsignedLong(elf.getInt(at + 12));
            long fileSize = Integer.toUnsignedLong(elf.getInt(at + 16));
            long memSize = Integer.toUnsignedLong(elf.getInt(at + 20));
            if (offset + fileSize > bytes.length) {
                throw refuse(name, "segment " + i + " runs past the end of the file");
            }
            if (fileSize > memSize) {
                throw refuse(name, "segment " + i + " has more file bytes than memory bytes");
            }
            segments.add(new Segment(physical, offset, fileSize, memSize));
        }
        if (segments.isEmpty()) {
            throw refuse(name, "it has no loadable (PT_LOAD) segment");
        }
        boolean entryLoaded = segments.stream()
            .anyMatch(s -> entry >= s.physical() && entry < s.physical() + s.memSize());
        if (!entryLoaded) {
            throw refuse(name, String.format("its entry point %#x lies in no loadable segment", entry));
        }
        return new ElfImage(name, bytes, entry, List.copyOf(segments));
    }

    private static LaunchException refuse(String name, String why) {
        return new LaunchException("cannot boot " + name + ": " + why);
    }

    long entry() {
        return entry;
    }

    List<Segment> segments() {
        return segments;
    }

    /** Copies the segments into guest RAM, refusing any that would not fit below {@code limit}. */
    void load(MemorySegment ram, long limit) throws LaunchException {
        for (Segment segment : segments) {
            if (segment.physical() + segment.memSize() > limit) {
                throw refuse(name, String.format("its segment at %#x (%d bytes) does not fit in %d MiB of guest memory",
                    segment.physical(), segment.memSize(), limit >> 20));
            }
            if (segment.physical() < BootParams.RESERVED_BYTES) {
                throw refuse(name, String.format("its segment at %#x overlaps the boot data below %#x",
                    segment.physical(), BootParams.RESERVED_BYTES));
            }
        }
        for (Segment segment : segments) {
            MemorySegment target = ram.asSlice(segment.physical(), segment.memSize());
            target.fill((byte) 0);
            MemorySegment.copy(MemorySegment.ofArray(bytes), segment.offset(), target, 0, segment.fileSize());
        }
    }
}
