/**
 * Guest management: what the Launcher offers the shell and other clients.
 * <p>
 * 1.4: a guest's name ({@link org.lguest.api.guest.LaunchOptions#name()}, {@link
 * org.lguest.api.guest.Guest#name()}).
 * 1.4: {@link org.lguest.api.guest.Guest#hostCounters()}, the Host's counters for a guest; {@link
 * org.lguest.api.guest.LaunchCommand}, the shell's launch with disks and network cards for other clients;
 * {@link org.lguest.api.guest.Guest#residentBytes()}.
 */
@org.osgi.annotation.bundle.Export
@org.osgi.annotation.versioning.Version("1.4.0")
package org.lguest.api.guest;
