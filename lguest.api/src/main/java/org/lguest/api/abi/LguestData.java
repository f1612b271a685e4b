package org.lguest.api.abi;

/**
 * Byte offsets in the i386 {@code struct lguest_data}: the page the guest
 * shares with the Host, its address given by {@link Lhcall#LGUEST_INIT}.
 */
public final class LguestData {
    /** {@link Lguest#X86_EFLAGS_IF} when the guest takes interrupts, 0 when not. */
    public static final int IRQ_ENABLED = 0;
    /** Bitmap of {@link Lguest#LGUEST_IRQS} bits: interrupts the guest blocks. */
    public static final int BLOCKED_INTERRUPTS = 4;
    /** The faulting address of the last page fault the Host reflected. */
    public static final int CR2 = 32;
    /** Wall-clock time, a 32-bit {@code struct timespec}: seconds then nanoseconds. */
    public static final int TIME = 36;
    /** Set by the Host when an interrupt waits for the guest to enable them. */
    public static final int IRQ_PENDING = 44;
    /** One status byte per ring slot: 0xFF is empty or done. */
    public static final int HCALL_STATUS = 48;
    /** Ring slots, {@link #HCALL_ARGS_SIZE} bytes each: arg0 (the call) to arg4. */
    public static final int HCALLS = HCALL_STATUS + Lhcall.RING_SIZE;
    public static final int HCALL_ARGS_SIZE = 5 * Integer.BYTES;
    /** Memory the guest must leave alone at the top of its address space. */
    public static final int RESERVE_MEM = HCALLS + Lhcall.RING_SIZE * HCALL_ARGS_SIZE;
    public static final int TSC_KHZ = RESERVE_MEM + 4;
    /** The guest's interrupt-free window (its iret sequence): no delivery while EIP is inside. */
    public static final int NOIRQ_START = TSC_KHZ + 4;
    public static final int NOIRQ_END = NOIRQ_START + 4;
    /** Where the guest kernel's virtual addresses start. */
    public static final int KERNEL_ADDRESS = NOIRQ_END + 4;
    /** The system-call vector the guest uses (delivered directly in real lguest). */
    public static final int SYSCALL_VEC = KERNEL_ADDRESS + 4;
    public static final int SIZE = SYSCALL_VEC + 4;

    /** Status byte of an empty or completed ring slot. */
    public static final int HCALL_SLOT_EMPTY = 0xFF;

    private LguestData() {
    }
}
