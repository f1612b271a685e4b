package org.lguest.device.internal;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CountDownLatch;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.lguest.api.abi.Lhcall;
import org.lguest.api.cpu.ExitHandler.Action;
import org.lguest.api.cpu.Reg;
import org.lguest.api.cpu.VcpuExit;

/** Core.handleNow: exits a backend hands over from inside its engine, which keeps running when the Host says so. */
@Timeout(10)
class InEngineTest {
    private final Rig rig = new Rig();
    private final List<Action> actions = new ArrayList<>();

    @BeforeEach
    void boot() {
        rig.boot();
    }

    @AfterEach
    void close() {
        rig.close();
    }

    /** One run() of an engine that keeps going: each exit goes to the Host's handler until one is not RESUMEd. */
    private FakeBackend.Step inEngine(FakeBackend.Step... exits) {
        return state -> {
            FakeBackend.FakeVcpu vcpu = rig.backend.last();
            for (FakeBackend.Step step : exits) {
                VcpuExit exit = step.run(state);
                Action action = vcpu.exitHandler.handleNow(exit);
                actions.add(action);
                if (action == Action.DECLINE) {
                    return exit;
                }
                if (action == Action.STOP) {
                    return VcpuExit.kicked(state.regs().get(Reg.EIP) & 0xFFFF_FFFFL);
                }
            }
            return VcpuExit.kicked(state.regs().get(Reg.EIP) & 0xFFFF_FFFFL);
        };
    }

    @Test
    void hypercallsTheHostSettlesResumeAndANotifyForTheLauncherStops() {
        rig.backend.then(inEngine(Rig.hcall(Lhcall.FLUSH_ASYNC), Rig.hcall(Lhcall.TS, 1), Rig.hcall(Lhcall.NOTIFY, 0xF00D)));

        Rig.Read r = rig.read();

        assertEquals(8, r.n());
        assertEquals(0xF00D, r.word(), "the loop returned the NOTIFY the hook left it");
        assertEquals(List.of(Action.RESUME, Action.RESUME, Action.STOP), actions);
        assertEquals(1, rig.cpu().ts, "the TS call was made inside the engine");
        assertEquals(2, rig.cpu().hookCounts[Cpu.HOOK_RESUMED]);
        assertEquals(1, rig.cpu().hookCounts[Cpu.HOOK_LAUNCHER]);
    }

    @Test
    void anExitWhileAnotherThreadHoldsTheCpuIsGivenBackToTheLoop() throws Exception {
        CountDownLatch held = new CountDownLatch(1), done = new CountDownLatch(1);
        FakeBackend.Step busy = state -> {
            Thread.ofPlatform().start(() -> {
                rig.cpu().lock.lock();
                try {
                    held.countDown();
                    done.await();
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                } finally {
                    rig.cpu().lock.unlock();
                }
            });
            try {
                held.await();
            } catch (InterruptedException e) {
                throw new IllegalStateException(e);
            }
            return Rig.hcall(Lhcall.NOTIFY, 0xBEEF).run(state);
        };
        rig.backend.then(state -> {
            VcpuExit exit = inEngine(busy).run(state);
            done.countDown();
            return exit;
        });

        Rig.Read r = rig.read();

        assertEquals(List.of(Action.DECLINE), actions);
        assertEquals(0xBEEF, r.word(), "the loop handled the exit as without a handler");
        assertEquals(1, rig.cpu().hookCounts[Cpu.HOOK_BUSY]);
    }
}
