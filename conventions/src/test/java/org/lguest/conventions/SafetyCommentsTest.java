package org.lguest.conventions;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Collectors;
import org.junit.jupiter.api.Test;

/** Every place main code hands memory to native code says why that is sound (see {@link SafetyComments}). */
class SafetyCommentsTest {

    @Test
    void everyDoorToNativeCodeHasItsSafetyComment() throws IOException {
        Path root = Repository.root();
        List<SafetyComments.Miss> misses = new ArrayList<>();
        int checked = 0;
        for (String file : Repository.files(root)) {
            if (!SafetyComments.applies(file)) continue;
            checked++;
            misses.addAll(SafetyComments.misses(file, Files.readString(root.resolve(file), StandardCharsets.UTF_8)));
        }
        assertTrue(checked > 0, "found no main Java sources under the repository root");
        if (!misses.isEmpty()) {
            fail(misses.size() + " place(s) hand memory to native code without a SAFETY: comment on the line or the "
                + SafetyComments.WINDOW + " above, saying why it is sound and what keeps the memory alive:\n"
                + misses.stream().map(m -> "  " + m).collect(Collectors.joining("\n")));
        }
    }

    // ---- the rule itself, on small samples ----

    @Test
    void aReinterpretWithoutACommentIsAMiss() {
        String java = """
                class A {
                    MemorySegment grow(MemorySegment s) {
                        return s.reinterpret(64);
                    }
                }
                """;
        List<SafetyComments.Miss> misses = SafetyComments.misses("A.java", java);
        assertEquals(1, misses.size());
        assertEquals(3, misses.get(0).line());
        assertEquals("A.java:3: return s.reinterpret(64);", misses.get(0).toString());
    }

    @Test
    void aCommentAboveOrOnTheLineExplainsIt() {
        String above = """
                // SAFETY: the library's table is static; it outlives every reader.
                MemorySegment t = table.reinterpret(64);
                """;
        String trailing = "MemorySegment t = table.reinterpret(64); /* SAFETY: static table */\n";
        assertTrue(SafetyComments.misses("A.java", above).isEmpty());
        assertTrue(SafetyComments.misses("A.java", trailing).isEmpty());
    }

    @Test
    void theCommentMustBeNearEnough() {
        StringBuilder java = new StringBuilder("// SAFETY: far away\n");
        for (int i = 0; i < SafetyComments.WINDOW; i++) {
            java.append("int x").append(i).append(" = 0;\n");
        }
        java.append("engine.mapPointer(0, ram);\n");
        assertEquals(1, SafetyComments.misses("A.java", java.toString()).size(), "WINDOW + 1 lines above is too far");
        String near = java.toString().replaceFirst("int x0 = 0;\n", "");
        assertTrue(SafetyComments.misses("A.java", near).isEmpty(), "WINDOW lines above is near enough");
    }

    @Test
    void everyKindOfDoorCounts() {
        for (String door : List.of("s.reinterpret(8)", "unicorn.memMapPtr.invokeExact(h, a, n, p, m)", "engine.mapPointer(0, ram)",
                "linker.upcallStub(target, descriptor, arena)", "engine.setEngineByte(offset, (byte) 1)")) {
            assertEquals(1, SafetyComments.misses("A.java", "x = " + door + ";\n").size(), door);
        }
    }

    @Test
    void proseAndDeclarationsAreNotDoors() {
        String java = """
                /** Maps memory, as {@code engine.mapPointer(0, ram)} does. */
                // a comment may name s.reinterpret(8) freely
                 * and so may a Javadoc line: linker.upcallStub(...)
                public void mapPointer(long address, MemorySegment memory) {
                void setEngineByte(long offset, byte value) {
                """;
        assertTrue(SafetyComments.misses("A.java", java).isEmpty(), () -> SafetyComments.misses("A.java", java).toString());
    }

    @Test
    void onlyMainJavaSourcesAreChecked() {
        assertTrue(SafetyComments.applies("lguest.cpu.x86/src/main/java/org/lguest/cpu/x86/internal/unicorn/Engine.java"));
        assertFalse(SafetyComments.applies("lguest.cpu.x86/src/test/java/org/lguest/cpu/x86/EngineTest.java"));
        assertFalse(SafetyComments.applies("docs/journey.md"));
    }
}
