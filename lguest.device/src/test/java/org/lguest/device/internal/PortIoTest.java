package org.lguest.device.internal;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertSame;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.lguest.api.abi.Lhcall;
import org.lguest.api.cpu.PortIo;

/** LguestFile.portIo: the Launcher's port handler reaches the guest's CPU before it runs, whenever it was given. */
@Timeout(10)
class PortIoTest {
    private final Rig rig = new Rig();

    @AfterEach
    void close() {
        rig.close();
    }

    /** A handler that owns nothing; only its identity matters here. */
    private static PortIo handler() {
        return new PortIo() {
            @Override
            public boolean owns(int port) {
                return false;
            }

            @Override
            public int in(int port, int size) {
                return -1;
            }

            @Override
            public void out(int port, int size, int value) {
            }
        };
    }

    private void runOnce() {
        rig.backend.then(Rig.hcall(Lhcall.NOTIFY, 0xF00D));
        assertEquals(0xF00D, rig.read().word());
    }

    @Test
    void aHandlerGivenBeforeInitializeReachesTheCpu() {
        PortIo ports = handler();
        rig.file.portIo(ports);
        rig.boot();
        assertSame(ports, rig.backend.last().portIo);
    }

    @Test
    void aHandlerGivenLaterReplacesTheOldOneAtTheNextRun() {
        rig.boot();
        assertNull(rig.backend.last().portIo, "no handler: every port is absent");
        PortIo ports = handler();
        rig.file.portIo(ports);
        runOnce();
        assertSame(ports, rig.backend.last().portIo);
        rig.file.portIo(null);
        runOnce();
        assertNull(rig.backend.last().portIo);
    }
}
