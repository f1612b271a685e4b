package org.lguest.api.cpu;

/** The engine (not the guest) failed; the message says how and, where it can, what to do. */
public class VcpuException extends Exception {
    private static final long serialVersionUID = 1L;

    public VcpuException(String message) {
        super(message);
    }

    public VcpuException(String message, Throwable cause) {
        super(message, cause);
    }
}
