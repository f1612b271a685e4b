package org.lguest.device.internal;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.lguest.api.abi.Errno;

/** Guest.dead: which DeathReason a guest keeps, and what read() answers for each. */
class GuestDeathTest {
    private final Rig rig = new Rig();
    private Guest guest;

    @BeforeEach
    void init() {
        assertEquals(24, rig.init());
        guest = rig.guest();
    }

    @AfterEach
    void close() {
        rig.close();
    }

    @Test
    void theFirstKillWins() {
        assertFalse(guest.isDead());
        guest.kill("first");
        guest.kill("second");
        assertTrue(guest.isDead());
        assertEquals(new DeathReason.Killed("first"), guest.dead());
    }

    @Test
    void aRestartRequestReplacesAKillButAKillDoesNotReplaceIt() {
        guest.kill("the shutdown message could not be read");
        guest.restart("LHCALL_SHUTDOWN: reboot");
        assertEquals(new DeathReason.RestartRequested("LHCALL_SHUTDOWN: reboot"), guest.dead());
        guest.kill("later");
        assertEquals(new DeathReason.RestartRequested("LHCALL_SHUTDOWN: reboot"), guest.dead());
    }

    @Test
    void readAnswersAKillWithItsReasonAndARestartWithErestart() {
        assertEquals(5, LguestFileImpl.deadReason(new DeathReason.Killed("oops"), rig.buffer(16)));
        assertEquals(-Errno.ERESTART, LguestFileImpl.deadReason(new DeathReason.RestartRequested("again"), rig.buffer(16)));
    }

    @Test
    void forgettingTheDeathLeavesNoReason() {
        guest.kill("gone");
        guest.forgetDeath();
        assertNull(guest.dead());
    }

    @Test
    void aReasonMustBeGiven() {
        assertThrows(NullPointerException.class, () -> new DeathReason.Killed(null));
        assertThrows(NullPointerException.class, () -> new DeathReason.RestartRequested(null));
    }
}
