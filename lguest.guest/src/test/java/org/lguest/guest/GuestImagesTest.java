package org.lguest.guest;

import static org.junit.jupiter.api.Assertions.assertAll;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import java.io.IOException;
import java.io.InputStream;
import java.net.URISyntaxException;
import java.net.URL;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;

import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestFactory;
import org.lguest.api.abi.Lguest;
import org.lguest.api.abi.LguestData;
import org.lguest.api.abi.Lhcall;

/**
 * The built guest images, as the Launcher will find them: ELF32 i386
 * executables under {@code lguest/images}, listed in {@code index.txt}, each
 * loadable at or above 1 MiB with its entry point inside what it loads, and
 * each carrying a {@code lguest_data} that is right before the first
 * hypercall.
 */
class GuestImagesTest {
    private static final String FOLDER = "lguest/images/";
    private static final long LOAD_FLOOR = 0x100000L;
    /** Everything an image loads stays below the Host's kernel_address convention and the switcher. */
    private static final long LOAD_CEILING = 0xC0000000L;
    private static final int PT_LOAD = 1;
    private static final int PT_DYNAMIC = 2;
    private static final int PT_INTERP = 3;
    private static final int PF_X = 1;
    private static final int SHT_SYMTAB = 2;

    /** The images the rest of the project asks for by name. */
    private static final Set<String> REQUIRED = Set.of("hello", "hcalls", "faults", "timer", "halt-irq", "async",
        "restart", "tls-gdt", "bad-gdt-dpl0", "bad-idt-segment", "hcall-before-init", "bad-hcall", "pagetables",
        "isolation", "fuzz", "demo", "demo-peer");

    private static Map<String, String> index() throws IOException {
        URL url = GuestImagesTest.class.getClassLoader().getResource(FOLDER + "index.txt");
        assertNotNull(url, FOLDER + "index.txt is missing: did make run?");
        Map<String, String> names = new LinkedHashMap<>();
        try (InputStream in = url.openStream()) {
            for (String line : new String(in.readAllBytes(), StandardCharsets.UTF_8).split("\n")) {
                if (line.isEmpty()) {
                    continue;
                }
                int tab = line.indexOf('\t');
                assertTrue(tab > 0, "index line without a tab: " + line);
                String name = line.substring(0, tab);
                String description = line.substring(tab + 1);
                assertTrue(name.matches("[a-z0-9][a-z0-9-]*"), "odd image name: " + name);
                assertFalse(description.isBlank(), "no description for " + name);
                assertFalse(description.contains("\t"), "more than one tab for " + name);
                assertEquals(null, names.put(name, description), "listed twice: " + name);
            }
        }
        return names;
    }

    /** Images named bzimage-* ship as bzImages, the rest as ELF files (the Makefile's rule). */
    private static boolean isBzImage(String name) {
        return name.startsWith("bzimage-");
    }

    private static String file(String name) {
        return name + (isBzImage(name) ? ".bzImage" : ".elf");
    }

    private static byte[] image(String name) throws IOException {
        try (InputStream in = GuestImagesTest.class.getClassLoader().getResourceAsStream(FOLDER + file(name))) {
            assertNotNull(in, FOLDER + file(name) + " is missing");
            return in.readAllBytes();
        }
    }

    @Test
    void indexListsTheRequiredImages() throws IOException {
        Set<String> listed = index().keySet();
        for (String name : REQUIRED) {
            assertTrue(listed.contains(name), "index.txt does not list " + name);
        }
    }

    @Test
    void indexAndElfFilesMatch() throws IOException, URISyntaxException {
        URL url = GuestImagesTest.class.getClassLoader().getResource(FOLDER + "index.txt");
        assertNotNull(url);
        Path folder = Path.of(url.toURI()).getParent();
        Set<String> files = new TreeSet<>();
        try (Stream<Path> list = Files.list(folder)) {
            list.map(p -> p.getFileName().toString()).filter(f -> !f.equals("index.txt")).forEach(files::add);
        }
        Set<String> expected = new TreeSet<>();
        index().keySet().forEach(name -> expected.add(file(name)));
        assertEquals(expected, files, "index.txt and the image files disagree");
    }

    @Test
    void imagesMdDocumentsEveryImage() throws IOException {
        Path doc = Path.of("IMAGES.md");
        assertTrue(Files.isRegularFile(doc), "IMAGES.md is missing");
        String text = Files.readString(doc);
        for (String name : index().keySet()) {
            assertTrue(text.contains("\n## `" + name + "`"), "IMAGES.md has no section \"## `" + name + "`\"");
        }
    }

