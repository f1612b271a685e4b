/**
 * The /dev/lguest protocol: the boundary between a Launcher and the Host.
 * A Launcher describes itself as a {@link org.lguest.api.device.LauncherTask}
 * (its memory and its descriptor table), opens the {@link
 * org.lguest.api.device.LguestDevice} and talks to the returned {@link
 * org.lguest.api.device.LguestFile} in words, as it would to the character
 * device. Errors are negated errno values; no exception crosses it.
 * <p>
 * 1.1: {@link org.lguest.api.device.LguestFile#portIo}, the Launcher's
 * handler for port I/O an engine does not trap (a new method on a
 * provider-implemented interface).
 * <p>
 * 1.2: {@link org.lguest.api.device.Eventfd}'s listener constructor and
 * {@code poll()}, for a reader that wakes itself; {@link
 * org.lguest.api.device.LauncherTask#allocate} and {@link
 * org.lguest.api.device.LauncherTask#hold}: guest RAM the task owns and
 * keeps mapped until every file using it is closed; {@code map} is
 * deprecated (the Host no longer runs guests on a Launcher's own memory).
 * <p>
 * 1.3: {@link org.lguest.api.device.LguestFile#counters()} and {@link
 * org.lguest.api.device.GuestCounters}: what the Host counted for a guest.
 */
@org.osgi.annotation.bundle.Export
@org.osgi.annotation.versioning.Version("1.3.0")
package org.lguest.api.device;
