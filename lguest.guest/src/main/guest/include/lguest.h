/*
 * The lguest ABI as the guest sees it. The numbers mirror
 * org.lguest.api.abi (Lhcall, LguestData, Lguest) in lguest.api; the
 * static assertions at the bottom pin the lguest_data layout to the
 * offsets there, so the two cannot drift apart silently.
 */
#ifndef LGUEST_GUEST_LGUEST_H
#define LGUEST_GUEST_LGUEST_H

/* Hypercalls as Linux 4.x makes them: int $0x1f, EAX = call, EBX/ECX/EDX/ESI
 * = arguments 1-4. The Host writes no register back, so EAX still holds the
 * call afterwards. NOTIFY is ours (4.x has no such call): our early console. */
#define LHCALL_FLUSH_ASYNC      0
#define LHCALL_LGUEST_INIT      1
#define LHCALL_SHUTDOWN         2
#define LHCALL_NEW_PGTABLE      4
#define LHCALL_FLUSH_TLB        5
#define LHCALL_LOAD_IDT_ENTRY   6
#define LHCALL_SET_STACK        7
#define LHCALL_TS               8
#define LHCALL_SET_CLOCKEVENT   9
#define LHCALL_HALT             10
#define LHCALL_SET_PMD          13
#define LHCALL_SET_PTE          14
#define LHCALL_SET_PGD          15
#define LHCALL_LOAD_TLS         16
#define LHCALL_NOTIFY           17
#define LHCALL_LOAD_GDT_ENTRY   18
#define LHCALL_SEND_INTERRUPTS  19

#define LGUEST_TRAP_ENTRY       0x1F
#define LHCALL_RING_SIZE        64
#define LGUEST_SHUTDOWN_POWEROFF 1
#define LGUEST_SHUTDOWN_RESTART  2

/* The guest machine. */
#define FIRST_EXTERNAL_VECTOR   32
#define LGUEST_IRQS             32      /* one bit each in blocked_interrupts */
#define GUEST_PL                1
#define PAGE_SIZE               4096u
#define PAGE_SHIFT              12
#define GDT_ENTRIES             32
#define GDT_ENTRY_TLS_MIN       6
#define GDT_ENTRY_TLS_ENTRIES   3
#define GDT_ENTRY_LGUEST_CS     10
#define GDT_ENTRY_LGUEST_DS     11
#define GDT_ENTRY_KERNEL_CS     12
#define GDT_ENTRY_KERNEL_DS     13
#define GDT_ENTRY_TSS           16
#define KERNEL_CS               (GDT_ENTRY_KERNEL_CS * 8)   /* 0x60: what IDT gates name */
#define KERNEL_DS               (GDT_ENTRY_KERNEL_DS * 8)   /* 0x68 */
#define LGUEST_CS               (GDT_ENTRY_LGUEST_CS * 8)   /* 0x50: the Host's own */
#define X86_EFLAGS_IF           0x200u
#define X86_CR0_TS              0x8u
#define SYSCALL_VECTOR          0x80
/* Where the guest kernel's virtual addresses start, as Linux guests said:
 * everything our images map lies below it, so all of it is "user" to the
 * Host (per-page-directory, flushed by FLUSH_TLB(0)). */
#define GUEST_KERNEL_ADDRESS    0xC0000000u
/* The top 4 MiB of every address space belongs to the Host (switcher). */
#define SWITCHER_ADDR           0xFFC00000u

/* Linux struct boot_params in page 0 (offsets used by the boot contract). */
#define BP_E820_ENTRIES         0x1E8   /* u8 */
#define BP_CMD_LINE_PTR         0x228   /* u32 */
#define BP_HARDWARE_SUBARCH     0x23C   /* u32, 1 = lguest */
#define BP_E820_MAP             0x2D0   /* 20-byte entries: u64 addr, u64 size, u32 type */
#define E820_ENTRY_SIZE         20
#define E820_MAX_ENTRIES        128
#define E820_RAM                1
#define SUBARCH_LGUEST          1

#ifndef __ASSEMBLER__

typedef unsigned char u8;
typedef unsigned short u16;
typedef unsigned int u32;
typedef unsigned long long u64;
typedef int s32;

/* One asynchronous hypercall slot: arg0 is the call. */
struct hcall_args {
    u32 arg0, arg1, arg2, arg3, arg4;
};

/* The page the guest shares with the Host (Linux 4.x's i386 layout). */
struct lguest_data {
    u32 irq_enabled;                        /* non-zero: interrupts on (we store 0 or X86_EFLAGS_IF) */
    u32 blocked_interrupts;                 /* bit n set: irq n masked */
    u32 cr2;                                /* written by the Host on a reflected #PF */
    u32 time_sec, time_nsec;                /* written by the Host */
    u32 irq_pending;                        /* written by the Host */
    u8 hcall_status[LHCALL_RING_SIZE];      /* 0xFF = empty or done */
    struct hcall_args hcalls[LHCALL_RING_SIZE];
    u32 reserve_mem;                        /* written by the Host */
    u32 tsc_khz;                            /* written by the Host */
    u32 noirq_iret;                         /* the address of our one interrupt-return iret */
    u32 kernel_address;
    u32 syscall_vec;
};

#define LD_OFFSET(f) __builtin_offsetof(struct lguest_data, f)
_Static_assert(LD_OFFSET(irq_enabled) == 0, "IRQ_ENABLED");
_Static_assert(LD_OFFSET(blocked_interrupts) == 4, "BLOCKED_INTERRUPTS");
_Static_assert(LD_OFFSET(cr2) == 8, "CR2");
_Static_assert(LD_OFFSET(time_sec) == 12, "TIME");
_Static_assert(LD_OFFSET(irq_pending) == 20, "IRQ_PENDING");
_Static_assert(LD_OFFSET(hcall_status) == 24, "HCALL_STATUS");
_Static_assert(LD_OFFSET(hcalls) == 88, "HCALLS");
_Static_assert(sizeof(struct hcall_args) == 20, "HCALL_ARGS_SIZE");
_Static_assert(LD_OFFSET(reserve_mem) == 1368, "RESERVE_MEM");
_Static_assert(LD_OFFSET(tsc_khz) == 1372, "TSC_KHZ");
_Static_assert(LD_OFFSET(noirq_iret) == 1376, "NOIRQ_IRET");
_Static_assert(LD_OFFSET(kernel_address) == 1380, "KERNEL_ADDRESS");
_Static_assert(LD_OFFSET(syscall_vec) == 1384, "SYSCALL_VEC");
_Static_assert(sizeof(struct lguest_data) == 1388, "SIZE");

#else /* __ASSEMBLER__ */

#define LGUEST_DATA_irq_enabled 0

#endif
#endif
