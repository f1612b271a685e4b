package org.lguest.api.device;

import org.osgi.annotation.versioning.ProviderType;

/** The Host's device: {@code /dev/lguest}. Registered as a service by the Host core. */
@ProviderType
public interface LguestDevice {

    /**
     * Opens the device for a Launcher, as {@code open("/dev/lguest")} did.
     * The file sees only the memory and descriptors the task holds.
     */
    LguestFile open(LauncherTask task);
}
