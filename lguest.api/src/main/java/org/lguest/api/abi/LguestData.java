package org.lguest.api.abi;

/**
 * Byte offsets in the i386 {@code struct lguest_data} of Linux 4.9 to 4.13:
 * the page the guest shares with the Host, its address given by
 * {@link Lhcall#LGUEST_INIT}.
 */
public final class LguestData {
    /**
     * Non-zero when the guest takes interrupts. The guest stores
     * {@link Lguest#X86_EFLAGS_IF} or 0, and its iret path a whole saved EFLAGS
     * image, so the Host tests the word for non-zero before delivering and
     * for {@link Lguest#X86_EFLAGS_IF} when it builds a frame.
     */
    public static final int IRQ_ENABLED = 0;
    /** One 32-bit word, a bit per interrupt ({@link Lguest#LGUEST_IRQS}): 1 = blocked. */
    public static final int BLOCKED_INTERRUPTS = 4;
    /** The faulting address of the last page fault the Host reflected. */
    public static final int CR2 = 8;
    /** Wall-clock time, an i386 {@code struct timespec}: 4-byte seconds, then 4-byte nanoseconds. */
    public static final int TIME = 12;
    /** Set by the Host when an interrupt waits for the guest to enable them. */
    public static final int IRQ_PENDING = 20;
    /** One status byte per ring slot: 0xFF is empty or done. */
    public static final int HCALL_STATUS = 24;
    /** Ring slots, {@link #HCALL_ARGS_SIZE} bytes each: arg0 (the call) to arg4. */
    public static final int HCALLS = HCALL_STATUS + Lhcall.RING_SIZE;
    public static final int HCALL_ARGS_SIZE = 5 * Integer.BYTES;
    /** Memory the guest must leave alone at the top of its address space. */
    public static final int RESERVE_MEM = HCALLS + Lhcall.RING_SIZE * HCALL_ARGS_SIZE;
    public static final int TSC_KHZ = RESERVE_MEM + 4;
    /**
     * The address of the guest's one {@code iret} that ends its interrupt
     * return path. An interrupt due while EIP is there is delivered on the
     * frame that {@code iret} would have popped.
     */
    public static final int NOIRQ_IRET = TSC_KHZ + 4;
    /** Where the guest kernel's virtual addresses start. */
    public static final int KERNEL_ADDRESS = NOIRQ_IRET + 4;
    /** The system-call vector the guest uses (delivered directly in real lguest). */
    public static final int SYSCALL_VEC = KERNEL_ADDRESS + 4;
    public static final int SIZE = SYSCALL_VEC + 4;

    /** Status byte of an empty or completed ring slot. */
    public static final int HCALL_SLOT_EMPTY = 0xFF;

    private LguestData() {
    }
}
