package org.lguest.paging.internal;

import static org.lguest.paging.internal.X86Paging.ACCESSED;
import static org.lguest.paging.internal.X86Paging.ADDRESS_MASK;
import static org.lguest.paging.internal.X86Paging.DIRTY;
import static org.lguest.paging.internal.X86Paging.ENTRIES;
import static org.lguest.paging.internal.X86Paging.ENTRY_BYTES;
import static org.lguest.paging.internal.X86Paging.FRAME_MASK;
import static org.lguest.paging.internal.X86Paging.GLOBAL;
import static org.lguest.paging.internal.X86Paging.PAGE_SHIFT;
import static org.lguest.paging.internal.X86Paging.PAGE_SIZE;
import static org.lguest.paging.internal.X86Paging.PAGE_TABLE;
import static org.lguest.paging.internal.X86Paging.PRESENT;
import static org.lguest.paging.internal.X86Paging.PSE;
import static org.lguest.paging.internal.X86Paging.RW;
import static org.lguest.paging.internal.X86Paging.USER;
import static org.lguest.paging.internal.X86Paging.flags;
import static org.lguest.paging.internal.X86Paging.hex;
import static org.lguest.paging.internal.X86Paging.pfn;
import static org.lguest.paging.internal.X86Paging.pgdIndex;
import static org.lguest.paging.internal.X86Paging.present;
import static org.lguest.paging.internal.X86Paging.pteIndex;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Objects;
import java.util.Optional;
import java.util.function.Consumer;
import java.util.random.RandomGenerator;

import org.lguest.api.cpu.GuestMachine;
import org.lguest.api.cpu.HostArea;
import org.lguest.api.paging.GuestPageTables;

/**
 * One guest's shadow page tables, after lguest's {@code page_tables.c}
 * (Linux 4.x, the non-PAE path).
 *
 * <p>The guest's own two-level tables live in its RAM and are never trusted:
 * every entry is read through the frame-limit check and copied into a shadow
 * only after {@link #checkGpgd} / {@link #checkGpte}. Shadow directories and
 * shadow page tables are host-area pages. A present shadow table entry
 * therefore always names a guest frame below the limit; a present shadow
 * directory entry names one of our own shadow table pages, except the
 * switcher slot, which holds the backend's entry.
 *
 * <p>All public methods are {@code synchronized}: the Host core serializes
 * calls per guest anyway, so the lock is uncontended; it only makes the
 * state safe to observe from another thread (close, pagesInUse).
 */
final class ShadowPageTables implements GuestPageTables {

    /** lguest keeps {@code struct pgdir pgdirs[4]} per guest. */
    static final int LGUEST_PGDIRS = 4;
    /** CPUs a guest may name (lguest's {@code NR_CPUS} bound on {@code lg->cpus[]}). */
    static final int MAX_CPUS = 256;
    /** Frames from here up are the host area (the switcher's 4 MiB): never device memory, never RAM. */
    static final long DEVICE_LIMIT_PFN = GuestMachine.HOST_AREA_BASE >>> PAGE_SHIFT;

    /** A shadow that stands for no guest directory (the boot mapping, or a slot just emptied). */
    private static final long NO_PGDIR = -1;
    private static final int SWITCHER = GuestMachine.SWITCHER_PGD_INDEX;
    private static final ValueLayout.OfInt GUEST_ENTRY =
            ValueLayout.JAVA_INT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    private static final ValueLayout.OfInt SHADOW_ENTRY = ValueLayout.JAVA_INT.withOrder(ByteOrder.LITTLE_ENDIAN);

    private final MemorySegment ram;
    private final long ramBytes;
    private final long pfnLimit;
    private final HostArea hostArea;
    private final Consumer<String> killGuest;
    private final RandomGenerator random;

