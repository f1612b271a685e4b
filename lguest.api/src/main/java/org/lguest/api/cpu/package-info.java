/**
 * The vCPU backend SPI: what the Host core needs from whatever runs guest
 * code. A backend knows x86, not lguest policy. Guest state (registers,
 * descriptors, memory) lives in {@link org.lguest.api.cpu.VcpuState} and
 * {@link org.lguest.api.cpu.GuestMachine}, owned by the Host core, so a
 * backend can be replaced under a paused guest and resume where it was.
 * <p>
 * 1.1: {@link org.lguest.api.cpu.PortIo}, {@link
 * org.lguest.api.cpu.Vcpu#portIo} and {@link
 * org.lguest.api.cpu.VcpuBackend#description}, for engines that run port I/O
 * instead of trapping it; both new methods have defaults, so a backend built
 * against 1.0 still works.
 * <p>
 * 1.2: {@link org.lguest.api.cpu.ExitHandler} and {@link
 * org.lguest.api.cpu.Vcpu#exitHandler}, so that a backend can hand an exit
 * to the Host core from inside its engine and keep running; the default
 * ignores the handler.
 * <p>
 * 1.3: {@link org.lguest.api.cpu.AnonymousMemory}, memory the host backs
 * only where it is touched, for guest RAM and the {@link
 * org.lguest.api.cpu.HostArea} (which now lives in such a mapping).
 */
@org.osgi.annotation.bundle.Export
@org.osgi.annotation.versioning.Version("1.3.0")
package org.lguest.api.cpu;
