package org.lguest.device.internal;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.Set;
import java.util.SplittableRandom;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.stream.Collectors;

import org.junit.jupiter.api.Test;
import org.lguest.api.abi.Errno;
import org.lguest.api.abi.Lhreq;
import org.lguest.api.cpu.GuestMachine;
import org.lguest.api.device.LguestFile;

/*
 * Random and boundary /dev/lguest requests against the seed's rules for
 * which errno answers what. The model knows whether the file has a guest
 * and whether it is closed; for each request it computes the seed's answer
 * where the rules fix one, and otherwise checks the answer is one the seed
 * could give. No exception may escape, and the Host's threads end with it.
 *
 * 10,000 requests in the normal suite; ./test --long sets
 * -Dlguest.fuzz.protocol.requests=1000000.
 */
class ProtocolFuzzTest {
    private static final int REQUESTS = Integer.getInteger("lguest.fuzz.protocol.requests", 10_000);
    private static final long SEED = Long.getLong("lguest.fuzz.protocol.seed", 13);
    private static final long WORD = Lhreq.WORD;
    private static final long[] BOUNDARY = {0, 1, 2, 7, 8, 31, 32, 255, 256, 4095, 4096, 0x7FFF_FFFFL, 0x8000_0000L,
        0xFFFF_FFFFL, 1L << 32, Long.MAX_VALUE, Long.MIN_VALUE, -1, -2, -4096};