    /** The cached shadows ({@code lg->pgdirs}); slots are reused, never removed before close. */
    private final List<Shadow> shadows = new ArrayList<>();
    /** Per CPU, the index of the shadow it runs on ({@code cpu->cpu_pgd}); -1 before first use. */
    private int[] cpuShadow = new int[0];
    /** lguest's {@code linear_pages}: until the first NEW_PGTABLE, map every address onto itself. */
    private boolean linear = true;
    private int switcherPde;
    /** lguest's {@code lg->kernel_address}; -1 while nobody told us (see {@link #setKernelAddress}). */
    private long kernelAddress = -1;
    /** The directory the first NEW_PGTABLE named: where a CPU that has never run starts. */
    private long bootPgdir = NO_PGDIR;
    private String deathReason;
    private boolean closed;
    private int pagesInUse;
    /** Times a full host area made us throw shadow tables away instead of killing the guest. */
    private int reclaims;

    /** One shadow page directory ({@code struct pgdir}). */
    private final class Shadow {
        /** Guest-physical address of the guest directory this shadows, or {@link #NO_PGDIR}. */
        long gpgdir = NO_PGDIR;
        final long root;
        final MemorySegment dir;
        /** Java-side record of each slot's shadow table page (0: none), so release never trusts memory. */
        final long[] tablePages = new long[ENTRIES];

        Shadow(long root) {
            this.root = root;
            this.dir = hostArea.page(root);
            dir.set(SHADOW_ENTRY, (long) SWITCHER * ENTRY_BYTES, switcherPde);
        }
    }

    ShadowPageTables(GuestMachine machine, Consumer<String> killGuest, RandomGenerator random) {
        this.ram = machine.ram();
        this.ramBytes = machine.ramBytes();
        this.pfnLimit = machine.pfnLimit();
        this.hostArea = machine.hostArea();
        this.killGuest = Objects.requireNonNull(killGuest, "killGuest");
        this.random = Objects.requireNonNull(random, "random");
        // init_guest_pagetable(): one blank directory, linear mode until the guest loads its own.
        if (allocateShadow() < 0) {
            throw new IllegalStateException("host area exhausted: no page for the boot page directory");
        }
    }

    // ---------------------------------------------------------------- the SPI

    @Override
    public synchronized long root(int cpu) {
        checkOpen();
        return shadows.get(current(cpu)).root;
    }

    @Override
    public synchronized void setSwitcherEntry(int pde) {
        checkOpen();
        switcherPde = pde;
        for (Shadow s : shadows) {
            s.dir.set(SHADOW_ENTRY, (long) SWITCHER * ENTRY_BYTES, pde);
        }
    }

    /** {@code guest_new_pagetable()}. */
    @Override
    public void newPgtable(int cpu, long guestPgdir) {
        switchPgtable(cpu, guestPgdir);
    }

    /** A cached directory is taken as it is: every change to its shadow went through a call that flushes. */
    @Override
    public synchronized boolean switchPgtable(int cpu, long guestPgdir) {
        /*T:030
         * The first directory the guest names ends linear mode: the made-up boot mappings go, and the boot
         * shadow becomes this directory's. A directory seen before keeps its shadow; a new one takes a free
         * slot, or evicts a random shadow no other CPU is running on.
         */
        checkOpen();
        int mine = current(cpu);
        if (deathReason != null) {
            return true;
        }
        long pgtable = guestPgdir & ADDRESS_MASK;
        if (linear) {
            // The first time: everything so far was made up. Throw it away. Only the boot
            // shadow exists in linear mode, and every CPU runs on it: it becomes this directory.
            releaseAll();
            linear = false;
            shadows.get(mine).gpgdir = pgtable;
            bootPgdir = pgtable;
            return true;
        }
        int index = find(pgtable);
        boolean recycled = false;
        if (index < 0) {
            index = newPgdir(cpu, pgtable);
            if (index < 0) {
                return true; // killed
            }
            recycled = true;
        }
        cpuShadow[cpu] = index;
        return recycled;
    }

    /** {@code guest_pagetable_flush_user()}: FLUSH_TLB with a zero argument. */
    @Override
    public synchronized void flushUserMappings(int cpu) {
        checkOpen();
        flushUser(shadows.get(current(cpu)));
    }

