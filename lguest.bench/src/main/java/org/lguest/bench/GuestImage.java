package org.lguest.bench;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.net.URL;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;

/**
 * A guest image from the lguest.guest jar on the classpath, loaded the way
 * the Launcher loads one (each PT_LOAD at its physical address, the BSS
 * zeroed) with the boot data the Launcher writes ({@code struct boot_params}
 * in page 0, the command line in page 1). Both the Host runs and the bare
 * floors load images through this class, so the two get the same bytes.
 */
final class GuestImage {
    static final String FOLDER = "lguest/images/";
    // Guest memory is an x86 machine's: little-endian whatever the host's order.
    static final ValueLayout.OfShort U16 = ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    static final ValueLayout.OfInt U32 = ValueLayout.JAVA_INT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    static final ValueLayout.OfLong U64 = ValueLayout.JAVA_LONG_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    private static final long PAGE = 4096;
    private static final long COMMAND_LINE = 0x1000;
    private static final long RESERVED = 0x2000;

    private record Segment(long physical, long offset, long fileSize, long memSize) {
    }

    final String name;
    final long entry;
    private final byte[] bytes;
    private final List<Segment> segments;

    private GuestImage(String name, byte[] bytes) {
        this.name = name;
        this.bytes = bytes;
        ByteBuffer elf = ByteBuffer.wrap(bytes).order(ByteOrder.LITTLE_ENDIAN);
        if (bytes.length < 52 || elf.getInt(0) != 0x464C457F || bytes[4] != 1 || elf.getShort(18) != 3) {
            throw new IllegalArgumentException(name + " is not an ELF32 i386 image");
        }
        entry = Integer.toUnsignedLong(elf.getInt(24));
        long phoff = Integer.toUnsignedLong(elf.getInt(28));
        int phnum = Short.toUnsignedInt(elf.getShort(44));
        List<Segment> list = new ArrayList<>();
        for (int i = 0; i < phnum; i++) {
            int at = (int) (phoff + 32L * i);
            if (elf.getInt(at) == 1) {
                list.add(new Segment(Integer.toUnsignedLong(elf.getInt(at + 12)), Integer.toUnsignedLong(elf.getInt(at + 4)),
                    Integer.toUnsignedLong(elf.getInt(at + 16)), Integer.toUnsignedLong(elf.getInt(at + 20))));
            }
        }
        segments = List.copyOf(list);
    }

    /** Where the named image is on the classpath. */
    static URL url(String name) {
        URL url = GuestImage.class.getClassLoader().getResource(FOLDER + name + ".elf");
        if (url == null) {
            throw new IllegalStateException("no guest image " + name + " on the classpath (" + FOLDER + name
                + ".elf): build lguest.guest first");
        }
        return url;
    }

    /**
     * The bundle entry of a listed image as the Launcher's catalog sees it:
     * {@code NAME.elf}, or {@code NAME.bzImage} for the images shipped as bzImages.
     */
    static URL entry(String name) {
        URL bzImage = GuestImage.class.getClassLoader().getResource(FOLDER + name + ".bzImage");
        return bzImage != null ? bzImage : url(name);
    }

    /** Reads and parses the named image, as the Launcher's catalog reads it (through its URL). */
    static GuestImage read(String name) {
        try (InputStream in = url(name).openStream()) {
            return new GuestImage(name, in.readAllBytes());
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** The image names index.txt lists. */
    static List<String> names() {
        URL url = GuestImage.class.getClassLoader().getResource(FOLDER + "index.txt");
        if (url == null) {
            return List.of();
        }
        try (InputStream in = url.openStream()) {
            List<String> names = new ArrayList<>();
            for (String line : new String(in.readAllBytes(), StandardCharsets.UTF_8).split("\n")) {
                int tab = line.indexOf('\t');
                if (tab > 0) {
                    names.add(line.substring(0, tab));
                }
            }
            return names;
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** Writes the boot data and the image into guest RAM (which must be at least as big as the image needs). */
    void load(MemorySegment ram, String commandLine) {
        long ramBytes = ram.byteSize();
        ram.asSlice(0, RESERVED).fill((byte) 0);
        ram.set(ValueLayout.JAVA_BYTE, 0x1E8, (byte) 1);                      // e820_entries
        ram.set(U64, 0x2D0, 0L);                  // e820[0].addr
        ram.set(U64, 0x2D8, ramBytes);            // e820[0].size
        ram.set(U32, 0x2E0, 1);                    // E820_RAM
        ram.set(U16, 0x206, (short) 0x207);     // boot protocol 2.07
        ram.set(ValueLayout.JAVA_BYTE, 0x210, (byte) 0xFF);                   // type_of_loader
        ram.set(ValueLayout.JAVA_BYTE, 0x211, (byte) 0x40);                   // KEEP_SEGMENTS
        ram.set(U32, 0x23C, 1);                    // hardware_subarch: lguest
        byte[] text = commandLine.getBytes(StandardCharsets.US_ASCII);
        MemorySegment.copy(MemorySegment.ofArray(text), 0, ram, COMMAND_LINE, Math.min(text.length, 2047));
        ram.set(ValueLayout.JAVA_BYTE, COMMAND_LINE + Math.min(text.length, 2047), (byte) 0);
        ram.set(U32, 0x228, (int) COMMAND_LINE); // cmd_line_ptr
        for (Segment s : segments) {
            if (s.physical() < RESERVED || s.physical() + s.memSize() > ramBytes) {
                throw new IllegalArgumentException(String.format("%s: segment at %#x does not fit in %d MiB", name,
                    s.physical(), ramBytes >> 20));
            }
            MemorySegment target = ram.asSlice(s.physical(), s.memSize());
            target.fill((byte) 0);
            MemorySegment.copy(MemorySegment.ofArray(bytes), s.offset(), target, 0, s.fileSize());
        }
    }

    /** The NUL-terminated string at a guest-physical address, or null when it is not inside RAM. */
    static String string(MemorySegment ram, long address) {
        if (address < 0 || address >= ram.byteSize()) {
            return null;
        }
        long end = address;
        while (end < ram.byteSize() && ram.get(ValueLayout.JAVA_BYTE, end) != 0) {
            end++;
        }
        return new String(ram.asSlice(address, end - address).toArray(ValueLayout.JAVA_BYTE), StandardCharsets.ISO_8859_1);
    }

    static long pageAligned(long bytes) {
        return (bytes + PAGE - 1) & -PAGE;
    }
}
