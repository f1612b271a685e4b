package org.lguest.shell.internal;

import java.io.FilterOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.io.PrintStream;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

import org.lguest.api.guest.Guest;
import org.lguest.api.guest.LaunchException;
import org.lguest.api.virtio.Virtio;

/**
 * The demo: two guests on one in-JVM switch, {@value #SWITCH}. {@value #PEER}
 * answers the frames it receives; {@value #DEMO} greets on its virtio
 * console, checksums sector 0 of a fresh scratch disk and writes, flushes and
 * reads back sector 1, takes 16 bytes from the rng, sends a frame to the peer
 * and waits for the reply, takes timer interrupts and powers off. The peer
 * may power off after its first reply or answer until it is stopped: when the
 * demo ends, a peer still running is stopped. The scratch disk is deleted.
 */
final class DemoScenario {
    static final String DEMO = "demo";
    static final String PEER = "demo-peer";
    static final String SWITCH = "demo";
    /** The images' last line when everything worked; a failing one says FAIL and powers off too. */
    static final String PASS = "PASS " + DEMO;
    /** The scratch disk: 1 MiB, sector 0 a known pattern so the checksum the guest prints is always the same. */
    static final int DISK_BYTES = 1 << 20;
    static final String DISK_LABEL = "lguest demo disk\n";
    static final int SECTOR = 512;
    private static final Duration DEMO_LIMIT = Duration.ofSeconds(120);
    private static final Duration PEER_STOP = Duration.ofSeconds(10);

    private final GuestStarter starter;
    private final OutputStream console;
    private final PrintStream log;

    /**
     * @param console where both guests' consoles go (the peer's lines prefixed with its name)
     * @param log where the demo says what went wrong
     */
    DemoScenario(GuestStarter starter, OutputStream console, PrintStream log) {
        this.starter = starter;
        this.console = console;
        this.log = log;
    }

    /** Runs the demo to its end: 0 when {@value #DEMO} says {@value #PASS} and powers off, 1 (with why on the log) otherwise. */
    int run() {
        List<String> images = starter.launcher().images();
        if (!images.contains(DEMO) || !images.contains(PEER)) {
            log.println("lguest: the demo needs the guest images '" + DEMO + "' and '" + PEER + "', and this runtime has "
                + images + ": build lguest.guest with them (mvn -DskipTests install) and start again");
            return 1;
        }
        Path disk = null;
        Guest peer = null;
        PrefixedLines peerConsole = new PrefixedLines(console, "[" + PEER + "] ");
        ConsoleTail demoConsole = new ConsoleTail(console);
        try {
            starter.awaitDevices(Map.of(Virtio.ID_CONSOLE, "virtio console", Virtio.ID_ENTROPY, "virtio rng"));
            disk = scratchDisk();
            peer = starter.launch(LaunchRequest.of(PEER, List.of(), List.of(SWITCH)), peerConsole);
            Guest demo = starter.launch(LaunchRequest.of(DEMO, List.of(new LaunchRequest.Disk(disk, false)),
                List.of(SWITCH)), demoConsole);
            Guest.Outcome outcome = awaitEnd(demo, DEMO_LIMIT);
            if (outcome.state() == Guest.State.POWERED_OFF && PASS.equals(demoConsole.lastLine())) {
                return 0;
            }
            log.println("lguest: guest " + demo.id() + " (" + DEMO + ") " + describe(outcome) + "; its last line: "
                + demoConsole.lastLine());
            return 1;
        } catch (LaunchException | IOException e) {
            log.println("lguest: the demo could not start: " + e.getMessage());
            return 1;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            log.println("lguest: the demo was interrupted");
            return 1;
        } finally {
            stopPeer(peer);
            closeQuietly(peerConsole);
            deleteQuietly(disk);
        }
    }