    /** {@code guest_pagetable_clear_all()}: the Host core re-pins the stack afterwards. */
    @Override
    public synchronized void clearAll() {
        checkOpen();
        releaseAll();
    }

    /** {@code guest_set_pte()}. */
    @Override
    public synchronized void setPte(long guestPgdir, long vaddr, long pte) {
        /*T:040
         * One changed entry: the shadow's copy is cleared and, when the guest already marked it accessed, made
         * again at once from the new value, else left to fault in. A kernel address changes in every
         * directory; an entry for the switcher's addresses kills the guest, since the Host needs them.
         */
        checkOpen();
        if (deathReason != null) {
            return;
        }
        long va = vaddr & ADDRESS_MASK;
        int gpte = (int) pte;
        // We don't let the guest remap the switcher: we need it to get back.
        if (va >= GuestMachine.SWITCHER_ADDRESS) {
            kill("attempt to set pte into Switcher pages");
            return;
        }
        if (linear) {
            // The boot shadow mirrors no guest table: forget the address, it faults back in linearly.
            dropShadowPte(shadows.getFirst(), va);
            return;
        }
        if (kernelAddress >= 0 && va >= kernelAddress) {
            // Kernel mappings are the same in every directory: change them in all.
            for (Shadow s : shadows) {
                if (s.gpgdir != NO_PGDIR) {
                    setShadowPte(s, va, gpte);
                }
            }
            return;
        }
        int index = find(guestPgdir & ADDRESS_MASK);
        if (index >= 0) {
            setShadowPte(shadows.get(index), va, gpte);
        }
        if (kernelAddress < 0) {
            // Without the kernel address we cannot tell a kernel mapping (shared by every
            // directory) from a user one: drop the address everywhere else, which is always safe.
            for (int i = 0; i < shadows.size(); i++) {
                if (i != index) {
                    dropShadowPte(shadows.get(i), va);
                }
            }
        }
    }

    /** {@code guest_set_pgd()}. */
    @Override
    public synchronized void setPgd(long guestPgdir, int index) {
        checkOpen();
        if (deathReason != null) {
            return;
        }
        if (index < 0 || index >= ENTRIES) {
            kill("Attempt to set pgd " + Integer.toUnsignedString(index) + "/" + ENTRIES);
            return;
        }
        int found = find(guestPgdir & ADDRESS_MASK);
        if (found >= 0) {
            // releasePgd() leaves the switcher slot alone (lguest re-established it at once).
            releasePgd(shadows.get(found), index);
        }
    }

    /** Without PAE the middle level is folded into the directory: drop the directory entry of {@code vaddr}. */
    @Override
    public synchronized void setPmd(long guestPgdir, long vaddr) {
        setPgd(guestPgdir, pgdIndex(vaddr & ADDRESS_MASK));
    }

