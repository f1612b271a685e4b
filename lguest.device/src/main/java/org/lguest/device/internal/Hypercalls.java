package org.lguest.device.internal;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;

import org.lguest.api.abi.LguestData;
import org.lguest.api.abi.Lhcall;
import org.lguest.api.cpu.GuestMachine;
import org.lguest.api.cpu.Vcpu;
import org.lguest.api.paging.GuestPageTables;

/*P:500
 * The Guest's requests to the Host. A synchronous hypercall is
 * "int $0x1F" with the call number in EAX and arguments in EBX, ECX, EDX
 * and ESI (Linux 4.x's ABI); Traps stores it in Cpu.hcall and the run
 * loop brings it here. Calls the Guest queued in the ring of its
 * lguest_data are run first, in ring order, so they never overtake it.
 */
final class Hypercalls {
    private static final long MASK = 0xFFFF_FFFFL;
    /** Length of the SHUTDOWN message buffer read from the Guest, NUL included (128, as in Linux). */
    static final int SHUTDOWN_MSG = 128;

    private final Host host;

    Hypercalls(Host host) {
        this.host = host;
    }

    /*H:120
     * One hypercall, synchronous or from the ring: args[0] is the call,
     * args[1..4] its arguments. An unknown call or bad argument kills the
     * Guest.
     */
    void doHcall(Cpu cpu, long[] args) {
        Guest lg = cpu.lg;
        long call = args[0];
        cpu.counters.hypercall(call);
        switch ((int) call) {
            case Lhcall.FLUSH_ASYNC -> {
                /* Nothing to do: the exit itself got the ring run, which is what the Guest wanted. */
            }
            case Lhcall.SEND_INTERRUPTS -> {
                /* Nothing either: on the way back in, pending interrupts get delivered. */
            }
            case Lhcall.LGUEST_INIT ->
                /* LGUEST_INIT is handled by initialize(); arriving here means a second one. */
                lg.kill("already have lguest_data");
            case Lhcall.SHUTDOWN -> shutdown(cpu, args[1], args[2]);
            case Lhcall.FLUSH_TLB -> {
                /* Non-zero argument: drop every shadow; zero: only the user (below-kernel) mappings. */
                if (args[1] != 0) {
                    clearAll(cpu);
                } else {
                    pageTables(cpu).flushUserMappings(cpu.id);
                    flushTlb(cpu);
                }
            }
            /* Page-table calls go to the page-table manager; then the engine's TLB is flushed. */
            case Lhcall.NEW_PGTABLE -> {
                boolean recycled = pageTables(cpu).switchPgtable(cpu.id, args[1]);
                cpu.guestPgdir = args[1];
                /* Re-pin the kernel stack in the new shadow so trap delivery cannot fault. */
                host.interrupts.pinStackPages(cpu);
                /*
                 * A cached shadow taken as it was holds nothing a flush would
                 * change (its changes flushed when made, and a new root is a
                 * CR3 load anyway): only a made or recycled one needs it.
                 */
                if (recycled) {
                    flushTlb(cpu);
                }
            }
            case Lhcall.SET_STACK -> host.interrupts.setStack(cpu, args[1], args[2], args[3]);
            case Lhcall.SET_PTE -> {
                pageTables(cpu).setPte(args[1], args[2], args[3]);
                flushTlb(cpu);
            }
            case Lhcall.SET_PGD -> {
                pageTables(cpu).setPgd(args[1], (int) args[2]);
                flushTlb(cpu);
            }
            case Lhcall.SET_PMD -> {
                pageTables(cpu).setPmd(args[1], args[2]);
                flushTlb(cpu);
            }
            case Lhcall.SET_CLOCKEVENT -> cpu.hrt.set(args[1]);
            /* Traps uses ts to decide whether a device-not-available trap goes to the Guest. */
            case Lhcall.TS -> cpu.ts = args[1];
            /* Core parks a halted CPU until an interrupt arrives. */
            case Lhcall.HALT -> cpu.halted = true;
            case Lhcall.NOTIFY -> cpu.pendingNotify = args[1];
            /* H:122 Descriptor-table calls, specific to i386. */
            case Lhcall.LOAD_GDT_ENTRY -> loadGdtEntry(cpu, args[1], args[2], args[3]);
            case Lhcall.LOAD_IDT_ENTRY -> host.interrupts.loadIdtEntry(cpu, args[1], args[2], args[3]);
            case Lhcall.LOAD_TLS -> loadTls(cpu, args[1]);
            default ->
                /* Unknown call number. */
                lg.kill("Bad hypercall " + Fmt.signed(call));
        }
    }

