package org.lguest.api.guest;

import java.util.List;
import java.util.Optional;

import org.osgi.annotation.versioning.ProviderType;

/** The Launcher's service: starts guests and finds the ones running. */
@ProviderType
public interface GuestManager {

    /**
     * Boots a guest and returns at once; its CPUs run on their own threads.
     *
     * @throws LaunchException when the image or the options are refused; nothing is left running
     */
    Guest launch(LaunchOptions options) throws LaunchException;

    /** Every guest this Launcher started that has not been removed, oldest first. */
    List<Guest> guests();

    Optional<Guest> guest(int id);

    /** Names of the guest images bundles ship ("hello", "demo", ...). */
    List<String> images();
}