    /** {@code demand_page()}. */
    @Override
    public synchronized Fault demandPage(int cpu, long vaddr, int errorCode) {
        /*T:020
         * A fault the guest's own tables would not have raised: copy the guest's entry into the shadow, after
         * checking that its frame lies below the page-frame limit, and let the access run again. The guest
         * never sees it.
         */
        checkOpen();
        Shadow shadow = shadows.get(current(cpu));
        if (deathReason != null) {
            return Fault.KILLED;
        }
        long va = vaddr & ADDRESS_MASK;
        // We never demand page the switcher, so trying is a mistake: the guest gets the fault.
        if (va >= GuestMachine.SWITCHER_ADDRESS) {
            return Fault.GUEST;
        }

        int gpgd;
        int gpte;
        long gptePointer = -1;
        if (linear) {
            // Faking up a linear mapping: a table-flagged directory entry and a writable page.
            gpgd = PAGE_TABLE;
            gpte = (int) (va & FRAME_MASK) | RW | PRESENT;
        } else {
            long entry = readGuest(shadow.gpgdir + (long) pgdIndex(va) * ENTRY_BYTES);
            if (entry < 0) {
                return Fault.KILLED;
            }
            gpgd = (int) entry;
            if (!present(gpgd)) {
                return Fault.GUEST;
            }
            if (!checkGpgd(gpgd)) {
                return Fault.KILLED;
            }
            gptePointer = (pfn(gpgd) << PAGE_SHIFT) + (long) pteIndex(va) * ENTRY_BYTES;
            entry = readGuest(gptePointer);
            if (entry < 0) {
                return Fault.KILLED;
            }
            gpte = (int) entry;
        }

        if (!present(gpte)) {
            return Fault.GUEST;
        }
        boolean write = (errorCode & 2) != 0;
        boolean user = (errorCode & 4) != 0;
        // A write to a page the guest keeps read-only, or a user access to a kernel page:
        // the guest's own fault. Both levels count, as they do for the MMU (lguest looked at
        // the table entry only; see README.md).
        if (write && (gpte & gpgd & RW) == 0) {
            return Fault.GUEST;
        }
        if (user && (gpte & gpgd & USER) == 0) {
            return Fault.GUEST;
        }
        // Device memory between the frame limit and the host area: the Launcher emulates it.
        if (inDeviceRegion(gpte)) {
            return Fault.DEVICE;
        }
        if (!checkGpte(gpte)) {
            return Fault.KILLED;
        }

        gpte |= ACCESSED;
        if (write) {
            gpte |= DIRTY;
        }
        MemorySegment table = shadowTable(shadow, pgdIndex(va), true, flags(gpgd));
        if (table == null) {
            return Fault.KILLED;
        }
        // A read maps the page read-only even when the guest allows writes, so the first
        // write faults again and we can set the guest's dirty bit.
        table.set(SHADOW_ENTRY, (long) pteIndex(va) * ENTRY_BYTES, toShadow(gpte));
        if (gptePointer >= 0 && !writeGuest(gptePointer, gpte)) {
            return Fault.KILLED;
        }
        return Fault.FILLED;
    }

    /** {@code guest_pa()}: the guest-physical address of {@code vaddr}; not checked against the limit. */
    @Override
    public synchronized long guestPhysical(int cpu, long vaddr) {
        checkOpen();
        Shadow shadow = shadows.get(current(cpu));
        if (deathReason != null) {
            return -1;
        }
        long va = vaddr & ADDRESS_MASK;
        if (linear) {
            return va;
        }
        if (va >= GuestMachine.SWITCHER_ADDRESS) {
            kill("Bad address " + hex(va));
            return -1;
        }
        long entry = readGuest(shadow.gpgdir + (long) pgdIndex(va) * ENTRY_BYTES);
        if (entry < 0) {
            return -1;
        }
        int gpgd = (int) entry;
        if (!present(gpgd)) {
            kill("Bad address " + hex(va));
            return -1;
        }
        if (!checkGpgd(gpgd)) {
            return -1;
        }
        entry = readGuest((pfn(gpgd) << PAGE_SHIFT) + (long) pteIndex(va) * ENTRY_BYTES);
        if (entry < 0) {
            return -1;
        }
        int gpte = (int) entry;
        if (!present(gpte)) {
            kill("Bad address " + hex(va));
            return -1;
        }
        return (pfn(gpte) << PAGE_SHIFT) | (va & (PAGE_SIZE - 1));
    }

    @Override
    public synchronized int pagesInUse() {
        return pagesInUse;
    }

    /** {@code free_guest_pagetable()}: every page goes back to the host area. Idempotent. */
    @Override
    public synchronized void close() {
        if (closed) {
            return;
        }
        closed = true;
        // Only the Java-side records are used: this works even if the area's memory is gone.
        for (Shadow s : shadows) {
            for (int i = 0; i < ENTRIES; i++) {
                if (s.tablePages[i] != 0) {
                    hostArea.freePage(s.tablePages[i]);
                    s.tablePages[i] = 0;
                }
            }
            hostArea.freePage(s.root);
        }
        shadows.clear();
        pagesInUse = 0;
    }

