package org.lguest.launcher.internal;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Collection;
import java.util.List;
import java.util.Optional;

/**
 * Admission control: a guest starts only if the host can back all of its
 * RAM. Guest RAM is an anonymous mapping whose pages arrive on first touch,
 * so a running guest's untouched RAM costs nothing yet, but it is promised:
 * the guest may touch all of it at any moment, and if the host cannot back
 * it then the kernel kills the whole JVM, every guest with it. So the
 * untouched part of each running guest's RAM is counted as owed (the touched
 * part is already in the host's own figures, and is not counted twice), and
 * a new guest needs its RAM plus overhead on top of what is owed.
 */
final class Admission {
    /** Unknown or unlimited. */
    static final long UNLIMITED = Long.MAX_VALUE;

    /**
     * What the host can still give: MemAvailable, and for a memory cgroup
     * its limit less what it already uses; {@link #UNLIMITED} when unknown.
     */
    record HostMemory(long available, long cgroupRoom) {
        long room() {
            return Math.min(available, cgroupRoom);
        }

        /** This machine's figures, read now. */
        static HostMemory read() {
            return read(Path.of("/proc"), Path.of("/sys/fs/cgroup"));
        }

        static HostMemory read(Path proc, Path cgroupRoot) {
            long available = UNLIMITED;
            try {
                for (String line : Files.readAllLines(proc.resolve("meminfo"))) {
                    if (line.startsWith("MemAvailable:")) {
                        available = Long.parseLong(line.replaceAll("[^0-9]", "")) * 1024;
                    }
                }
            } catch (IOException | NumberFormatException e) {
                // No figure: this check says nothing, the others still hold.
            }
            return new HostMemory(available, cgroupRoom(proc, cgroupRoot));
        }

        /*
         * The smallest room (limit less usage) from our memory cgroup up to
         * the root: cgroup v2's memory.max and memory.current, or v1's
         * memory.limit_in_bytes and memory.usage_in_bytes under memory/.
         */
        private static long cgroupRoom(Path proc, Path cgroupRoot) {
            long room = UNLIMITED;
            try {
                for (String line : Files.readAllLines(proc.resolve("self/cgroup"))) {
                    if (line.startsWith("0::")) {
                        room = Math.min(room, chainRoom(cgroupRoot, line.substring(3), "memory.max", "memory.current"));
                    } else if (line.matches("[0-9]+:([^:]*,)?memory(,[^:]*)?:.*")) {
                        room = Math.min(room, chainRoom(cgroupRoot.resolve("memory"), line.substring(line.indexOf(':',
                            line.indexOf(':') + 1) + 1), "memory.limit_in_bytes", "memory.usage_in_bytes"));
                    }
                }
            } catch (IOException e) {
                return UNLIMITED;
            }
            return room;
        }

        private static long chainRoom(Path root, String group, String limitFile, String usageFile) {
            long room = UNLIMITED;
            Path dir = root.resolve(group.replaceFirst("^/+", "")).normalize();
            while (dir.startsWith(root)) {
                long max = number(dir.resolve(limitFile));
                long current = number(dir.resolve(usageFile));
                if (max != UNLIMITED && current != UNLIMITED) {
                    room = Math.min(room, Math.max(0, max - current));
                }
                if (dir.equals(root)) {
                    break;
                }
                dir = dir.getParent();
            }
            return room;
        }

        private static long number(Path file) {
            try {
                String text = Files.readString(file).strip();
                return text.equals("max") ? UNLIMITED : Long.parseLong(text);
            } catch (IOException | NumberFormatException e) {
                return UNLIMITED;
            }
        }
    }

    /** A guest already running: its RAM and how much of it the host has backed so far. */
    record Running(long ramBytes, long residentBytes) {
        long owed() {
            return Math.max(0, ramBytes - residentBytes);
        }
    }

    private Admission() {
    }

    /**
     * Why a guest of {@code ramBytes} cannot start; empty when it can.
     *
     * @param overheadBytes what the Host and the engine add per guest
     * @param platformLimitBytes the platform's limit on all guests' RAM together, or {@link #UNLIMITED}
     */
    static Optional<String> refusal(long ramBytes, long overheadBytes, Collection<Running> running, long platformLimitBytes,
            HostMemory host) {
        long promised = 0;
        long owed = 0;
        for (Running r : running) {
            promised += r.ramBytes();
            owed += r.owed();
        }
        if (platformLimitBytes != UNLIMITED && promised + ramBytes > platformLimitBytes) {
            return Optional.of(String.format("not enough memory for the guest: %d MiB of RAM beside the %d MiB of the %d running"
                + " guests is more than the platform's limit of %d MiB (org.lguest.launcher max.guest.memory.mib)",
                mib(ramBytes), mib(promised), running.size(), mib(platformLimitBytes)));
        }
        long need = ramBytes + overheadBytes;
        long room = host.room();
        if (room != UNLIMITED && need + owed > room) {
            String where = host.cgroupRoom() <= host.available() ? "its memory cgroup has" : "the host has";
            return Optional.of(String.format("not enough memory for the guest: it needs %d MiB (RAM and %d MiB overhead), running"
                + " guests may still touch %d MiB, and %s %d MiB left", mib(need), mib(overheadBytes), mib(owed), where,
                mib(room)));
        }
        return Optional.empty();
    }

    static Optional<String> refusal(long ramBytes, long overheadBytes, long platformLimitBytes, HostMemory host) {
        return refusal(ramBytes, overheadBytes, List.of(), platformLimitBytes, host);
    }

    private static long mib(long bytes) {
        return bytes >> 20;
    }
}