    @Test
    void bundleNamesTheImageFolder() throws IOException {
        String bnd = Files.readString(Path.of("bnd.bnd"));
        assertTrue(bnd.lines().anyMatch(l -> l.strip().equals("Lguest-Images: lguest/images")),
            "bnd.bnd must carry Lguest-Images: lguest/images");
    }

    @TestFactory
    List<DynamicTest> everyImageIsALoadableElf32() throws IOException {
        List<DynamicTest> tests = new ArrayList<>();
        for (String name : index().keySet()) {
            if (!isBzImage(name)) {
                tests.add(DynamicTest.dynamicTest(name, () -> checkElf(name, new Elf(image(name)))));
            }
        }
        return tests;
    }

    /**
     * A bzImage as the Launcher reads one: "HdrS" at 0x202, the protected-mode
     * part after (setup_sects + 1) sectors (0 meaning 4), code32_start at 1 MiB,
     * where that part starts with the runtime's entry (mov $stack_top, %esp).
     */
    @TestFactory
    List<DynamicTest> everyBzImageHasASetupHeaderAndAProtectedModePart() throws IOException {
        List<DynamicTest> tests = new ArrayList<>();
        for (String name : index().keySet()) {
            if (isBzImage(name)) {
                tests.add(DynamicTest.dynamicTest(name, () -> {
                    ByteBuffer b = ByteBuffer.wrap(image(name)).order(ByteOrder.LITTLE_ENDIAN);
                    assertEquals(0x53726448, b.getInt(0x202), "HdrS");
                    assertEquals((short) 0xAA55, b.getShort(0x1FE), "boot_flag");
                    int sects = Byte.toUnsignedInt(b.get(0x1F1));
                    int payload = ((sects == 0 ? 4 : sects) + 1) * 512;
                    assertTrue(b.limit() > payload + 4096, "a protected-mode part");
                    assertEquals(0x100000, b.getInt(0x214), "code32_start");
                    assertEquals(0x100000, b.getInt(0x230), "kernel_alignment");
                    assertEquals((byte) 0xBC, b.get(payload), "mov $stack_top, %esp at the entry");
                    assertEquals((b.limit() - payload + 15) / 16, b.getInt(0x1F4), "syssize");
                }));
            }
        }
        return tests;
    }

    @TestFactory
    List<DynamicTest> everyImageStartsWithAReadyLguestData() throws IOException {
        List<DynamicTest> tests = new ArrayList<>();
        for (String name : index().keySet()) {
            if (isBzImage(name)) {
                continue; // linked as the ELF images are, but shipped without the symbols this check reads
            }
            tests.add(DynamicTest.dynamicTest(name, () -> checkLguestData(name, new Elf(image(name)))));
        }
        return tests;
    }

