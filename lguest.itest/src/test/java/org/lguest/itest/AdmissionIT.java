package org.lguest.itest;

import static org.junit.Assert.assertTrue;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.TimeUnit;

import javax.inject.Inject;

import org.apache.felix.service.command.CommandProcessor;
import org.apache.felix.service.command.CommandSession;
import org.junit.Test;
import org.junit.runner.RunWith;
import org.ops4j.pax.exam.Configuration;
import org.ops4j.pax.exam.Option;
import org.ops4j.pax.exam.junit.PaxExam;
import org.ops4j.pax.exam.spi.reactors.ExamReactorStrategy;
import org.ops4j.pax.exam.spi.reactors.PerClass;

/*
 * Issue 13, finding 4: admission control, configured through Configuration
 * Admin as an operator sets it. A framework of its own: the Launcher
 * restarts with each configuration change, which other tests should not meet.
 */
@RunWith(PaxExam.class)
@ExamReactorStrategy(PerClass.class)
public class AdmissionIT {

    @Inject
    private CommandProcessor commands;

    @Configuration
    public Option[] config() {
        return Container.withBundlesUnderTest();
    }

    @Test
    public void aGuestPastThePlatformsMemoryLimitIsRefused() throws Exception {
        execute("lguest:config set org.lguest.launcher max.guest.memory.mib 64");
        String refusal = null;
        try {
            // The Launcher restarts with the new configuration; until it has, launches still succeed.
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
            while (refusal == null && System.nanoTime() < deadline) {
                try {
                    execute("lguest:launch hello");
                    Thread.sleep(20);
                } catch (Exception e) {
                    if (String.valueOf(e.getMessage()).contains("platform's limit")) {
                        refusal = e.getMessage();
                    } else {
                        Thread.sleep(20);
                    }
                }
            }
        } finally {
            execute("lguest:config delete org.lguest.launcher");
        }
        assertTrue(String.valueOf(refusal), refusal != null && refusal.startsWith("cannot boot hello: not enough memory"
            + " for the guest: 128 MiB of RAM") && refusal.contains("platform's limit of 64 MiB"));
    }

    private String execute(String line) throws Exception {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        PrintStream print = new PrintStream(out, true, StandardCharsets.UTF_8);
        CommandSession session = commands.createSession(System.in, print, print);
        try {
            return String.valueOf(session.execute(line));
        } finally {
            session.close();
        }
    }
}
