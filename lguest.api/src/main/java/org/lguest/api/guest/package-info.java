/**
 * Guest management: what the Launcher offers the shell and other clients.
 */
@org.osgi.annotation.bundle.Export
@org.osgi.annotation.versioning.Version("1.3.0")
package org.lguest.api.guest;