    /** The C side's numbers (include/lguest.h) are the Java side's (org.lguest.api.abi). */
    @Test
    void headerAgreesWithTheApi() throws IOException {
        String header = Files.readString(Path.of("src/main/guest/include/lguest.h"));
        Map<String, Long> defines = new LinkedHashMap<>();
        Matcher m = Pattern.compile("(?m)^#define\\s+(\\w+)\\s+(0x[0-9A-Fa-f]+|\\d+)u?\\b").matcher(header);
        while (m.find()) {
            defines.put(m.group(1), Long.decode(m.group(2)));
        }
        Map<String, Long> expected = new LinkedHashMap<>();
        for (var f : Lhcall.class.getFields()) {
            if (f.getType() == int.class && f.getName().equals(Lhcall.name(readInt(f)))) {
                expected.put("LHCALL_" + f.getName(), (long) readInt(f));
            }
        }
        expected.put("LGUEST_TRAP_ENTRY", (long) Lhcall.TRAP_ENTRY);
        expected.put("LHCALL_RING_SIZE", (long) Lhcall.RING_SIZE);
        expected.put("LGUEST_SHUTDOWN_POWEROFF", (long) Lhcall.SHUTDOWN_POWEROFF);
        expected.put("LGUEST_SHUTDOWN_RESTART", (long) Lhcall.SHUTDOWN_RESTART);
        expected.put("FIRST_EXTERNAL_VECTOR", (long) Lguest.FIRST_EXTERNAL_VECTOR);
        expected.put("GUEST_PL", (long) Lguest.GUEST_PL);
        expected.put("GDT_ENTRIES", (long) Lguest.GDT_ENTRIES);
        expected.put("GDT_ENTRY_TLS_MIN", (long) Lguest.GDT_ENTRY_TLS_MIN);
        expected.put("GDT_ENTRY_TLS_ENTRIES", (long) Lguest.GDT_ENTRY_TLS_ENTRIES);
        expected.put("GDT_ENTRY_LGUEST_CS", (long) Lguest.GDT_ENTRY_LGUEST_CS);
        expected.put("GDT_ENTRY_LGUEST_DS", (long) Lguest.GDT_ENTRY_LGUEST_DS);
        expected.put("GDT_ENTRY_KERNEL_CS", (long) Lguest.GDT_ENTRY_KERNEL_CS);
        expected.put("GDT_ENTRY_KERNEL_DS", (long) Lguest.GDT_ENTRY_KERNEL_DS);
        expected.put("GDT_ENTRY_TSS", (long) Lguest.GDT_ENTRY_TSS);
        expected.put("X86_EFLAGS_IF", (long) Lguest.X86_EFLAGS_IF);
        expected.put("LGUEST_IRQS", (long) Lguest.LGUEST_IRQS);
        expected.put("PAGE_SHIFT", (long) Lguest.PAGE_SHIFT);
        expected.put("PAGE_SIZE", (long) Lguest.PAGE_SIZE);
        assertEquals(17, expected.keySet().stream().filter(k -> k.startsWith("LHCALL_") && !k.equals("LHCALL_RING_SIZE"))
            .count(), "Lhcall should name 17 calls");
        assertAll(expected.entrySet().stream().map(e -> () -> assertEquals(e.getValue(), defines.get(e.getKey()),
            "lguest.h #define " + e.getKey())));

        Map<String, Integer> offsets = Map.ofEntries(Map.entry("IRQ_ENABLED", LguestData.IRQ_ENABLED),
            Map.entry("BLOCKED_INTERRUPTS", LguestData.BLOCKED_INTERRUPTS), Map.entry("CR2", LguestData.CR2),
            Map.entry("TIME", LguestData.TIME), Map.entry("IRQ_PENDING", LguestData.IRQ_PENDING),
            Map.entry("HCALL_STATUS", LguestData.HCALL_STATUS), Map.entry("HCALLS", LguestData.HCALLS),
            Map.entry("HCALL_ARGS_SIZE", LguestData.HCALL_ARGS_SIZE), Map.entry("RESERVE_MEM", LguestData.RESERVE_MEM),
            Map.entry("TSC_KHZ", LguestData.TSC_KHZ), Map.entry("NOIRQ_IRET", LguestData.NOIRQ_IRET),
            Map.entry("KERNEL_ADDRESS", LguestData.KERNEL_ADDRESS),
            Map.entry("SYSCALL_VEC", LguestData.SYSCALL_VEC), Map.entry("SIZE", LguestData.SIZE));
        Matcher a = Pattern.compile("_Static_assert\\([^=]*==\\s*(\\d+),\\s*\"(\\w+)\"\\)").matcher(header);
        Map<String, Integer> asserted = new LinkedHashMap<>();
        while (a.find()) {
            asserted.put(a.group(2), Integer.parseInt(a.group(1)));
        }
        assertEquals(offsets.keySet(), asserted.keySet(), "lguest.h should assert every LguestData offset");
        assertAll(offsets.entrySet().stream().map(e -> () -> assertEquals(e.getValue(), asserted.get(e.getKey()),
            "lguest.h _Static_assert for " + e.getKey())));
    }

    private static int readInt(java.lang.reflect.Field f) {
        try {
            return f.getInt(null);
        } catch (IllegalAccessException e) {
            throw new AssertionError(e);
        }
    }

    private static void checkElf(String name, Elf elf) {
        assertEquals(1, elf.u8(4), name + ": not ELFCLASS32");
        assertEquals(1, elf.u8(5), name + ": not little-endian");
        assertEquals(1, elf.u8(6), name + ": EI_VERSION");
        assertEquals(2, elf.u16(16), name + ": e_type is not ET_EXEC");
        assertEquals(3, elf.u16(18), name + ": e_machine is not EM_386");
        assertEquals(1, elf.u32(20), name + ": e_version");
        assertEquals(32, elf.u16(42), name + ": e_phentsize");

        List<long[]> loads = new ArrayList<>();
        boolean entryInside = false;
        long entry = elf.u32(24);
        for (int i = 0; i < elf.u16(44); i++) {
            int ph = (int) elf.u32(28) + i * 32;
            long type = elf.u32(ph);
            assertTrue(type != PT_INTERP && type != PT_DYNAMIC, name + ": has PT_INTERP or PT_DYNAMIC");
            if (type != PT_LOAD) {
                continue;
            }
            long offset = elf.u32(ph + 4), vaddr = elf.u32(ph + 8), paddr = elf.u32(ph + 12);
            long filesz = elf.u32(ph + 16), memsz = elf.u32(ph + 20), flags = elf.u32(ph + 24);
            assertTrue(paddr >= LOAD_FLOOR, name + String.format(": PT_LOAD at %#x, below 1 MiB", paddr));
            assertTrue(paddr + memsz <= LOAD_CEILING, name + String.format(": PT_LOAD ends at %#x", paddr + memsz));
            assertEquals(paddr, vaddr, name + ": p_vaddr != p_paddr (virtual == physical until its own page tables)");
            assertTrue(filesz <= memsz, name + ": p_filesz > p_memsz");
            assertTrue(offset + filesz <= elf.length(), name + ": segment runs past the end of the file");
            for (long[] other : loads) {
                assertTrue(paddr + memsz <= other[0] || other[0] + other[1] <= paddr, name + ": PT_LOAD segments overlap");
            }
            loads.add(new long[] {paddr, memsz});
            if ((flags & PF_X) != 0 && entry >= paddr && entry < paddr + filesz) {
                entryInside = true;
            }
        }
        assertFalse(loads.isEmpty(), name + ": no PT_LOAD segment");
        assertTrue(entryInside, name + String.format(": entry %#x is not inside an executable PT_LOAD", entry));
    }

