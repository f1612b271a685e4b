package org.lguest.launcher.internal;

import org.lguest.api.virtio.VirtioBus;

/**
 * PCI configuration space as memory (PCIe's ECAM), for bus 0 only: device
 * {@code d}, function {@code f}, register {@code r} at 0xE0000000 +
 * {@code d << 15 | f << 12 | r}. Each access traps precisely (a #PF in
 * the device region), unlike port I/O on Unicorn, which the engine hands
 * over from inside the instruction; this window turns each access into the
 * same configuration mechanism #1 cycle the guest would make through the
 * ports 0xCF8/0xCFC. The guest's own value in the address port is
 * kept, as an ECAM access on hardware leaves it alone.
 */
final class PciConfigWindow {
    /** Where the window lies: above any RAM the Launcher gives (2 GiB at most) and below the host area. */
    static final long BASE = 0xE000_0000L;
    /** One bus: 32 devices of 8 functions of 4 KiB. */
    static final long SIZE = 1L << 20;
    private static final long ENABLE = 0x8000_0000L;
    /** Mechanism #1 reaches the first 256 bytes of a function; PCIe's extended space is not emulated. */
    private static final int CONVENTIONAL_BYTES = 256;

    private final VirtioBus bus;

    PciConfigWindow(VirtioBus bus) {
        this.bus = bus;
    }

    static boolean owns(long address) {
        return address >= BASE && address < BASE + SIZE;
    }

    /** A read of {@code size} bytes; all ones where no function or register answers. */
    synchronized long read(long address, int size) {
        if (!reachable(address, size)) {
            return MmioInstruction.mask(size);
        }
        long saved = select(address);
        try {
            return bus.ioRead(VirtioBus.CONFIG_DATA + register(address) % 4, size);
        } finally {
            bus.ioWrite(VirtioBus.CONFIG_ADDRESS, 4, saved);
        }
    }

    /** A write of {@code size} bytes; false when it reaches no register (it is dropped, as on hardware). */
    synchronized boolean write(long address, int size, long value) {
        if (!reachable(address, size)) {
            return false;
        }
        long saved = select(address);
        try {
            return bus.ioWrite(VirtioBus.CONFIG_DATA + register(address) % 4, size, value & MmioInstruction.mask(size));
        } finally {
            bus.ioWrite(VirtioBus.CONFIG_ADDRESS, 4, saved);
        }
    }

    /** Inside the window, 1, 2 or 4 bytes within one dword of conventional configuration space. */
    private static boolean reachable(long address, int size) {
        if (!owns(address) || !(size == 1 || size == 2 || size == 4)) {
            return false;
        }
        int register = register(address);
        return register < CONVENTIONAL_BYTES && register % 4 + size <= 4;
    }

    /** Points the address port at the function's dword; the value it held before. */
    private long select(long address) {
        long offset = address - BASE;
        long device = (offset >>> 15) & 0x1F;
        long function = (offset >>> 12) & 7;
        long saved = bus.ioRead(VirtioBus.CONFIG_ADDRESS, 4);
        bus.ioWrite(VirtioBus.CONFIG_ADDRESS, 4, ENABLE | device << 11 | function << 8 | (register(address) & 0xFC));
        return saved;
    }

    private static int register(long address) {
        return (int) ((address - BASE) & 0xFFF);
    }
}
