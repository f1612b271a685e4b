/**
 * A kit for testing virtio devices from outside the platform: {@link
 * org.lguest.virtio.testkit.TestBus} puts the devices under test on the
 * platform's real bus over {@link org.lguest.virtio.testkit.GuardedRam}, and
 * lets the test detach, attach and restart them as the service registry
 * would; {@link org.lguest.virtio.testkit.GuestDriver} plays the guest kernel
 * through the PCI ports and registers; {@link
 * org.lguest.virtio.testkit.RecordingInterrupts} counts what the devices
 * raise. Nothing here reaches into the platform's internals.
 */
@org.osgi.annotation.bundle.Export
@org.osgi.annotation.versioning.Version("1.0.0")
package org.lguest.virtio.testkit;
