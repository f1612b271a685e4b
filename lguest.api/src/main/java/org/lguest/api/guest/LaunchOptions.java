package org.lguest.api.guest;

import java.io.OutputStream;
import java.util.Objects;

/**
 * What to boot and how.
 *
 * @param image a bundled image name ("hello") or the path of an ELF32 i386 file
 * @param memoryMiB guest RAM in MiB
 * @param console where the guest's console output goes
 */
public record LaunchOptions(String image, int memoryMiB, OutputStream console) {
    public static final int DEFAULT_MEMORY_MIB = 32;

    public LaunchOptions {
        Objects.requireNonNull(image, "image");
        Objects.requireNonNull(console, "console");
        if (memoryMiB < 1 || memoryMiB > 2048) {
            throw new IllegalArgumentException("guest memory must be 1 to 2048 MiB, not " + memoryMiB);
        }
    }

    public static LaunchOptions of(String image, OutputStream console) {
        return new LaunchOptions(image, DEFAULT_MEMORY_MIB, console);
    }
}
