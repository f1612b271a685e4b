package org.lguest.api.guest;

import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.Objects;

/**
 * What to boot and how.
 *
 * @param image a bundled image name ("hello"), or the path of a vmlinux (ELF32 i386) or a bzImage
 * @param memoryMiB guest RAM in MiB
 * @param console where the guest's console output goes
 * @param commandLine the kernel command line the guest finds in its boot data
 *        ({@code hdr.cmd_line_ptr}), ASCII and at most {@link #COMMAND_LINE_MAX} bytes; {@code null} means the
 *        image name, which is what a launch without one passes
 * @param initrd a file loaded at the top of guest RAM and named in the boot data, or {@code null} for none
 * @param name the guest's name, which device configurations select guests by ({@code guests}); {@code null}
 *        means the image name. Two guests of one image with names of their own can have devices of their own
 *        (a disk each). Letters, digits, {@code .}, {@code _} and {@code -}. Since 1.4.
 */
public record LaunchOptions(String image, int memoryMiB, OutputStream console, String commandLine, Path initrd,
        String name) {
    /**
     * Enough for a small Linux: a default i386 kernel is linked at 16 MiB and needs room above that for
     * itself, its page tables and an initramfs. RAM the guest never touches costs the host nothing.
     */
    public static final int DEFAULT_MEMORY_MIB = 128;
    /** The longest command line: i386 Linux keeps 2048 bytes, the terminating NUL included. */
    public static final int COMMAND_LINE_MAX = 2047;

    public LaunchOptions {
        Objects.requireNonNull(image, "image");
        Objects.requireNonNull(console, "console");
        if (memoryMiB < 1 || memoryMiB > 2048) {
            throw new IllegalArgumentException("guest memory must be 1 to 2048 MiB, not " + memoryMiB);
        }
        if (commandLine == null) {
            commandLine = image;
        }
        if (!StandardCharsets.US_ASCII.newEncoder().canEncode(commandLine) || commandLine.indexOf('\0') >= 0) {
            throw new IllegalArgumentException("the command line must be ASCII without NUL bytes");
        }
        if (commandLine.length() > COMMAND_LINE_MAX) {
            throw new IllegalArgumentException("the command line is " + commandLine.length() + " bytes; at most "
                + COMMAND_LINE_MAX + " fit");
        }
        if (name == null) {
            name = image;
        } else if (!name.matches("[A-Za-z0-9_.-]+")) {
            throw new IllegalArgumentException("a guest name is letters, digits, '.', '_' and '-', not '" + name + "'");
        }
    }

    /** Boots {@code image} under its own name. */
    public LaunchOptions(String image, int memoryMiB, OutputStream console, String commandLine, Path initrd) {
        this(image, memoryMiB, console, commandLine, initrd, null);
    }

    /** Boots {@code image} with {@code commandLine} and no initrd. */
    public LaunchOptions(String image, int memoryMiB, OutputStream console, String commandLine) {
        this(image, memoryMiB, console, commandLine, null);
    }

    /** Boots {@code image} with the image name as its command line. */
    public LaunchOptions(String image, int memoryMiB, OutputStream console) {
        this(image, memoryMiB, console, null, null);
    }

    public static LaunchOptions of(String image, OutputStream console) {
        return new LaunchOptions(image, DEFAULT_MEMORY_MIB, console);
    }

    /** The same options with another command line ({@code null}: the image name). */
    public LaunchOptions withCommandLine(String commandLine) {
        return new LaunchOptions(image, memoryMiB, console, commandLine, initrd, name);
    }

    /** The same options with an initrd ({@code null}: none). */
    public LaunchOptions withInitrd(Path initrd) {
        return new LaunchOptions(image, memoryMiB, console, commandLine, initrd, name);
    }

    /**
     * The same options for a guest called {@code name} ({@code null}: the image name).
     *
     * @since 1.4
     */
    public LaunchOptions withName(String name) {
        return new LaunchOptions(image, memoryMiB, console, commandLine, initrd, name);
    }
}
