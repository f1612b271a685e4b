package org.lguest.device.internal;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.concurrent.CompletableFuture;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.lguest.api.abi.Errno;
import org.lguest.api.abi.Lhreq;
import org.lguest.api.abi.PtRegs;

/** write(): the request word, the checks before the switch, and the switch. */
@Timeout(10)
class WriteTest {
    private final Rig rig = new Rig();

    @AfterEach
    void close() {
        rig.close();
    }

    @Test
    void noRequestWordIsEfault() {
        assertEquals(-Errno.EFAULT, rig.file.write(rig.buffer(0), 0));
        assertEquals(-Errno.EFAULT, rig.file.write(rig.buffer(7), 0));
        assertEquals(-Errno.EFAULT, rig.file.write(null, 0));
        assertEquals(-Errno.EFAULT, rig.file.write(MemorySegment.NULL, 0));
    }

    @Test
    void unreadableRequestIsEfault() throws Exception {
        Arena gone = Arena.ofShared();
        MemorySegment closed = gone.allocate(32);
        gone.close();
        assertEquals(-Errno.EFAULT, rig.file.write(closed, 0));

        try (Arena confined = Arena.ofConfined()) {
            MemorySegment other = confined.allocate(32);
            long answer = CompletableFuture.supplyAsync(() -> rig.file.write(other, 0)).get();
            assertEquals(-Errno.EFAULT, answer);
        }
    }

    @Test
    void aHeapSegmentIsFine() {
        long[] words = {Lhreq.INITIALIZE, rig.base(), Rig.PAGES, Rig.START};
        assertEquals(24, rig.file.write(MemorySegment.ofArray(words), 0));
    }

    @ParameterizedTest
    @ValueSource(longs = {Lhreq.IRQ, Lhreq.EVENTFD, Lhreq.GETREG, Lhreq.SETREG, Lhreq.GETDMA, Lhreq.BREAK, Lhreq.TRAP,
        99, -1})
    void anythingButInitializeBeforeInitializeIsEinval(long request) {
        assertEquals(-Errno.EINVAL, rig.write(request, 1, 1, 1));
        // Even with no arguments at all: the request is refused before they are read.
        assertEquals(-Errno.EINVAL, rig.write(request));
    }

    @ParameterizedTest
    @ValueSource(longs = {1, 2, -1, Long.MAX_VALUE, Long.MIN_VALUE, 1L << 32})
    void aCpuIndexAtOrPastNrCpusIsEinval(long cpu) {
        assertEquals(24, rig.init());
        assertEquals(-Errno.EINVAL, rig.writeCpu(cpu, Lhreq.IRQ, 1));
        assertEquals(-Errno.EINVAL, rig.writeCpu(cpu, Lhreq.GETREG, PtRegs.AX));
        assertEquals(-Errno.EINVAL, rig.writeCpu(cpu, 99));
        assertEquals(0, rig.writeCpu(0, Lhreq.IRQ, 1));
    }

    @ParameterizedTest
    @ValueSource(longs = {Lhreq.GETDMA, Lhreq.BREAK, 8, 99, -1, Long.MIN_VALUE})
    void anUnknownRequestIsEinval(long request) {
        assertEquals(24, rig.init());
        assertEquals(-Errno.EINVAL, rig.write(request, 1, 2, 3));
    }

    @ParameterizedTest
    @ValueSource(longs = {Lhreq.IRQ, Lhreq.EVENTFD, Lhreq.GETREG, Lhreq.SETREG, Lhreq.TRAP, 99})
    void afterDeathEveryRequestButInitializeIsEnoent(long request) {
        assertEquals(24, rig.init());
        rig.guest().kill("gone");
        assertEquals(-Errno.ENOENT, rig.write(request, PtRegs.AX, 1, 1));
        assertEquals(-Errno.ENOENT, rig.write(request));
    }

    @Test
    void afterDeathInitializeIsEbusy() {
        assertEquals(24, rig.init());
        rig.guest().kill("gone");
        assertEquals(-Errno.EBUSY, rig.init());
    }

    @Test
    void theCpuIndexIsCheckedBeforeDeath() {
        assertEquals(24, rig.init());
        rig.guest().kill("gone");
        assertEquals(-Errno.EINVAL, rig.writeCpu(1, Lhreq.IRQ, 1));
    }

    @Test
    void restartCountsAsDeath() {
        assertEquals(24, rig.init());
        rig.guest().restart("the test asks for a restart");
        assertEquals(-Errno.ENOENT, rig.write(Lhreq.IRQ, 1));
    }

    @Test
    void eachRequestAnswersItsLength() {
        assertEquals(24, rig.init());
        assertEquals(0, rig.write(Lhreq.IRQ, 3));
        assertEquals(16, rig.write(Lhreq.GETREG, PtRegs.AX));
        assertEquals(24, rig.write(Lhreq.SETREG, PtRegs.AX, 5));
        try (var fd = new org.lguest.api.device.Eventfd()) {
            int n = rig.task.descriptors().install(fd);
            assertEquals(0, rig.write(Lhreq.EVENTFD, 0x100, n));
        }
    }
}
