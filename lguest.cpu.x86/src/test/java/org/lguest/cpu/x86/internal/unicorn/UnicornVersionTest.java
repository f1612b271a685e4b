package org.lguest.cpu.x86.internal.unicorn;

import static org.junit.jupiter.api.Assertions.assertDoesNotThrow;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;

class UnicornVersionTest {

    @Test
    void unicornOlderThan21IsRefusedWithWhatToInstall() {
        UnicornException e = assertThrows(UnicornException.class, () -> Unicorn.requireSupported(0x0200_01FF));
        assertTrue(e.getMessage().startsWith("Unicorn 2.0.1 is too old"), e.getMessage());
        assertTrue(e.getMessage().contains("libunicorn2t64") && e.getMessage().contains("2.1.1"), e.getMessage());
        assertFalse(e.getMessage().contains("\n"), "one line");
        assertThrows(UnicornException.class, () -> Unicorn.requireSupported(0x0109_00FF));
    }

    @Test
    void unicorn21AndLaterAreAccepted() {
        assertDoesNotThrow(() -> Unicorn.requireSupported(0x0201_01FF));
        assertDoesNotThrow(() -> Unicorn.requireSupported(0x0201_04FF));
        assertDoesNotThrow(() -> Unicorn.requireSupported(0x0300_00FF));
    }
}