    /**
     * {@code page_table_guest_data_init()}: the guest's {@code lguest_data.kernel_address}.
     * Above it every directory holds the same kernel mappings, which lets FLUSH_TLB and a
     * directory switch keep them and SET_PTE change them in every shadow. Until it is set,
     * the user part is taken to be everything below the switcher (correct, but slower).
     */
    @Override
    public synchronized void setKernelAddress(long address) {
        checkOpen();
        long a = address & ADDRESS_MASK;
        // flush_user_mappings() runs up to pgd_index(kernel_address): it must not reach the switcher.
        if (a >= GuestMachine.SWITCHER_ADDRESS) {
            kill("bad kernel address " + hex(a));
            return;
        }
        kernelAddress = a;
    }

    /** The reason the guest was killed; empty while it lives. */
    synchronized Optional<String> deathReason() {
        return Optional.ofNullable(deathReason);
    }

    /** Roots of every cached shadow directory, in slot order (for tests and diagnostics). */
    synchronized long[] shadowRoots() {
        return shadows.stream().mapToLong(s -> s.root).toArray();
    }

    /** The guest directory each cached shadow stands for (-1: none), in slot order. */
    synchronized long[] shadowedDirectories() {
        return shadows.stream().mapToLong(s -> s.gpgdir).toArray();
    }

    /** Every shadow table page we hold, in slot order (for tests and diagnostics). */
    synchronized long[] tablePages() {
        return shadows.stream().flatMapToLong(s -> Arrays.stream(s.tablePages)).filter(p -> p != 0).toArray();
    }

    synchronized int reclaims() {
        return reclaims;
    }

    synchronized boolean linearMode() {
        return linear;
    }

    // ---------------------------------------------------------------- inside

    private void checkOpen() {
        if (closed) {
            throw new IllegalStateException("the guest's page tables are closed");
        }
    }

    /** lguest's {@code kill_guest()}: only the first reason counts. */
    private void kill(String reason) {
        if (deathReason == null) {
            deathReason = reason;
            killGuest.accept(reason);
        }
    }

    /**
     * The shadow CPU {@code cpu} runs on. A CPU that has never run starts where the boot CPU
     * started: on the linear boot shadow while the guest is in linear mode, afterwards on the
     * guest's first directory (the one its first NEW_PGTABLE named).
     */
    private int current(int cpu) {
        if (cpu < 0 || cpu >= MAX_CPUS) {
            throw new IllegalArgumentException("no such CPU: " + cpu);
        }
        if (cpu >= cpuShadow.length) {
            int old = cpuShadow.length;
            cpuShadow = Arrays.copyOf(cpuShadow, cpu + 1);
            Arrays.fill(cpuShadow, old, cpuShadow.length, -1);
        }
        if (cpuShadow[cpu] < 0) {
            int start = 0;
            if (!linear) {
                start = find(bootPgdir);
                if (start < 0) {
                    start = newPgdir(cpu, bootPgdir);
                }
                if (start < 0) {
                    start = 0; // killed: any shadow will do, nothing runs again
                }
            }
            cpuShadow[cpu] = start;
        }
        return cpuShadow[cpu];
    }

    /** {@code find_pgdir()}: the cached shadow of {@code pgtable}, or -1. */
    private int find(long pgtable) {
        for (int i = 0; i < shadows.size(); i++) {
            if (shadows.get(i).gpgdir == pgtable) {
                return i;
            }
        }
        return -1;
    }