    private static void checkLguestData(String name, Elf elf) {
        long data = elf.symbol("lguest_data");
        long iret = elf.symbol("lguest_noirq_iret");
        assertEquals(0, data % Lguest.PAGE_SIZE, name + ": lguest_data is not page-aligned");
        assertEquals(0, elf.word(data + LguestData.IRQ_ENABLED), name + ": interrupts must start disabled");
        for (int i = 0; i < Lhcall.RING_SIZE; i++) {
            assertEquals(LguestData.HCALL_SLOT_EMPTY, elf.byteAt(data + LguestData.HCALL_STATUS + i),
                name + ": hcall_status[" + i + "] is not 0xFF before INIT");
        }
        assertEquals(0, elf.word(data + LguestData.BLOCKED_INTERRUPTS), name + ": blocked_interrupts");
        assertEquals(iret, elf.word(data + LguestData.NOIRQ_IRET), name + ": noirq_iret");
        assertEquals(0xCF, elf.byteAt(iret), name + ": noirq_iret must name an iret");
        assertEquals(0, iret % Lguest.PAGE_SIZE, name + ": the iret starts a page of its own");
        assertEquals(0xC0000000L, elf.word(data + LguestData.KERNEL_ADDRESS), name + ": kernel_address");
        assertEquals(0x80, elf.word(data + LguestData.SYSCALL_VEC), name + ": syscall_vec");
    }

    /** Just enough of an ELF32 little-endian reader. */
    private static final class Elf {
        private final ByteBuffer b;

        Elf(byte[] bytes) {
            b = ByteBuffer.wrap(bytes).order(ByteOrder.LITTLE_ENDIAN);
            if (bytes.length < 52 || b.getInt(0) != 0x464C457F) {
                fail("not an ELF file");
            }
        }

        int length() {
            return b.capacity();
        }

        int u8(int off) {
            return Byte.toUnsignedInt(b.get(off));
        }

        int u16(int off) {
            return Short.toUnsignedInt(b.getShort(off));
        }

        long u32(int off) {
            return Integer.toUnsignedLong(b.getInt(off));
        }

        /** The file offset holding guest address {@code addr}, from the PT_LOAD segments' file parts. */
        private int offsetOf(long addr) {
            for (int i = 0; i < u16(44); i++) {
                int ph = (int) u32(28) + i * 32;
                if (u32(ph) != PT_LOAD) {
                    continue;
                }
                long paddr = u32(ph + 12), filesz = u32(ph + 16);
                if (addr >= paddr && addr < paddr + filesz) {
                    return (int) (u32(ph + 4) + addr - paddr);
                }
            }
            fail(String.format("address %#x is not in the file part of any PT_LOAD", addr));
            return -1;
        }

        int byteAt(long addr) {
            return u8(offsetOf(addr));
        }

        long word(long addr) {
            return u32(offsetOf(addr));
        }

        long symbol(String wanted) {
            int shoff = (int) u32(32), shnum = u16(48);
            for (int i = 0; i < shnum; i++) {
                int sh = shoff + i * 40;
                if (u32(sh + 4) != SHT_SYMTAB) {
                    continue;
                }
                int symoff = (int) u32(sh + 16), count = (int) (u32(sh + 20) / 16);
                int strsh = shoff + (int) u32(sh + 24) * 40;
                int stroff = (int) u32(strsh + 16);
                for (int s = 0; s < count; s++) {
                    int sym = symoff + s * 16;
                    if (wanted.equals(string(stroff + (int) u32(sym)))) {
                        return u32(sym + 4);
                    }
                }
            }
            fail("no symbol " + wanted);
            return -1;
        }

        private String string(int off) {
            int end = off;
            while (b.get(end) != 0) {
                end++;
            }
            byte[] s = new byte[end - off];
            b.get(off, s);
            return new String(s, StandardCharsets.US_ASCII);
        }
    }
}
