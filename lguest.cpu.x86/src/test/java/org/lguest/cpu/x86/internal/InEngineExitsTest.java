package org.lguest.cpu.x86.internal;

import static java.lang.foreign.ValueLayout.JAVA_INT;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.lang.foreign.MemorySegment;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CountDownLatch;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.lguest.api.cpu.ExitHandler.Action;
import org.lguest.api.cpu.Reg;
import org.lguest.api.cpu.VcpuException;
import org.lguest.api.cpu.VcpuExit;

/** Exits the Host settles inside the interrupt hook, with the engine still running (Vcpu.exitHandler). */
class InEngineExitsTest {
    private static final int CODE = 0x1000;
    private static final int HYPERCALL = 0x1F, GP = 13, PF = 14;
    private static final int INT_1F = 0xCD, INT_ARG = 0x1F;
    private static final long HIGH = 0xC000_0000L;

    private TestGuest guest;

    @BeforeEach
    void boot() throws VcpuException {
        guest = new TestGuest();
    }

    @AfterEach
    void shutDown() {
        guest.close();
    }

    private UnicornVcpu.HookStats stats() {
        return ((UnicornVcpu) guest.vcpu).stats;
    }

    @Test
    void hypercallsAreAnsweredWithoutLeavingTheEngine() throws VcpuException {
        guest.code(CODE, 0x89, 0xC3, INT_1F, INT_ARG, 0xEB, 0xFA); // 1: mov %eax,%ebx; int $0x1f; jmp 1b
        guest.set(Reg.EAX, 0);
        int[] calls = {0};
        List<String> wrong = new ArrayList<>();
        guest.vcpu.exitHandler(exit -> {
            int n = ++calls[0];
            if (!exit.isTrap(HYPERCALL) || !exit.softwareInterrupt() || exit.eip() != CODE + 4) {
                wrong.add("call " + n + ": " + exit);
            }
            if (guest.reg(Reg.EBX) != n - 1) {
                wrong.add("call " + n + ": the guest saw " + guest.reg(Reg.EBX) + " in EAX, not " + (n - 1));
            }
            guest.set(Reg.EAX, n); // the answer, written back from the hook
            return n == 1000 ? Action.STOP : Action.RESUME;
        });

        VcpuExit exit = guest.vcpu.run();

        assertEquals(List.of(), wrong);
        assertEquals(VcpuExit.Kind.KICKED, exit.kind(), "STOP: the exit is handled, run() returns to the Host's loop");
        assertEquals(1000, calls[0]);
        assertEquals(999, stats().resumed);
        assertEquals(999, guest.reg(Reg.EBX));
    }

    @Test
    void pageFaultsFilledInTheHookKeepArrivingAsThemselves() throws VcpuException {
        for (int page = 0x200; page < 0x230; page++) {
            guest.pte(page * 4096L, 0);
        }
        // 1: mov (%ebx),%eax; add $0x1000,%ebx; jmp 1b: runs off the end of RAM at 4 MiB
        guest.code(CODE, 0x8B, 0x03, 0x81, 0xC3, 0x00, 0x10, 0x00, 0x00, 0xEB, 0xF6);
        guest.set(Reg.EBX, 0x200000);
        List<VcpuExit> seen = new ArrayList<>();
        guest.vcpu.exitHandler(exit -> {
            if (exit.cr2() >= (long) guest.ramPages * 4096) {
                return Action.DECLINE;
            }
            seen.add(exit);
            guest.pte(exit.cr2(), TestGuest.identity(exit.cr2()));
            return Action.RESUME;
        });

        VcpuExit last = guest.vcpu.run();

        assertEquals(0x30, seen.size());
        for (int i = 0; i < seen.size(); i++) {
            assertEquals(VcpuExit.trap(PF, 0, 0x200000 + i * 4096L, CODE), seen.get(i), "fault " + i + ": no double fault (#1883)");
        }
        assertEquals(VcpuExit.trap(PF, 0, (long) guest.ramPages * 4096, CODE), last, "DECLINE: run() returns the exit itself");
    }

    @Test
    void aNewEipFromTheHookIsWhereTheGuestGoesOn() throws VcpuException {
        int[] code = new int[42];
        java.util.Arrays.fill(code, 0xFA); // cli: #GP(0) at ring 1
        code[40] = INT_1F;
        code[41] = INT_ARG;
        guest.code(CODE, code);
        List<VcpuExit> seen = new ArrayList<>();
        guest.vcpu.exitHandler(exit -> {
            seen.add(exit);
            if (exit.isTrap(GP)) {
                guest.set(Reg.EIP, guest.reg(Reg.EIP) + 1); // skip it, as the Launcher does with a cli
                return Action.RESUME;
            }
            return Action.DECLINE;
        });

        VcpuExit last = guest.vcpu.run();

        assertEquals(41, seen.size());
        for (int i = 0; i < 40; i++) {
            assertEquals(VcpuExit.trap(GP, 0, 0, CODE + i), seen.get(i), "fault " + i);
        }
        assertEquals(VcpuExit.softwareInterrupt(HYPERCALL, CODE + 42), last);
    }

