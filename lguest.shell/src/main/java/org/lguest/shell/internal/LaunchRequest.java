package org.lguest.shell.internal;

import java.io.OutputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

import org.lguest.api.guest.LaunchOptions;

/**
 * What {@code lguest:launch} and {@code ./lguest run} ask for: an image, its
 * memory, initrd and command line, and the virtio devices it gets besides the
 * console and rng every guest has: disks (image files) and network cards (on
 * an in-JVM switch).
 *
 * @param image a bundled image name, or the path of a vmlinux or bzImage
 * @param memoryMiB guest RAM
 * @param initrd the initrd file (it exists), or null
 * @param commandLine the kernel command line, or null for the image name
 * @param disks disk image files, in the order given
 * @param switches the in-JVM switch of each network card, in the order given
 * @param name the guest's name, or null for the image name
 */
record LaunchRequest(String image, int memoryMiB, Path initrd, String commandLine, List<Disk> disks,
        List<String> switches, String name) {
    /** The arguments after the command's name. */
    static final String SYNTAX = "IMAGE [--name NAME] [--initrd FILE] [--append \"ARGS\"] [--memory MIB]"
        + " [--disk FILE[:ro]]... [--disk-ro FILE]... [--net SWITCH]...";
    private static final String READ_ONLY_SUFFIX = ":ro";

    /** @param file the disk image (it exists) @param readOnly whether the guest may only read it */
    record Disk(Path file, boolean readOnly) {
    }

    LaunchRequest {
        disks = List.copyOf(disks);
        switches = List.copyOf(switches);
    }

    static LaunchRequest of(String image, List<Disk> disks, List<String> switches) {
        return new LaunchRequest(image, LaunchOptions.DEFAULT_MEMORY_MIB, null, null, disks, switches, null);
    }

    /** What the guest is called: its name, or its image's. */
    String guestName() {
        return name != null ? name : image;
    }

    boolean hasDevices() {
        return !disks.isEmpty() || !switches.isEmpty();
    }

    LaunchOptions options(OutputStream console) {
        return new LaunchOptions(image, memoryMiB, console, commandLine, initrd, name);
    }

    /**
     * Parses {@link #SYNTAX}; options may come before or after the image.
     *
     * @throws IllegalArgumentException with what is wrong and the syntax
     */
    static LaunchRequest parse(List<String> words) {
        String image = null;
        int memory = LaunchOptions.DEFAULT_MEMORY_MIB;
        Path initrd = null;
        String commandLine = null;
        List<Disk> disks = new ArrayList<>();
        List<String> switches = new ArrayList<>();
        String name = null;
        for (int i = 0; i < words.size(); i++) {
            String word = words.get(i);
            switch (word) {
                case "-m", "--memory" -> memory = memory(value(words, ++i, word, "a size in MiB"));
                case "--initrd" -> initrd = existingFile(value(words, ++i, word, "an initrd file"), "initrd");
                case "--append" -> commandLine = value(words, ++i, word, "the kernel command line (quote it)");
                case "--disk" -> disks.add(disk(value(words, ++i, word, "a disk image file"), false));
                case "--disk-ro" -> disks.add(disk(value(words, ++i, word, "a disk image file"), true));
                case "--net" -> switches.add(switchName(value(words, ++i, word, "the name of an in-JVM switch")));
                case "--name" -> name = guestName(value(words, ++i, word, "the guest's name"));
                default -> {
                    if (word.startsWith("-") || image != null) {
                        throw new IllegalArgumentException("unexpected '" + word + "'; arguments: " + SYNTAX);
                    }
                    image = word;
                }
            }
        }
        if (image == null || image.isBlank()) {
            throw new IllegalArgumentException("which image? arguments: " + SYNTAX + " (see lguest:images)");
        }
        return new LaunchRequest(image, memory, initrd, commandLine, disks, switches, name);
    }

    private static String value(List<String> words, int at, String option, String what) {
        if (at >= words.size()) {
            throw new IllegalArgumentException(option + " needs " + what + "; arguments: " + SYNTAX);
        }
        return words.get(at);
    }

    private static int memory(String text) {
        try {
            return Integer.parseInt(text);
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException("--memory takes a whole number of MiB, not '" + text + "'");
        }
    }

    /** {@code PATH} or {@code PATH:ro}; the file must exist, since its size is the disk's. */
    private static Disk disk(String text, boolean readOnly) {
        boolean ro = readOnly || text.endsWith(READ_ONLY_SUFFIX);
        String name = text.endsWith(READ_ONLY_SUFFIX) ? text.substring(0, text.length() - READ_ONLY_SUFFIX.length()) : text;
        Path file = Path.of(name).toAbsolutePath().normalize();
        if (!Files.isRegularFile(file)) {
            throw new IllegalArgumentException("no disk image file " + file + ": create one first, e.g. 'truncate -s 64M "
                + name + "'");
        }
        return new Disk(file, ro);
    }

    private static Path existingFile(String name, String what) {
        Path file = Path.of(name).toAbsolutePath().normalize();
        if (!Files.isRegularFile(file)) {
            throw new IllegalArgumentException("no " + what + " file " + file);
        }
        return file;
    }

    private static String switchName(String name) {
        return plainName(name, "a switch name");
    }

    private static String guestName(String name) {
        return plainName(name, "a guest name");
    }

    private static String plainName(String name, String what) {
        if (!name.matches("[A-Za-z0-9_.-]+")) {
            throw new IllegalArgumentException(what + " is letters, digits, '.', '_' and '-', not '" + name + "'");
        }
        return name;
    }
}
