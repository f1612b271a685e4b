package org.lguest.api.guest;

import java.io.OutputStream;
import java.util.List;

import org.osgi.annotation.versioning.ProviderType;

/**
 * Launches a guest from the words of the shell's {@code lguest:launch}: {@code IMAGE [--initrd FILE]
 * [--append ARGS] [--memory MIB] [--disk FILE[:ro]]... [--net SWITCH]...}, with its disks and network cards
 * made as device configurations first. The shell provides it, so every client (the web console's page too)
 * launches the way the shell does.
 *
 * @since 1.4
 */
@ProviderType
public interface LaunchCommand {

    /**
     * Boots the guest, its console on {@code console}; returns once it runs.
     *
     * @param words the image, then the options, one word each (an {@code --append} value is one word)
     * @throws IllegalArgumentException when the words are not lguest:launch's, saying what is wrong
     * @throws LaunchException when the guest or its devices cannot start
     */
    Guest launch(List<String> words, OutputStream console) throws LaunchException;
}