    @Test
    void aSegmentChangeLeavesTheEngineAndTakesEffectAtTheNextRun() throws VcpuException {
        guest.code(CODE, INT_1F, INT_ARG, 0x8C, 0xD8, INT_1F, INT_ARG); // int $0x1f; mov %ds,%eax; int $0x1f
        guest.vcpu.exitHandler(exit -> {
            if (exit.eip() == CODE + 2) {
                guest.set(Reg.DS, TestGuest.USER_DS); // only the switcher loads segments
                return Action.RESUME;
            }
            return Action.DECLINE;
        });

        assertEquals(VcpuExit.Kind.KICKED, guest.vcpu.run().kind(), "handled, but the change needs a full entry");
        assertEquals(VcpuExit.softwareInterrupt(HYPERCALL, CODE + 6), guest.vcpu.run());
        assertEquals(TestGuest.USER_DS, guest.reg(Reg.EAX) & 0xFFFF);
    }

    @Test
    void aTlbFlushAskedForInTheHookTakesEffectThere() throws VcpuException {
        guest.pte(HIGH, TestGuest.mapping(0x10_0000));
        guest.ram.set(JAVA_INT, 0x10_0000, 0x1111);
        guest.ram.set(JAVA_INT, 0x10_2000, 0x2222);
        // mov 0xc0000000,%eax; int $0x1f; mov 0xc0000000,%ebx; int $0x1f
        guest.code(CODE, 0xA1, 0x00, 0x00, 0x00, 0xC0, INT_1F, INT_ARG, 0x8B, 0x1D, 0x00, 0x00, 0x00, 0xC0, INT_1F, INT_ARG);
        guest.vcpu.exitHandler(exit -> {
            if (exit.eip() == CODE + 7) {
                guest.pte(HIGH, TestGuest.mapping(0x10_2000));
                guest.vcpu.flushTlb();
                return Action.RESUME;
            }
            return Action.DECLINE;
        });

        assertEquals(VcpuExit.softwareInterrupt(HYPERCALL, CODE + 15), guest.vcpu.run());
        assertEquals(0x1111, guest.reg(Reg.EAX));
        assertEquals(0x2222, guest.reg(Reg.EBX));
    }

    @Test
    void aNewRootSetInTheHookIsLoadedThere() throws VcpuException {
        // A second directory: the same but for the low table, whose copy maps 0x300000 to 0x301000.
        long other = guest.hostArea.allocatePage();
        long otherLow = guest.hostArea.allocatePage();
        MemorySegment.copy(guest.hostArea.page(guest.directory), 0, guest.hostArea.page(other), 0, 4096);
        MemorySegment.copy(guest.hostArea.page(guest.lowTable), 0, guest.hostArea.page(otherLow), 0, 4096);
        guest.hostArea.page(other).set(JAVA_INT, 0, (int) otherLow | TestGuest.PRESENT | TestGuest.WRITABLE | TestGuest.USER);
        guest.hostArea.page(otherLow).setAtIndex(JAVA_INT, 0x300, TestGuest.mapping(0x30_1000));
        guest.ram.set(JAVA_INT, 0x30_0000, 0x3333);
        guest.ram.set(JAVA_INT, 0x30_1000, 0x4444);
        // mov 0x300000,%eax; int $0x1f; mov 0x300000,%ebx; int $0x1f
        guest.code(CODE, 0xA1, 0x00, 0x00, 0x30, 0x00, INT_1F, INT_ARG, 0x8B, 0x1D, 0x00, 0x00, 0x30, 0x00, INT_1F, INT_ARG);
        guest.vcpu.exitHandler(exit -> {
            if (exit.eip() == CODE + 7) {
                guest.state.pageTableRoot(other);
                return Action.RESUME;
            }
            return Action.DECLINE;
        });

        assertEquals(VcpuExit.softwareInterrupt(HYPERCALL, CODE + 15), guest.vcpu.run());
        assertEquals(0x3333, guest.reg(Reg.EAX));
        assertEquals(0x4444, guest.reg(Reg.EBX));
    }

    @Test
    void aKickEndsAGuestWhoseExitsAreAllHandledInTheEngine() throws Exception {
        guest.code(CODE, INT_1F, INT_ARG, 0xEB, 0xFC); // 1: int $0x1f; jmp 1b
        CountDownLatch going = new CountDownLatch(100);
        guest.vcpu.exitHandler(exit -> {
            going.countDown();
            return Action.RESUME;
        });
        Thread kicker = Thread.ofPlatform().start(() -> {
            try {
                going.await();
            } catch (InterruptedException e) {
                return;
            }
            guest.vcpu.kick();
        });

        VcpuExit exit = guest.vcpu.run();
        kicker.join();

        assertEquals(VcpuExit.Kind.KICKED, exit.kind());
        assertTrue(stats().resumed >= 99, "resumed " + stats().resumed);
    }
}