    /**
     * {@code new_pgdir()}: a slot for a directory we have no shadow of. lguest picks one of its
     * four at random and allocates it if it never was; we fill the empty slots first, then evict
     * at random, never a shadow another CPU is running on.
     */
    private int newPgdir(int cpu, long pgtable) {
        int next = -1;
        if (shadows.size() < LGUEST_PGDIRS) {
            next = allocateShadow();
        }
        if (next < 0) {
            int[] candidates = new int[shadows.size()];
            int n = 0;
            for (int i = 0; i < shadows.size(); i++) {
                if (!runningOnOtherCpu(i, cpu)) {
                    candidates[n++] = i;
                }
            }
            if (n > 0) {
                next = candidates[random.nextInt(n)];
            } else {
                // More CPUs than slots, each on its own directory: grow rather than pull one away.
                next = allocateShadow();
                if (next < 0) {
                    reclaim(null);
                    next = allocateShadow();
                }
                if (next < 0) {
                    kill("out of memory allocating page directory");
                    return -1;
                }
            }
        }
        Shadow s = shadows.get(next);
        s.gpgdir = pgtable;
        // Release the user mappings; kernel ones are the same in every directory (if we know where they start).
        flushUser(s);
        return next;
    }

    private boolean runningOnOtherCpu(int shadow, int cpu) {
        for (int c = 0; c < cpuShadow.length; c++) {
            if (c != cpu && cpuShadow[c] == shadow) {
                return true;
            }
        }
        return false;
    }

    /** A new blank shadow directory; its slot index, or -1 when the host area is full. */
    private int allocateShadow() {
        long root = allocateHostPage();
        if (root < 0) {
            return -1;
        }
        shadows.add(new Shadow(root));
        return shadows.size() - 1;
    }

    /** A zeroed host page that 32-bit paging can reach, or -1. */
    private long allocateHostPage() {
        long page;
        try {
            page = hostArea.allocatePage();
        } catch (IllegalStateException exhausted) {
            return -1;
        }
        if (page > FRAME_MASK) {
            // Beyond 4 GiB: no 32-bit entry can name it.
            hostArea.freePage(page);
            return -1;
        }
        pagesInUse++;
        return page;
    }

    /**
     * {@code find_spte()} down to the table page: the shadow table for directory slot
     * {@code index}; when {@code allocate} is set, made if missing and its directory entry given
     * the (checked) guest directory entry's flags. Null if absent (or if allocation failed,
     * which kills the guest).
     */
    private MemorySegment shadowTable(Shadow s, int index, boolean allocate, int pgdFlags) {
        long page = s.tablePages[index];
        if (page == 0) {
            if (!allocate) {
                return null;
            }
            page = allocateHostPage();
            if (page < 0) {
                // The host area is a fixed 4 MiB and the shadows are only a cache: throw
                // tables away (other directories' first) rather than kill the guest.
                reclaim(s);
                page = allocateHostPage();
            }
            if (page < 0) {
                // Not really the guest's fault, but killing it is simple for this corner case.
                kill("out of memory allocating pte page");
                return null;
            }
            s.tablePages[index] = page;
        }
        if (allocate) {
            // The flags are the guest directory entry's as it is now (lguest copied them only when
            // it allocated the table, so a guest that changed them without SET_PGD faulted forever).
            s.dir.set(SHADOW_ENTRY, (long) index * ENTRY_BYTES, (int) page | (pgdFlags & PAGE_TABLE) | PRESENT);
        }
        return hostArea.page(page);
    }

    /** {@code __guest_set_pte()} for one shadow. */
    private void setShadowPte(Shadow s, long va, int gpte) {
        MemorySegment table = shadowTable(s, pgdIndex(va), false, 0);
        if (table == null) {
            return; // no shadow table here: nothing to update, demand_page() fills it later
        }
        long offset = (long) pteIndex(va) * ENTRY_BYTES;
        table.set(SHADOW_ENTRY, offset, 0);
        // Guests set accessed (and dirty) at once: then the entry can go in now, read-only
        // unless dirty. Anything else faults in later through demand_page().
        if (present(gpte) && (gpte & (ACCESSED | DIRTY)) != 0 && !inDeviceRegion(gpte)) {
            if (!checkGpte(gpte)) {
                return;
            }
            table.set(SHADOW_ENTRY, offset, toShadow(gpte));
        }
    }

    private void dropShadowPte(Shadow s, long va) {
        MemorySegment table = shadowTable(s, pgdIndex(va), false, 0);
        if (table != null) {
            table.set(SHADOW_ENTRY, (long) pteIndex(va) * ENTRY_BYTES, 0);
        }
    }