    private static GuestPageTables pageTables(Cpu cpu) {
        return cpu.lg.pageTables;
    }

    private static void flushTlb(Cpu cpu) {
        Vcpu vcpu = cpu.vcpu;
        if (vcpu != null) {
            vcpu.flushTlb();
        }
    }

    /** guest_pagetable_clear_all(): drop every shadow; the kernel stack must be mapped again. */
    void clearAll(Cpu cpu) {
        pageTables(cpu).clearAll();
        host.interrupts.pinStackPages(cpu);
        flushTlb(cpu);
    }

    /*
     * LHCALL_SHUTDOWN, message address, how: die with the Guest's message.
     * If reading the message fails, that read has already killed the Guest
     * with its own reason, and since the first reason wins the kill below
     * changes nothing.
     */
    private static void shutdown(Cpu cpu, long msgAddr, long how) {
        Guest lg = cpu.lg;
        byte[] msg = lg.memory.read(lg, msgAddr, SHUTDOWN_MSG);
        msg[SHUTDOWN_MSG - 1] = 0;
        String reason = Lhcall.SHUTDOWN_REASON_PREFIX + cString(msg);
        if (how == Lhcall.SHUTDOWN_RESTART) {
            lg.restart(reason);
        } else {
            lg.kill(reason);
        }
    }

    /** The bytes up to the first NUL, one char per byte (lossless for the Launcher). */
    static String cString(byte[] bytes) {
        int n = 0;
        while (n < bytes.length && bytes[n] != 0) {
            n++;
        }
        return new String(bytes, 0, n, StandardCharsets.ISO_8859_1);
    }

    /* Our load_guest_gdt_entry(): the CPU backend validates and installs the descriptor. */
    private static void loadGdtEntry(Cpu cpu, long num, long lo, long hi) {
        if (num > Integer.MAX_VALUE) {
            cpu.lg.kill("too many gdt entries " + Fmt.signed(num));
            return;
        }
        String reason = cpu.vcpu.loadGdtEntry((int) num, (hi << 32) | (lo & MASK));
        if (reason != null) {
            cpu.lg.kill(reason);
        }
    }

    /* Our guest_load_tls(): the argument points to three 8-byte TLS descriptors in Guest memory. */
    private static void loadTls(Cpu cpu, long addr) {
        Guest lg = cpu.lg;
        byte[] raw = lg.memory.read(lg, addr, 3 * Long.BYTES);
        if (lg.isDead()) {
            return;
        }
        ByteBuffer b = ByteBuffer.wrap(raw).order(ByteOrder.LITTLE_ENDIAN);
        long[] descriptors = {b.getLong(), b.getLong(), b.getLong()};
        String reason = cpu.vcpu.loadTls(descriptors);
        if (reason != null) {
            lg.kill(reason);
        }
    }

    /*H:124
     * The ring in lguest_data: a status byte per slot (HCALL_SLOT_EMPTY or
     * ready) and the arguments. We walk it from where we stopped last time,
     * at most once round, and stop at the first empty slot.
     */
    private void doAsyncHcalls(Cpu cpu) {
        Guest lg = cpu.lg;
        LguestDataPage data = lg.lguestData;
        /* One read of all status bytes instead of one per slot. */
        byte[] st = new byte[Lhcall.RING_SIZE];
        if (!data.hcallStatus(st)) {
            return;
        }
        /* At most RING_SIZE calls per pass, so a Guest refilling the ring cannot keep us here. */
        for (int i = 0; i < st.length; i++) {
            /* cpu.nextHcall persists across exits. */
            int n = cpu.nextHcall;
            /* An empty slot ends the pass. */
            if ((st[n] & 0xFF) == LguestData.HCALL_SLOT_EMPTY) {
                break;
            }
            /* Advance the cursor, wrapping at the end of the ring. */
            if (++cpu.nextHcall == Lhcall.RING_SIZE) {
                cpu.nextHcall = 0;
            }
            long[] args = data.hcallArgs(n);
            if (args == null) {
                lg.kill("Fetching async hypercalls");
                break;
            }
            /* Same handling as a synchronous call. */
            doHcall(cpu, args);
            /* Give the slot back to the Guest. */
            if (!data.hcallDone(n)) {
                lg.kill("Writing result for async hypercall");
                break;
            }
            /*
             * A NOTIFY or trap for the Launcher ends the pass: later calls may
             * depend on it being serviced. Death ends it too.
             */
            if (cpu.needsLauncher() || lg.isDead()) {
                break;
            }
        }
    }

