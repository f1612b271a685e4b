package org.lguest.itest;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertTrue;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Comparator;
import java.util.List;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

import javax.inject.Inject;

import org.junit.Test;
import org.junit.runner.RunWith;
import org.lguest.api.guest.Guest;
import org.lguest.api.guest.Guest.Outcome;
import org.lguest.api.guest.Guest.State;
import org.lguest.api.guest.GuestManager;
import org.lguest.api.guest.LaunchOptions;
import org.ops4j.pax.exam.Configuration;
import org.ops4j.pax.exam.Option;
import org.ops4j.pax.exam.junit.PaxExam;
import org.ops4j.pax.exam.spi.reactors.ExamReactorStrategy;
import org.ops4j.pax.exam.spi.reactors.PerClass;

/**
 * The guest SDK as a device author gets it: the archive the build attaches
 * to lguest.guest, unpacked into an empty folder far from our tree; a guest
 * written there is compiled with its Makefile and booted, by its path, on
 * the real Unicorn CPU inside the framework.
 */
@RunWith(PaxExam.class)
@ExamReactorStrategy(PerClass.class)
public class GuestSdkIT {
    private static final long SECONDS = 120;

    @Inject
    private GuestManager launcher;

    @Configuration
    public Option[] config() {
        return Container.withBundlesUnderTest();
    }

    @Test
    public void aGuestBuiltFromTheArchiveAloneBoots() throws Exception {
        String archive = System.getProperty("lguest.guest.sdk");
        assertTrue("lguest.guest.sdk is not set: run through Maven", archive != null && Files.isRegularFile(Path.of(archive)));
        Path work = Files.createTempDirectory("lguest-sdk");
        try {
            run(work, "tar", "-xzf", archive);
            Path sdk = work.resolve("lguest-guest-sdk");
            Path mine = Files.createDirectories(work.resolve("mine"));
            long token = ThreadLocalRandom.current().nextLong(1, Long.MAX_VALUE);
            Files.writeString(mine.resolve("sdk-guest.c"), String.join("\n",
                "#include \"rt.h\"",
                "IMAGE(\"sdk-guest\");",
                "void main(void)",
                "{",
                "    guest_init();",
                "    say(\"sdk-guest: token " + token + "\");",
                "    pass();",
                "}",
                ""));
            run(mine, "make", "-s", "-f", sdk.resolve("Makefile").toString(), "SRC=.", "OUT=out");
            Path image = mine.resolve("out/sdk-guest.elf");
            assertTrue("make built no " + image, Files.isRegularFile(image));

            ByteArrayOutputStream console = new ByteArrayOutputStream();
            Guest guest = launcher.launch(new LaunchOptions(image.toString(), 32, console));
            Outcome outcome;
            try {
                outcome = guest.outcome().toCompletableFuture().get(SECONDS, TimeUnit.SECONDS);
            } finally {
                guest.stop();
            }
            String text;
            synchronized (console) {
                text = console.toString(StandardCharsets.UTF_8);
            }
            assertEquals(outcome.reason() + "\n" + text, State.POWERED_OFF, outcome.state());
            assertTrue(text, text.contains("sdk-guest: token " + token + "\n"));
            assertTrue(text, text.endsWith("PASS sdk-guest\n"));
        } finally {
            try (Stream<Path> all = Files.walk(work)) {
                for (Path p : all.sorted(Comparator.reverseOrder()).toList()) {
                    Files.deleteIfExists(p);
                }
            }
        }
    }

    /** Runs a command in {@code dir}; its output goes into the failure message. */
    private static void run(Path dir, String... command) throws IOException, InterruptedException {
        Process process = new ProcessBuilder(List.of(command)).directory(dir.toFile()).redirectErrorStream(true).start();
        String output = new String(process.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        if (!process.waitFor(SECONDS, TimeUnit.SECONDS)) {
            process.destroyForcibly();
            throw new AssertionError(String.join(" ", command) + " did not finish within " + SECONDS + " s:\n" + output);
        }
        assertEquals(String.join(" ", command) + ":\n" + output, 0, process.exitValue());
    }
}
