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
 * Just as userspace programs request kernel operations through a system
 * call, the Guest requests Host operations through a "hypercall". As you'd
 * expect, this code is basically one big switch statement.
 *
 * A hypercall is "int $0x1F" with the call in EAX and its arguments in EBX,
 * ECX, EDX and ESI (Linux 4.x's ABI). The Guest can also queue
 * asynchronous hypercalls in a ring in its lguest_data; we run those before
 * every synchronous one.
 */
final class Hypercalls {
    private static final long MASK = 0xFFFF_FFFFL;
    /** Bytes of the SHUTDOWN message we read (lguest's msg[128]). */
    static final int SHUTDOWN_MSG = 128;

    private final Host host;

    Hypercalls(Host host) {
        this.host = host;
    }

    /*H:120
     * This is the core hypercall routine: where the Guest gets what it
     * wants. Or gets killed. Or, in the case of LHCALL_SHUTDOWN, both.
     */
    void doHcall(Cpu cpu, long[] args) {
        Guest lg = cpu.lg;
        long call = args[0];
        switch ((int) call) {
            case Lhcall.FLUSH_ASYNC -> {
                /* Does nothing, except by breaking out of the Guest it makes us process the ring. */
            }
            case Lhcall.SEND_INTERRUPTS -> {
                /* Does nothing too, but by breaking out of the Guest it makes us process interrupts. */
            }
            case Lhcall.LGUEST_INIT ->
                /* You can't get here unless you're already initialized. Don't do that. */
                lg.kill("already have lguest_data");
            case Lhcall.SHUTDOWN -> shutdown(cpu, args[1], args[2]);
            case Lhcall.FLUSH_TLB -> {
                /* FLUSH_TLB comes in two flavors, depending on the argument: */
                if (args[1] != 0) {
                    clearAll(cpu);
                } else {
                    pageTables(cpu).flushUserMappings(cpu.id);
                    flushTlb(cpu);
                }
            }
            /* All these calls simply pass the arguments through to the right routines. */
            case Lhcall.NEW_PGTABLE -> {
                pageTables(cpu).newPgtable(cpu.id, args[1]);
                cpu.guestPgdir = args[1];
                /* A new page table may not have the kernel stack mapped yet. */
                host.interrupts.pinStackPages(cpu);
                flushTlb(cpu);
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
            /* This sets the TS flag, which decides what a device-not-available trap means. */
            case Lhcall.TS -> cpu.ts = args[1];
            /* Similarly, this sets the halted flag for the run loop. */
            case Lhcall.HALT -> cpu.halted = true;
            case Lhcall.NOTIFY -> cpu.pendingNotify = args[1];
            /* H:122 The i386-specific hypercalls: descriptor tables. */
            case Lhcall.LOAD_GDT_ENTRY -> loadGdtEntry(cpu, args[1], args[2], args[3]);
            case Lhcall.LOAD_IDT_ENTRY -> host.interrupts.loadIdtEntry(cpu, args[1], args[2], args[3]);
            case Lhcall.LOAD_TLS -> loadTls(cpu, args[1]);
            default ->
                /* Bad Guest. Bad! */
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
     * Shutdown is such a trivial hypercall that we do it in five lines right
     * here. If the read fails it kills the guest itself; the kill with the
     * message is then ignored.
     */
    private static void shutdown(Cpu cpu, long msgAddr, long how) {
        Guest lg = cpu.lg;
        byte[] msg = lg.memory.read(lg, msgAddr, SHUTDOWN_MSG);
        msg[SHUTDOWN_MSG - 1] = 0;
        lg.kill(Lhcall.SHUTDOWN_REASON_PREFIX + cString(msg));
        if (how == Lhcall.SHUTDOWN_RESTART) {
            lg.restart();
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

    /* load_guest_gdt_entry(): the backend checks and adjusts it (segments.c). */
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

    /* guest_load_tls(): the three TLS descriptors are in Guest memory. */
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
     * Asynchronous hypercalls are easy: we just look in the array in the
     * Guest's "struct lguest_data" to see if any new ones are marked
     * "ready". We are careful to do these in order: obviously we respect the
     * order the Guest put them in the ring, but we also promise the Guest
     * that they will happen before any normal hypercall.
     */
    private void doAsyncHcalls(Cpu cpu) {
        Guest lg = cpu.lg;
        LguestDataPage data = lg.lguestData;
        /* For simplicity, we copy the entire call status array in at once. */
        byte[] st = new byte[Lhcall.RING_SIZE];
        if (!data.hcallStatus(st)) {
            return;
        }
        /* We process "struct lguest_data"s hcalls[] ring once. */
        for (int i = 0; i < st.length; i++) {
            /* We remember where we were up to from last time. */
            int n = cpu.nextHcall;
            /* 0xFF means there's no call here (yet). */
            if ((st[n] & 0xFF) == LguestData.HCALL_SLOT_EMPTY) {
                break;
            }
            /* OK, we have a hypercall. Increment the cursor, and wrap back to 0 at the end. */
            if (++cpu.nextHcall == Lhcall.RING_SIZE) {
                cpu.nextHcall = 0;
            }
            long[] args = data.hcallArgs(n);
            if (args == null) {
                lg.kill("Fetching async hypercalls");
                break;
            }
            /* Do the hypercall, same as a normal one. */
            doHcall(cpu, args);
            /* Mark the hypercall done. */
            if (!data.hcallDone(n)) {
                lg.kill("Writing result for async hypercall");
                break;
            }
            /*
             * Stop doing hypercalls if they want to notify the Launcher: it
             * needs to service this first. (And a dead Guest needs no more.)
             */
            if (cpu.needsLauncher() || lg.isDead()) {
                break;
            }
        }
    }

    /*
     * Last of all, we look at what happens first of all. The very first time
     * the Guest makes a hypercall, we end up here to set things up:
     */
    private void initialize(Cpu cpu) {
        Guest lg = cpu.lg;
        long[] hcall = cpu.hcall;
        /*
         * You can't do anything until you're initialized. The Guest knows the
         * rules, so we're unforgiving here.
         */
        if (hcall[0] != Lhcall.LGUEST_INIT) {
            lg.kill("hypercall " + Fmt.signed(hcall[0]) + " before INIT");
            return;
        }
        /*H:126
         * The pointer to the Guest's "struct lguest_data" is the only
         * argument. We check that address now, and from then on use it
         * directly.
         */
        long at = hcall[1];
        if (!lg.memory.addressOk(at, LguestData.SIZE)) {
            lg.kill("bad guest page " + Fmt.hex(at));
            return;
        }
        LguestDataPage data = new LguestDataPage(lg.memory, at);
        lg.lguestData = data;
        /* The TSC speed the guest may trust (0: don't). */
        if (!data.setTscKhz(host.settings().tscKhz())) {
            lg.kill("bad guest page " + Fmt.hex(at));
            return;
        }
        /* The interrupt code might not like the system call vector. */
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
        /* We write the current time into the Guest's data page once so it can set its clock. */
        writeTimestamp(cpu);
        /*
         * page_table_guest_data_init(): we get the kernel address (above this
         * is all kernel memory), and tell the Guest it can't use the top 4 MB
         * of virtual addresses used by the Switcher.
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
        /* Mappings above it are the kernel's: they survive a user-mapping flush. */
        pageTables(cpu).setKernelAddress(lg.kernelAddress);
        /* Our first writes to Guest pages: start the shadows afresh. */
        clearAll(cpu);
    }

    /*H:100
     * Hypercalls
     *
     * Remember from the Guest, hypercalls come in two flavors: normal and
     * asynchronous. This handles both of types.
     */
    void doHypercalls(Cpu cpu) {
        /* Not initialized yet? This hypercall must do it. */
        if (!cpu.lg.initialized()) {
            initialize(cpu);
            /* Hcall is done. */
            cpu.hcall = null;
            return;
        }
        /* The Guest has initialized. Look in the hypercall ring for the async hypercalls: */
        doAsyncHcalls(cpu);
        /*
         * If we stopped reading the hypercall ring because the Guest did a
         * NOTIFY to the Launcher, we want to return now. Otherwise we do the
         * hypercall. We reset the hcall to mark it "done"; while the Launcher
         * services a notification it stays pending, and we come back to it.
         */
        if (!cpu.needsLauncher() && !cpu.lg.isDead()) {
            doHcall(cpu, cpu.hcall);
            cpu.hcall = null;
        }
    }

    /*
     * This routine supplies the Guest with time: it's used for wallclock time
     * at initial boot and as a rough time source. A 32-bit struct timespec.
     */
    void writeTimestamp(Cpu cpu) {
        Guest lg = cpu.lg;
        if (!lg.lguestData.setTime(host.clock().instant())) {
            lg.kill("Writing timestamp");
        }
    }
}
