package org.lguest.device.internal;

import java.util.ArrayDeque;
import java.util.Deque;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.function.Consumer;
import java.util.function.LongUnaryOperator;

import org.lguest.api.cpu.GuestMachine;
import org.lguest.api.paging.GuestPageTables;
import org.lguest.api.paging.PageTableManager;

/**
 * A page-table manager whose tables map virtual to physical one to one
 * (or as a test says), answer page faults from a script, and write down
 * every call.
 */
final class FakePageTables implements PageTableManager {
    final List<Tables> created = new CopyOnWriteArrayList<>();
    volatile RuntimeException failCreate;

    @Override
    public GuestPageTables create(GuestMachine machine, Consumer<String> killGuest) {
        if (failCreate != null) {
            throw failCreate;
        }
        Tables t = new Tables(machine, killGuest);
        created.add(t);
        return t;
    }

    Tables last() {
        return created.get(created.size() - 1);
    }

    static final class Tables implements GuestPageTables {
        final GuestMachine machine;
        final Consumer<String> kill;
        final List<String> calls = new CopyOnWriteArrayList<>();
        final long rootPage;
        volatile boolean closed;
        volatile int switcherEntry = -1;
        /** Virtual to guest-physical; -1 means unmapped. */
        volatile LongUnaryOperator translate = v -> v;
        /** Answers for demandPage, in order; FILLED when none is left. */
        final Deque<Fault> faults = new ArrayDeque<>();
        /** A reason to kill the guest with on the next demandPage (then KILLED). */
        volatile String killOnFault;

        Tables(GuestMachine machine, Consumer<String> kill) {
            this.machine = machine;
            this.kill = kill;
            this.rootPage = machine.hostArea().allocatePage();
        }

        @Override
        public long root(int cpu) {
            return rootPage;
        }

        @Override
        public void setSwitcherEntry(int pde) {
            switcherEntry = pde;
            calls.add("switcher " + Integer.toHexString(pde));
        }

        @Override
        public void setKernelAddress(long kernelAddress) {
            calls.add("kernel " + Long.toHexString(kernelAddress));
        }

        @Override
        public void newPgtable(int cpu, long guestPgdir) {
            calls.add("newPgtable " + cpu + " " + Long.toHexString(guestPgdir));
        }

        @Override
        public void flushUserMappings(int cpu) {
            calls.add("flushUser " + cpu);
        }

        @Override
        public void clearAll() {
            calls.add("clearAll");
        }

        @Override
        public void setPte(long guestPgdir, long vaddr, long pte) {
            calls.add("setPte " + Long.toHexString(guestPgdir) + " " + Long.toHexString(vaddr) + " "
                + Long.toHexString(pte));
        }

        @Override
        public void setPgd(long guestPgdir, int index) {
            calls.add("setPgd " + Long.toHexString(guestPgdir) + " " + index);
        }

        @Override
        public void setPmd(long guestPgdir, long vaddr) {
            calls.add("setPmd " + Long.toHexString(guestPgdir) + " " + Long.toHexString(vaddr));
        }

        @Override
        public synchronized Fault demandPage(int cpu, long vaddr, int errorCode) {
            calls.add("demand " + cpu + " " + Long.toHexString(vaddr) + " " + errorCode);
            if (killOnFault != null) {
                kill.accept(killOnFault);
                return Fault.KILLED;
            }
            Fault f = faults.poll();
            return f == null ? Fault.FILLED : f;
        }

        synchronized void answer(Fault... answers) {
            faults.addAll(List.of(answers));
        }

        @Override
        public long guestPhysical(int cpu, long vaddr) {
            return translate.applyAsLong(vaddr);
        }

        @Override
        public int pagesInUse() {
            return 1;
        }

        @Override
        public void close() {
            closed = true;
            machine.hostArea().freePage(rootPage);
        }

        long count(String prefix) {
            return calls.stream().filter(c -> c.startsWith(prefix)).count();
        }
    }
}
