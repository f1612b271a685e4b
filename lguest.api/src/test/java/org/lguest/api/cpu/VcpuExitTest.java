package org.lguest.api.cpu;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;

/** The three ways a run ends, and how the Host tells them apart. */
class VcpuExitTest {

    @Test
    void aFaultCarriesItsErrorCodeAndAddress() {
        VcpuExit fault = VcpuExit.trap(14, 2, 0x1234, 0x100000);
        assertTrue(fault.isTrap(14));
        assertFalse(fault.isTrap(13));
        assertFalse(fault.softwareInterrupt());
        assertEquals(2, fault.errorCode());
        assertEquals(0x1234, fault.cr2());
    }

    @Test
    void aSoftwareInterruptHasNoErrorCodeButIsStillATrapOfItsVector() {
        VcpuExit hypercall = VcpuExit.softwareInterrupt(0x1F, 0x100002);
        assertTrue(hypercall.isTrap(0x1F));
        assertTrue(hypercall.softwareInterrupt());
        assertEquals(0, hypercall.errorCode());
        assertEquals(0x100002, hypercall.eip());
        assertFalse(hypercall.equals(VcpuExit.trap(0x1F, 0, 0, 0x100002)), "told apart from a fault of that vector");
    }

    @Test
    void aKickIsNoTrapOfAnyVector() {
        VcpuExit kicked = VcpuExit.kicked(0x2000);
        assertEquals(VcpuExit.Kind.KICKED, kicked.kind());
        assertEquals(-1, kicked.vector());
        assertFalse(kicked.isTrap(-1));
        assertFalse(kicked.isTrap(0));
    }
}
