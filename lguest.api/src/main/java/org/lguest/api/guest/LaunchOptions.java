package org.lguest.api.guest;

import java.io.OutputStream;
import java.util.Objects;

/**
 * What to boot and how.
 *
 * @param image a bundled image name ("hello") or the path of an ELF32 i386 file
 * @param memoryMiB guest RAM in MiB
 * @param console where the guest's console output goes
 * @param commandLine the kernel command line the guest finds in its boot data
 *        ({@code hdr.cmd_line_ptr}); {@code null} means the image name, which is what a
 *        launch without one passes
 */
public record LaunchOptions(String image, int memoryMiB, OutputStream console, String commandLine) {
    public static final int DEFAULT_MEMORY_MIB = 32;

    public LaunchOptions {
        Objects.requireNonNull(image, "image");
        Objects.requireNonNull(console, "console");
        if (memoryMiB < 1 || memoryMiB > 2048) {
            throw new IllegalArgumentException("guest memory must be 1 to 2048 MiB, not " + memoryMiB);
        }
        if (commandLine == null) {
            commandLine = image;
        }
    }

    /** Boots {@code image} with the image name as its command line. */
    public LaunchOptions(String image, int memoryMiB, OutputStream console) {
        this(image, memoryMiB, console, null);
    }

    public static LaunchOptions of(String image, OutputStream console) {
        return new LaunchOptions(image, DEFAULT_MEMORY_MIB, console);
    }

    /** The same options with another command line ({@code null}: the image name). */
    public LaunchOptions withCommandLine(String commandLine) {
        return new LaunchOptions(image, memoryMiB, console, commandLine);
    }
}
