package org.lguest.shell.internal;

import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;

/** Which shutdowns `./lguest run` counts as success. */
class PowerOffTest {
    @Test
    void onlyThePlainPowerOffIsSuccess() {
        assertTrue(CommandLine.isPlainPowerOff("CRASH: Power down"));
        assertFalse(CommandLine.isPlainPowerOff("CRASH: Kernel panic - not syncing: VFS: Unable to mount root fs"),
            "Linux's panic notifier powers off with the panic's text");
        assertFalse(CommandLine.isPlainPowerOff("CRASH: Power down and more"));
        assertFalse(CommandLine.isPlainPowerOff(null));
    }
}
