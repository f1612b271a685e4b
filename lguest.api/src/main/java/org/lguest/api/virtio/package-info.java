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
 *
 * <h2>Which devices a guest gets</h2>
 * Configuration decides, never the set of installed bundles. A device
 * service goes to the guests its {@link
 * org.lguest.api.virtio.VirtioDevice#GUESTS} property names (guest names,
 * guest numbers, or {@code *}). A service without that property goes to
 * every guest only when its {@link org.lguest.api.virtio.VirtioDevice#name()}
 * is among the platform's default devices (configuration pid {@code
 * org.lguest.virtio}, attribute {@code default.devices}, by default {@code
 * console} and {@code rng}); otherwise it goes to no guest, however it
 * ranks. A guest's name is the one it was launched with, or its image's.
 *
 * <h2>Name and shape</h2>
 * A slot on a guest's bus is known by the device's name and has the shape of
 * the device that first served it: its {@link
 * org.lguest.api.virtio.VirtioDevice#type()}, its device-specific {@link
 * org.lguest.api.virtio.VirtioDevice#features()}, its {@link
 * org.lguest.api.virtio.VirtioDevice#queueSizes()} (how many, and each
 * size) and its {@link org.lguest.api.virtio.VirtioDevice#configSize()}. A
 * driver has seen all four, so they never change while the guest runs.
 *
 * <h2>Attach, detach, reattach</h2>
 * <ul>
 * <li>When a guest starts, its bus gets one slot per device name it is
 * offered. Among services of one name, the highest {@code service.ranking}
 * serves, then the lowest {@code service.id}. The slots stay for the
 * guest's life: there is no hot plug, and a device configured later for a
 * running guest reaches only its next start.</li>
 * <li>When the serving service goes away (its bundle stops, or its
 * configuration changes), the slot is vacated: the guest's state stays and
 * its notifications wait. At once, the best ranked other registered
 * service of that name offered to the guest that has the slot's shape is
 * attached in its place.</li>
 * <li>A service that arrives takes a vacant slot of its name if it has the
 * slot's shape. It never displaces the service serving a slot, whatever
 * its ranking; it waits until that one goes.</li>
 * <li>A service of the slot's name and another shape is refused: the
 * platform logs a warning that names the device, the guest and the
 * difference, and counts it ({@link
 * org.lguest.api.virtio.VirtioBusFactory#refusals()}).</li>
 * <li>A newly attached service gets {@link
 * org.lguest.api.virtio.DeviceSession#activate} at once when the guest's
 * driver already set DRIVER_OK.</li>
 * </ul>
 *
 * <h2>Order on the bus</h2>
 * Slots are numbered from PCI device 1 (0 is the host bridge): console
 * devices first, then block, network and entropy devices, then any other
 * type by its number; within one type, by name. Interrupts and BARs follow
 * the same order. As the order depends only on types and names, it depends
 * only on configuration.
 *
 * <h2>Whose state</h2>
 * {@link org.lguest.api.virtio.DeviceContext#state()} belongs to the slot: every
 * service that serves the slot, of whatever bundle, sees the same map. Prefix
 * keys with the device kind for what any implementation may share, and with
 * your bundle's symbolic name for your own.
 * <p>
 * 1.1: {@link org.lguest.api.virtio.DeviceContext#serveNow}.
 * <p>
 * 1.2: {@link org.lguest.api.virtio.DeviceFault}, named faults for {@link
 * org.lguest.api.virtio.DeviceContext#fail(DeviceFault, String)} and counted by
 * {@link org.lguest.api.virtio.VirtioBus#faults}.
 * 1.2: {@link org.lguest.api.virtio.StandaloneBusFactory} and {@link
 * org.lguest.api.virtio.StandaloneBus}, the real bus for tests without a
 * framework (the device kit drives it).
 * 1.2: defaults for the methods a simple device need not write ({@link
 * org.lguest.api.virtio.VirtioDevice#features()}, {@link
 * org.lguest.api.virtio.VirtioDevice#configSize()}, {@link
 * org.lguest.api.virtio.DeviceSession#readConfig}, {@link
 * org.lguest.api.virtio.DeviceSession#activate}); {@link
 * org.lguest.api.virtio.VirtioBusFactory#refusals()}.
 * 1.2: {@link org.lguest.api.virtio.VirtioBus#queueDepths()}.
 */
@org.osgi.annotation.bundle.Export
@org.osgi.annotation.versioning.Version("1.2.0")
package org.lguest.api.virtio;
