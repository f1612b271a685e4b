package org.lguest.api.device;

import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentMap;

/**
 * A Launcher's open descriptors, so that requests can name an eventfd by
 * number as {@code LHREQ_EVENTFD} does. Descriptors are the lowest free
 * non-negative numbers, as on Linux.
 */
public final class DescriptorTable {
    private final ConcurrentMap<Integer, Object> open = new ConcurrentHashMap<>();

    /** Installs a file and returns its descriptor. */
    public synchronized int install(Object file) {
        int fd = 0;
        while (open.containsKey(fd)) {
            fd++;
        }
        open.put(fd, file);
        return fd;
    }

    /** The file behind a descriptor, or empty when it is not open (EBADF). */
    public Optional<Object> get(long fd) {
        if (fd < 0 || fd > Integer.MAX_VALUE) {
            return Optional.empty();
        }
        return Optional.ofNullable(open.get((int) fd));
    }

    /** Closes a descriptor. Holders of the file keep it, as a kernel reference would. */
    public boolean close(int fd) {
        return open.remove(fd) != null;
    }
}
