package org.lguest.shell.internal;

import java.io.OutputStream;

import org.lguest.api.guest.LaunchOptions;

/** The arguments of {@code ./lguest run IMAGE [--memory MIB]}. */
final class RunArguments {
    static final String USAGE = "usage: ./lguest run IMAGE [--memory MIB]   (IMAGE: a bundled name such as hello, or an ELF32 i386 file)";

    private RunArguments() {
    }

    static LaunchOptions parse(String arguments, OutputStream console) {
        String[] words = arguments.strip().split("\\s+");
        String image = null;
        int memory = LaunchOptions.DEFAULT_MEMORY_MIB;
        for (int i = 0; i < words.length; i++) {
            switch (words[i]) {
                case "-m", "--memory" -> {
                    if (i + 1 >= words.length) {
                        throw new IllegalArgumentException("--memory needs a size in MiB; " + USAGE);
                    }
                    try {
                        memory = Integer.parseInt(words[++i]);
                    } catch (NumberFormatException e) {
                        throw new IllegalArgumentException("--memory takes a whole number of MiB, not '" + words[i] + "'");
                    }
                }
                default -> {
                    if (words[i].startsWith("-") || image != null) {
                        throw new IllegalArgumentException("unexpected '" + words[i] + "'; " + USAGE);
                    }
                    image = words[i];
                }
            }
        }
        if (image == null || image.isEmpty()) {
            throw new IllegalArgumentException(USAGE);
        }
        return new LaunchOptions(image, memory, console);
    }
}
