/**
 * Guest management: what the Launcher offers the shell and other clients.
 * <p>
 * 1.4: a guest's name ({@link org.lguest.api.guest.LaunchOptions#name()}, {@link
 * org.lguest.api.guest.Guest#name()}).
 */
@org.osgi.annotation.bundle.Export
@org.osgi.annotation.versioning.Version("1.4.0")
package org.lguest.api.guest;
