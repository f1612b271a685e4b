package org.lguest.api.abi;

/**
 * The Linux errno values the protocol answers with. A failed read or write
 * returns the negated value, as the kernel's file operations did.
 */
public final class Errno {
    public static final int EPERM = 1;
    public static final int ENOENT = 2;
    public static final int EINTR = 4;
    /** The Host could not run the guest's CPU (its backend failed); the guest is intact. */
    public static final int EIO = 5;
    public static final int EBADF = 9;
    /** Try again: a service the Host needs (vCPU backend, page-table manager) is not there yet. */
    public static final int EAGAIN = 11;
    public static final int ENOMEM = 12;
    public static final int EFAULT = 14;
    public static final int EBUSY = 16;
    public static final int EINVAL = 22;
    /** The guest asked to be restarted ({@code LGUEST_SHUTDOWN_RESTART}). */
    public static final int ERESTART = 85;

    private Errno() {
    }

    /** The symbolic name of an errno value, or its number when it is not one of ours. */
    public static String name(int errno) {
        return switch (Math.abs(errno)) {
            case EPERM -> "EPERM";
            case ENOENT -> "ENOENT";
            case EINTR -> "EINTR";
            case EIO -> "EIO";
            case EAGAIN -> "EAGAIN";
            case EBADF -> "EBADF";
            case ENOMEM -> "ENOMEM";
            case EFAULT -> "EFAULT";
            case EBUSY -> "EBUSY";
            case EINVAL -> "EINVAL";
            case ERESTART -> "ERESTART";
            default -> "errno " + Math.abs(errno);
        };
    }
}