    /** A checked guest entry as the shadow holds it: no global bit, writable only once dirty. */
    private static int toShadow(int gpte) {
        int spte = gpte & ~GLOBAL;
        if ((gpte & DIRTY) == 0) {
            spte &= ~RW;
        }
        return spte;
    }

    /** {@code release_pgd()}: drop one directory slot and its table page. The switcher slot is not ours. */
    private void releasePgd(Shadow s, int index) {
        if (index == SWITCHER) {
            return;
        }
        long page = s.tablePages[index];
        if (page != 0) {
            s.dir.set(SHADOW_ENTRY, (long) index * ENTRY_BYTES, 0);
            s.tablePages[index] = 0;
            hostArea.freePage(page);
            pagesInUse--;
        }
    }

    /** {@code flush_user_mappings()}: every slot below the kernel address (below the switcher if unknown). */
    private void flushUser(Shadow s) {
        int end = kernelAddress >= 0 ? pgdIndex(kernelAddress) : SWITCHER;
        for (int i = 0; i < end; i++) {
            releasePgd(s, i);
        }
    }

    /** {@code release_all_pagetables()}: every slot of every shadow, the switcher's excepted. */
    private void releaseAll() {
        for (Shadow s : shadows) {
            for (int i = 0; i < ENTRIES; i++) {
                releasePgd(s, i);
            }
        }
    }

    /**
     * Frees shadow tables when the host area is full: every table of the shadows other than
     * {@code keep} first, then {@code keep}'s own if that freed nothing. They fault back in.
     */
    private void reclaim(Shadow keep) {
        reclaims++;
        int before = pagesInUse;
        for (Shadow s : shadows) {
            if (s != keep) {
                for (int i = 0; i < ENTRIES; i++) {
                    releasePgd(s, i);
                }
            }
        }
        if (pagesInUse == before && keep != null) {
            for (int i = 0; i < ENTRIES; i++) {
                releasePgd(keep, i);
            }
        }
    }

    /** {@code check_gpgd()}: only {@code _PAGE_TABLE} flags (so no 4 MiB pages), and a table inside RAM. */
    private boolean checkGpgd(int gpgd) {
        if ((flags(gpgd) & ~PAGE_TABLE) != 0 || pfn(gpgd) >= pfnLimit) {
            kill("bad page directory entry");
            return false;
        }
        return true;
    }

    /** {@code check_gpte()}: no PSE/PAT bit, and a frame inside RAM. */
    private boolean checkGpte(int gpte) {
        if ((gpte & PSE) != 0 || pfn(gpte) >= pfnLimit) {
            kill("bad page table entry");
            return false;
        }
        return true;
    }

    /** {@code gpte_in_iomem()}: a 4 KiB frame between the frame limit and the device limit (the host area). */
    private boolean inDeviceRegion(int gpte) {
        if ((gpte & PSE) != 0) {
            return false;
        }
        long frame = pfn(gpte);
        return frame >= pfnLimit && frame < DEVICE_LIMIT_PFN;
    }

    /** {@code lgread()} of one 32-bit entry: its value, or -1 after killing the guest for a bad address. */
    private long readGuest(long address) {
        if (!addressOk(address)) {
            kill("bad read address " + hex(address) + " len " + ENTRY_BYTES);
            return -1;
        }
        return Integer.toUnsignedLong(ram.get(GUEST_ENTRY, address));
    }

    /** {@code lgwrite()} of one 32-bit entry. */
    private boolean writeGuest(long address, int value) {
        if (!addressOk(address)) {
            kill("bad write address " + hex(address) + " len " + ENTRY_BYTES);
            return false;
        }
        ram.set(GUEST_ENTRY, address, value);
        return true;
    }

    /** {@code lguest_address_ok()}: the whole entry lies below the frame limit. */
    private boolean addressOk(long address) {
        return address >= 0 && address + ENTRY_BYTES <= ramBytes;
    }
}
