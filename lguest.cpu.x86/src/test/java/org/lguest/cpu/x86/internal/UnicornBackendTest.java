package org.lguest.cpu.x86.internal;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;
import org.lguest.cpu.x86.internal.unicorn.Unicorn;
import org.lguest.cpu.x86.internal.unicorn.UnicornException;

class UnicornBackendTest {

    @Test
    void calibrationFindsEachFieldOnce() {
        ContextLayout layout = ContextLayout.calibrate(Unicorn.load());
        assertTrue(layout.oldException() > 0 && layout.errorCode() > 0 && layout.exceptionIsInt() > 0);
        assertEquals(layout, ContextLayout.calibrate(Unicorn.load()), "the same library gives the same offsets");
        assertTrue(TestGuest.BACKEND.describe().contains("old_exception " + layout.oldException()));
        assertEquals("unicorn", TestGuest.BACKEND.name());
    }

    @Test
    void aMissingLibrarySaysWhatToInstall() {
        UnicornException e = assertThrows(UnicornException.class, () -> Unicorn.load("libunicorn-missing.so.9"));
        assertTrue(e.getMessage().contains("apt-get install libunicorn2t64"), e.getMessage());
        assertFalse(e.getMessage().contains("\n"), "one line");
    }

    @Test
    void theInstalledUnicornIsNewEnoughAndNamesItsVersion() {
        assertTrue(Unicorn.load().version().matches("2\\.([1-9]|\\d\\d+)\\.\\d+"), Unicorn.load().version());
        assertTrue(TestGuest.BACKEND.description().startsWith("unicorn " + Unicorn.load().version()), TestGuest.BACKEND.description());
    }

    @Test
    void errorsCarryUnicornsOwnMessage() {
        assertEquals("Unhandled CPU exception (UC_ERR_EXCEPTION)", Unicorn.load().message(21));
    }
}
