/**
 * Virtio devices and their bus: the device SPI that device bundles
 * implement ({@link org.lguest.api.virtio.VirtioDevice}, {@link
 * org.lguest.api.virtio.DeviceSession}), what the platform gives a device
 * ({@link org.lguest.api.virtio.DeviceContext}, its {@link
 * org.lguest.api.virtio.VirtQueue}s and {@link
 * org.lguest.api.virtio.DescriptorChain}s over {@link
 * org.lguest.api.virtio.GuestRam}), and what the Launcher drives: the
 * emulated PCI bus ({@link org.lguest.api.virtio.VirtioBus}) made by the
 * {@link org.lguest.api.virtio.VirtioBusFactory} service.
 * <p>
 * Devices know nothing of the VMM: they see guest RAM only through checked
 * descriptor chains, and interrupts leave through an {@link
 * org.lguest.api.virtio.InterruptSink}. Everything a guest's device must keep
 * (status, features, queue positions, {@link
 * org.lguest.api.virtio.DeviceContext#state()}) lives in the bus, not in the
 * device service, so a device bundle can be restarted under a paused guest.
 * <p>
 * 1.1: {@link org.lguest.api.virtio.DeviceContext#serveNow}.
 * <p>
 * 1.2: {@link org.lguest.api.virtio.VirtioBus#queueDepths()} and {@link
 * org.lguest.api.virtio.VirtioBus#errorCounts()}.
 */
@org.osgi.annotation.bundle.Export
@org.osgi.annotation.versioning.Version("1.2.0")
package org.lguest.api.virtio;
