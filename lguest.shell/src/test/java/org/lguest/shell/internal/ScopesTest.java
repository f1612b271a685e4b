package org.lguest.shell.internal;

import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;

import org.junit.jupiter.api.Test;

/** The prompt and the -c mode look commands up in the same order. */
class ScopesTest {
    @Test
    void theShellProfileSetsTheSameScopeOrder() throws Exception {
        String profile = Files.readString(Path.of("..", "etc", "gosh_profile"));
        assertTrue(profile.contains("SCOPE = '" + Scopes.ORDER + "'"),
            "etc/gosh_profile must set SCOPE = '" + Scopes.ORDER + "', as Scopes.ORDER says");
    }
}
