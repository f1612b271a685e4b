package org.lguest.launcher.internal;

import java.lang.foreign.MemorySegment;

import org.lguest.api.guest.LaunchException;

/**
 * What goes into a new guest's RAM, checked before any RAM is allocated: the
 * kernel where it asks to be, the initrd at the top of RAM (lguest's
 * Launcher put it there, page-aligned, and said so in the boot data), and the
 * boot data with the command line below both.
 *
 * @param initrd the initrd's bytes, or null without one
 */
record BootPlan(KernelImage kernel, ImageSource initrd, long memoryBytes, String commandLine) {
    static final long PAGE = 4096;

    /** Refuses, saying why, a kernel or initrd that does not fit. */
    static BootPlan check(KernelImage kernel, ImageSource initrd, long memoryBytes, String commandLine)
            throws LaunchException {
        /*M:040
         * Everything is measured before any guest memory exists: the kernel must fit, and an initrd goes
         * page-aligned at the very top of RAM, so it must end up above the kernel's last byte.
         */
        kernel.checkFits(memoryBytes);
        if (initrd != null) {
            if (initrd.size() == 0) {
                throw new LaunchException("cannot use " + initrd.name() + " as the initrd: it is empty");
            }
            long size = pageAligned(initrd.size());
            long start = memoryBytes - size;
            if (start < kernel.end()) {
                throw new LaunchException(String.format("the initrd %s (%d KiB) does not fit between the kernel, which"
                    + " ends at %#x, and the top of %d MiB of guest memory: give the guest more (--memory)",
                    initrd.name(), size >> 10, kernel.end(), memoryBytes >> 20));
            }
        }
        return new BootPlan(kernel, initrd, memoryBytes, commandLine);
    }

    static long pageAligned(long bytes) {
        return (bytes + PAGE - 1) & -PAGE;
    }

    BootParams.Initrd initrdPlace() {
        if (initrd == null) {
            return null;
        }
        long size = pageAligned(initrd.size());
        return new BootParams.Initrd(memoryBytes - size, size);
    }

    long entry() {
        return kernel.entry();
    }

    /** Writes everything into fresh guest RAM (all zero): the initrd's padding stays zero. */
    void load(MemorySegment ram) throws LaunchException {
        /*M:070
         * Filling the fresh RAM: the boot data at the bottom, then the kernel where its headers asked, then
         * the initrd at the place check() chose.
         */
        BootParams.Initrd place = initrdPlace();
        BootParams.write(ram, memoryBytes, commandLine, place);
        kernel.load(ram);
        if (initrd != null) {
            initrd.read(0, ram.asSlice(place.address(), initrd.size()));
        }
    }
}