    /*
     * The Guest's first hypercall, which must be LHCALL_LGUEST_INIT with the
     * address of its lguest_data. We check the page, exchange the boot
     * values with it and start the shadow page tables afresh.
     */
    private void initialize(Cpu cpu) {
        Guest lg = cpu.lg;
        long[] hcall = cpu.hcall;
        /* Any other first call is a Guest bug: kill it. */
        if (hcall[0] != Lhcall.LGUEST_INIT) {
            lg.kill("hypercall " + Fmt.signed(hcall[0]) + " before INIT");
            return;
        }
        /*H:126
         * The range of lguest_data is checked once, here; LguestDataPage then
         * reads and writes it without checking again.
         */
        long at = hcall[1];
        if (!lg.memory.addressOk(at, LguestData.SIZE)) {
            lg.kill("bad guest page " + Fmt.hex(at));
            return;
        }
        LguestDataPage data = new LguestDataPage(lg.memory, at);
        lg.lguestData = data;
        /* tsc_khz from our settings; 0 tells the Guest not to trust its TSC. */
        if (!data.setTscKhz(host.settings().tscKhz())) {
            lg.kill("bad guest page " + Fmt.hex(at));
            return;
        }
        /* The Guest's system-call vector must be one Interrupts lets through directly. */
        long vector = data.syscallVec();
        if (vector < 0 || !host.interrupts.couldBeSyscall(vector)) {
            lg.kill("bad syscall vector");
            return;
        }
        /*
         * The Guest tells us where its one "iret" is: an interrupt due there
         * is delivered on the frame that iret would pop (Interrupts).
         */
        long iret = data.noirqIret();
        if (iret < 0) {
            lg.kill("bad guest page " + Fmt.hex(at));
            return;
        }
        lg.noirqIret = iret;
        /* An initial wall-clock time for the Guest's clock. */
        writeTimestamp(cpu);
        /*
         * Our page_table_guest_data_init(): read where the Guest kernel's
         * addresses begin and tell the Guest how much at the top of the
         * address space is ours (RESERVE_MEM_BYTES, the switcher's 4 MiB).
         * The kernel must start below that.
         */
        long kernelAddress = data.kernelAddress();
        if (kernelAddress < 0 || !data.setReserveMem(Abi.RESERVE_MEM_BYTES)) {
            lg.kill("bad guest page " + Fmt.hex(at));
            return;
        }
        lg.kernelAddress = kernelAddress;
        if ((lg.kernelAddress >>> 22) >= GuestMachine.SWITCHER_PGD_INDEX) {
            lg.kill("bad kernel address " + Fmt.hex(lg.kernelAddress));
            return;
        }
        /* The manager keeps mappings at or above this address across a user-only flush. */
        pageTables(cpu).setKernelAddress(lg.kernelAddress);
        /* Shadows built before INIT may predate the kernel address: rebuild them all. */
        clearAll(cpu);
    }

    /*H:100
     * Entry from the run loop when Cpu.hcall is set: the ring first, then
     * the synchronous call. Before LGUEST_INIT there is no ring, and the
     * call has to be the INIT itself.
     */
    void doHypercalls(Cpu cpu) {
        /* No lguest_data yet: this call must be LGUEST_INIT. */
        if (!cpu.lg.initialized()) {
            initialize(cpu);
            /* Consumed, whether it succeeded or killed the Guest. */
            cpu.hcall = null;
            return;
        }
        /* Queued calls were issued earlier, so they run first. */
        doAsyncHcalls(cpu);
        /*
         * If the ring left work for the Launcher, the synchronous call waits:
         * Cpu.hcall stays set and the run loop calls us again after the
         * Launcher's next read(). Otherwise do it and clear it.
         */
        if (!cpu.needsLauncher() && !cpu.lg.isDead()) {
            doHcall(cpu, cpu.hcall);
            cpu.hcall = null;
        }
    }

    /*
     * Writes the Host clock's time into lguest_data (a 32-bit timespec):
     * at INIT, and with every interrupt delivered.
     */
    void writeTimestamp(Cpu cpu) {
        Guest lg = cpu.lg;
        if (!lg.lguestData.setTime(host.clock().instant())) {
            lg.kill("Writing timestamp");
        }
    }
}