    /** Waits for the guest to end; one that runs past the limit is stopped. */
    private Guest.Outcome awaitEnd(Guest guest, Duration limit) throws InterruptedException {
        try {
            return guest.outcome().toCompletableFuture().get(limit.toSeconds(), TimeUnit.SECONDS);
        } catch (TimeoutException e) {
            guest.stop();
            log.println("lguest: " + guest.image() + " did not end within " + limit.toSeconds() + " s: stopped");
            return new Guest.Outcome(Guest.State.STOPPED, "ran past " + limit.toSeconds() + " s");
        } catch (InterruptedException e) {
            guest.stop();
            throw e;
        } catch (ExecutionException e) {
            return new Guest.Outcome(Guest.State.KILLED, String.valueOf(e.getCause()));
        }
    }

    /**
     * The peer powers off by itself after its reply, but its last console
     * lines may still be on their way through its console device when the
     * demo ends: give it {@link #PEER_STOP} to finish, then stop it if it
     * still runs. Only a kill is news.
     */
    private void stopPeer(Guest peer) {
        if (peer == null) {
            return;
        }
        try {
            peer.outcome().toCompletableFuture().get(PEER_STOP.toSeconds(), TimeUnit.SECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        } catch (ExecutionException | TimeoutException e) {
            // Still running (or its end could not be read): stopped below.
        }
        peer.stop();
        try {
            Guest.Outcome outcome = peer.outcome().toCompletableFuture().get(PEER_STOP.toSeconds(), TimeUnit.SECONDS);
            if (outcome.state() == Guest.State.KILLED) {
                log.println("lguest: guest " + peer.id() + " (" + PEER + ") " + describe(outcome));
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        } catch (ExecutionException | TimeoutException e) {
            log.println("lguest: guest " + peer.id() + " (" + PEER + ") did not stop within " + PEER_STOP.toSeconds()
                + " s");
        }
    }

    static String describe(Guest.Outcome outcome) {
        return outcome.state().name().toLowerCase().replace('_', ' ') + ": " + outcome.reason();
    }

    /** A fresh 1 MiB disk under java.io.tmpdir whose sector 0 is {@link #sector0()}. */
    static Path scratchDisk() throws IOException {
        Path disk = Files.createTempFile("lguest-demo-", ".img");
        disk.toFile().deleteOnExit();
        try (FileChannel channel = FileChannel.open(disk, StandardOpenOption.WRITE)) {
            channel.write(ByteBuffer.wrap(sector0()));
            channel.write(ByteBuffer.wrap(new byte[1]), DISK_BYTES - 1L);
        }
        return disk;
    }

    /** {@value #DISK_LABEL}, then each byte its own offset in the sector, modulo 256. */
    static byte[] sector0() {
        byte[] sector = new byte[SECTOR];
        byte[] label = DISK_LABEL.getBytes(StandardCharsets.US_ASCII);
        for (int i = 0; i < SECTOR; i++) {
            sector[i] = i < label.length ? label[i] : (byte) i;
        }
        return sector;
    }

    /** Passes a console on and keeps its last complete line. */
    static final class ConsoleTail extends FilterOutputStream {
        private final StringBuilder line = new StringBuilder();
        private volatile String last = "";

        ConsoleTail(OutputStream out) {
            super(out);
        }

        /*
         * Whole lines only: the peer's console shares the terminal, and a
         * line written byte by byte could be cut by one of the peer's.
         */
        @Override
        public synchronized void write(int b) throws IOException {
            if (b == '\n') {
                last = line.toString().strip();
                out.write((line + "\n").getBytes(java.nio.charset.StandardCharsets.ISO_8859_1));
                out.flush();
                line.setLength(0);
            } else {
                line.append((char) (b & 0xFF));
            }
        }

        @Override
        public synchronized void flush() throws IOException {
            out.flush();
        }

        @Override
        public synchronized void write(byte[] bytes, int offset, int length) throws IOException {
            for (int i = offset; i < offset + length; i++) {
                write(bytes[i]);
            }
        }

        String lastLine() {
            return last;
        }
    }

    private static void closeQuietly(OutputStream stream) {
        try {
            stream.close();
        } catch (IOException e) {
            // The terminal went away: nothing left to show it on.
        }
    }

    private static void deleteQuietly(Path file) {
        if (file != null) {
            try {
                Files.deleteIfExists(file);
            } catch (IOException e) {
                // deleteOnExit gets it.
            }
        }
    }
}
