package org.lguest.api.abi;

import static org.junit.jupiter.api.Assertions.assertEquals;

import org.junit.jupiter.api.Test;

/** Errno names for log lines: the sign of a protocol answer does not matter. */
class ErrnoTest {

    @Test
    void knownValuesHaveTheirNamesEitherSign() {
        assertEquals("EAGAIN", Errno.name(Errno.EAGAIN));
        assertEquals("EAGAIN", Errno.name(-Errno.EAGAIN));
        assertEquals("ERESTART", Errno.name(-85));
        assertEquals("EFAULT", Errno.name(-14));
    }

    @Test
    void otherValuesAreNumbered() {
        assertEquals("errno 38", Errno.name(-38));
        assertEquals("errno 0", Errno.name(0));
    }

    @Test
    void theValuesAreLinuxs() {
        assertEquals(1, Errno.EPERM);
        assertEquals(2, Errno.ENOENT);
        assertEquals(4, Errno.EINTR);
        assertEquals(5, Errno.EIO);
        assertEquals(9, Errno.EBADF);
        assertEquals(11, Errno.EAGAIN);
        assertEquals(12, Errno.ENOMEM);
        assertEquals(14, Errno.EFAULT);
        assertEquals(16, Errno.EBUSY);
        assertEquals(22, Errno.EINVAL);
        assertEquals(85, Errno.ERESTART);
    }
}