    @Test
    void randomAndBoundaryRequestsGetTheSeedsAnswers() throws Exception {
        Set<String> before = lguestThreads();
        SplittableRandom random = new SplittableRandom(SEED);
        ExecutorService stranger = Executors.newSingleThreadExecutor();
        long[] answers = new long[4];
        Set<String> deaths = new java.util.TreeSet<>();
        try (Rig rig = new Rig(); Arena arena = Arena.ofConfined()) {
            LguestFile file = null;
            boolean guest = false;
            boolean closed = false;
            for (int i = 0; i < REQUESTS; i++) {
                if (file == null || random.nextInt(400) == 0) {
                    if (file != null) {
                        file.close();
                    }
                    file = rig.host.open(rig.task);
                    guest = false;
                    closed = false;
                }
                if (random.nextInt(1000) == 0) {
                    file.close();
                    closed = true;
                }
                final LguestFile f = file;
                long cpu = random.nextInt(8) == 0 ? pick(random) : 0;
                String what;
                long got;
                long expected;
                Set<Long> allowed = Set.of();
                if (random.nextInt(10) == 0) {
                    // read(): with no guest, a bad CPU, or from a thread that is not the guest's.
                    MemorySegment buffer = arena.allocate(64);
                    boolean fromStranger = guest && cpu == 0;
                    what = "read cpu " + cpu + (fromStranger ? " from another thread" : "");
                    got = fromStranger ? stranger.submit(() -> f.read(buffer, 0)).get() : f.read(buffer, cpu);
                    expected = closed ? -Errno.EBADF : !guest || cpu != 0 ? -Errno.EINVAL : -Errno.EPERM;
                } else {
                    long req = random.nextInt(4) == 0 ? pick(random) : random.nextInt(9);
                    int words = random.nextBoolean() ? 4 : random.nextInt(6);
                    long[] w = new long[words];
                    if (words > 0) {
                        w[0] = req;
                    }
                    for (int k = 1; k < words; k++) {
                        w[k] = pick(random);
                    }
                    long base = rig.base();
                    if (req == Lhreq.INITIALIZE && words >= 3 && random.nextBoolean()) {
                        w[1] = random.nextInt(4) == 0 ? base + pick(random) : base;
                        w[2] = random.nextInt(3) == 0 ? pick(random) : 1 + random.nextInt(Rig.PAGES + 2);
                    }
                    int extra = random.nextInt(8) == 0 ? random.nextInt(1, 8) : 0;
                    MemorySegment in = arena.allocate(words * WORD + extra + 1).asSlice(0, words * WORD + extra);
                    for (int k = 0; k < words; k++) {
                        in.set(Rig.WORD, k * WORD, w[k]);
                    }
                    long bytes = in.byteSize();
                    Guest g = ((LguestFileImpl) f).guest();
                    boolean dead = g != null && g.isDead();
                    if (dead) {
                        deaths.add(String.valueOf(g.dead()).replaceAll("[0-9a-fx]+]$", "N"));
                    }
                    what = "write " + java.util.Arrays.toString(w) + " (" + bytes + " bytes) cpu " + cpu;
                    got = f.write(in, cpu);
                    if (closed) {
                        expected = -Errno.EBADF;
                    } else if (bytes < WORD) {
                        expected = -Errno.EFAULT;
                    } else if (req != Lhreq.INITIALIZE && (!guest || cpu != 0)) {
                        expected = -Errno.EINVAL;
                    } else if (req != Lhreq.INITIALIZE && dead) {
                        // A guest killed by an earlier request (a SETREG it could not live with) answers ENOENT.
                        expected = -Errno.ENOENT;
                    } else if (req == Lhreq.INITIALIZE) {
                        expected = guest ? -Errno.EBUSY : initialize(w, bytes, base);
                    } else if (req == Lhreq.IRQ) {
                        expected = bytes < 2 * WORD ? -Errno.EFAULT : Long.compareUnsigned(w[1], 32) >= 0 ? -Errno.EINVAL : 0;
                    } else if (req == Lhreq.TRAP) {
                        // No guest code ever ran, so no IDT entry exists: every trap number is EINVAL.
                        expected = bytes < 2 * WORD ? -Errno.EFAULT : -Errno.EINVAL;
                    } else if (req == Lhreq.GETREG || req == Lhreq.SETREG || req == Lhreq.EVENTFD) {
                        expected = Long.MIN_VALUE;
                        // Later lguest's: a selector that names no register is ENOENT.
                        allowed = Set.of(0L, 2 * WORD, 3 * WORD, -(long) Errno.EINVAL, -(long) Errno.EFAULT,
                            -(long) Errno.EBADF, -(long) Errno.ENOENT);
                    } else {
                        expected = -Errno.EINVAL;
                    }
                    if (got == 24 && req == Lhreq.INITIALIZE) {
                        guest = true;
                    }
                }
                answers[got >= 0 ? 0 : got == expected ? 1 : 2]++;
                if (expected == Long.MIN_VALUE) {
                    if (!allowed.contains(got)) {
                        fail("request " + i + ": " + what + " answered " + got);
                    }
                } else if (got != expected) {
                    fail("request " + i + ": " + what + " answered " + got + ", the seed's rules say " + expected);
                }
            }
            if (file != null) {
                file.close();
            }
        } finally {
            stranger.shutdownNow();
        }
        // The Host's threads end with it: nothing of ours is left running.
        for (Thread t : Thread.getAllStackTraces().keySet()) {
            if (t.getName().startsWith("lguest-") && !before.contains(t.getName())) {
                t.join(10_000);
            }
        }
        assertEquals(before, lguestThreads(), "threads back to where they were");
        System.out.printf("ProtocolFuzzTest: %d requests, seed %d: %d answered >= 0, %d errors as the rules say; deaths seen: %s%n",
            REQUESTS, SEED, answers[0], answers[1], deaths);
        assertTrue(answers[0] > 0 && answers[1] > 0, "both successes and errors were met: " + answers[0] + ", " + answers[1]);
    }

    /* LHREQ_INITIALIZE as the seed answers it over the rig's memory. */
    private static long initialize(long[] w, long bytes, long base) {
        if (bytes < 4 * WORD) {
            return -Errno.EFAULT;
        }
        long at = w[1];
        long pfn = w[2];
        long memoryEnd = base + (Rig.PAGES + 1L) * 4096;
        boolean inMemory = Long.compareUnsigned(pfn, Long.MAX_VALUE / 4096) <= 0 && at >= base && at <= memoryEnd
            && pfn * 4096 <= memoryEnd - at;
        if (!inMemory) {
            return -Errno.EFAULT;
        }
        if (pfn == 0 || pfn * 4096 > GuestMachine.HOST_AREA_BASE || (at & 4095) != 0) {
            return -Errno.EINVAL;
        }
        return 24;
    }

    private static long pick(SplittableRandom random) {
        return random.nextInt(3) == 0 ? random.nextLong() : BOUNDARY[random.nextInt(BOUNDARY.length)];
    }

    private static Set<String> lguestThreads() {
        return Thread.getAllStackTraces().keySet().stream().filter(Thread::isAlive).map(Thread::getName)
            .filter(n -> n.startsWith("lguest-")).collect(Collectors.toSet());
    }
}
