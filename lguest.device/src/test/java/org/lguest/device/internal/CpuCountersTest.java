package org.lguest.device.internal;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Map;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.lguest.api.abi.Lhcall;
import org.lguest.api.cpu.Reg;
import org.lguest.api.device.GuestCounters;
import org.lguest.api.paging.GuestPageTables.Fault;

/** What the Host counts for a guest (CpuCounters), read through LguestFile.counters(), with counting on and off. */
@Timeout(10)
class CpuCountersTest {
    private final Rig rig = new Rig();

    @AfterEach
    void close() {
        rig.close();
    }

    /** Two FLUSH_TLBs, a filled fault and a reflected one (to a handler), then the NOTIFY the Launcher sees. */
    private void runSomeExits() {
        rig.boot();
        long handler = 0x3000;
        rig.backend.then(Rig.doing(s -> s.regs().set(Reg.ESP, 0x9000)), Rig.idt(14, handler, 0xE), Rig.hcall(Lhcall.FLUSH_TLB), Rig.hcall(Lhcall.FLUSH_TLB),
            Rig.trap(14, 0, 0xC000_1000L));
        rig.paging.last().faults.add(Fault.FILLED);
        rig.paging.last().faults.add(Fault.GUEST);
        rig.backend.then(Rig.trap(14, 6, 0xC000_2000L), Rig.hcall(Lhcall.NOTIFY, 0xF00D));
        Rig.Read r = rig.read();
        assertEquals(8, r.n(), () -> "died: " + rig.guest().dead());
    }

    @Test
    void hypercallsFaultsAndExitsAreCountedByKind() {
        runSomeExits();
        GuestCounters c = rig.file.counters();
        assertTrue(c.counting());
        assertEquals(2L, c.hypercalls().get(Lhcall.FLUSH_TLB));
        assertEquals(2L, c.hypercalls().get(Lhcall.NOTIFY), "boot's NOTIFY and ours");
        assertEquals(1L, c.hypercalls().get(Lhcall.LOAD_IDT_ENTRY));
        assertEquals(1, c.faultsFilled());
        assertEquals(1, c.faultsReflected());
        assertEquals(2L, c.exits().get("page fault"));
        long hypercallExits = c.exits().get("hypercall");
        assertEquals(c.hypercalls().values().stream().mapToLong(Long::longValue).sum() + 1, hypercallExits,
            "every synchronous hypercall came in one exit, LGUEST_INIT (not counted by number) too");
    }

    @Test
    void aHostConfiguredNotToCountCountsNothing() {
        rig.host.countPerGuest = false;
        runSomeExits();
        GuestCounters c = rig.file.counters();
        assertFalse(c.counting());
        assertEquals(Map.of(), c.hypercalls());
        assertEquals(Map.of(), c.exits());
        assertEquals(0, c.faultsFilled() + c.faultsReflected() + c.runningNanos());
    }

    @Test
    void beforeInitializeThereIsNothingToCount() {
        assertEquals(GuestCounters.NONE, rig.file.counters());
    }
}
