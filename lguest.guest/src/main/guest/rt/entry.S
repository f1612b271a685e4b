/*
 * The assembly part of the runtime: the entry point, the trap stubs, the
 * lguest way back from a trap (lguest_iret), and two memory probes.
 */
#include "lguest.h"

/*
 * The Launcher jumps here (e_entry) at ring 1 with flat segments, ESI = 0
 * and no stack we may trust. Set our own stack, clear the BSS, go to C.
 * No hypercall happens here: the first one is the image's business
 * (normally LHCALL_LGUEST_INIT from guest_init()).
 */
    .section .text.entry, "ax"
    .globl _start
    .type _start, @function
_start:
    /*G:010
     * The guest's first instruction, at ring 1, reached through the switcher's iret: a stack of our own, a
     * clean BSS, then C.
     */
    movl    $stack_top, %esp
    xorl    %ebp, %ebp
    cld
    movl    $__bss_start, %edi
    movl    $__bss_end, %ecx
    subl    %edi, %ecx
    shrl    $2, %ecx
    xorl    %eax, %eax
    rep stosl
    call    rt_start
1:  jmp     1b
    .size _start, . - _start

/*
 * One 16-byte stub per vector 0-63: push a zero error code where neither
 * the CPU nor the Host pushes one (lguest pushes one for 8, 10-14 and 17),
 * push the vector, and go to the common path. trap_stub(v) is
 * trap_stubs + 16 * v.
 */
    .text
    .align 16
    .globl trap_stubs
trap_stubs:
    .set vec, 0
    .rept 64
    .align 16
    .if (vec == 8) || ((vec >= 10) && (vec <= 14)) || (vec == 17)
    .else
    pushl   $0
    .endif
    pushl   $vec
    jmp     trap_common
    .set vec, vec + 1
    .endr

/*
 * Stack on entry to trap_common (low to high): vector, error code, EIP, CS,
 * EFLAGS. pushal on top makes a struct trap_frame.
 */
trap_common:
    pushal
    cld
    pushl   %esp
    call    trap_dispatch
    addl    $4, %esp
    popal
    addl    $8, %esp
    /* fall through */

/*
 * Return from a trap the lguest way. The Host pushed EFLAGS with IF
 * copied from lguest_data.irq_enabled, and iret at ring 1 cannot change
 * IF, so copy it back by hand: X86_EFLAGS_IF or 0 (Linux 4.x stores the
 * whole EFLAGS image; any non-zero value means "on" to the Host, and we
 * keep to the two values the rest of the runtime uses). No register is
 * touched; the flags we clobber are the ones iret reloads. An interrupt
 * due while EIP is at lguest_noirq_iret (named in lguest_data.noirq_iret)
 * is delivered on the frame this iret would pop, so it nests nothing.
 * The iret has a page of its own, so a test can make its fetch fault and
 * an interrupt meet it exactly there (abi-noirq-iret).
 */
    .globl lguest_iret
lguest_iret:
    /*G:070
     * The way out of a handler: interrupts back on in lguest_data if the interrupted code had them, then the
     * iret that lguest_data.noirq_iret names.
     */
    testl   $X86_EFLAGS_IF, 8(%esp)     /* the saved EFLAGS */
    jz      1f
    movl    $X86_EFLAGS_IF, %ss:lguest_data + LGUEST_DATA_irq_enabled
    jmp     lguest_noirq_iret
1:  movl    $0, %ss:lguest_data + LGUEST_DATA_irq_enabled
    jmp     lguest_noirq_iret

    .section .text.noirq, "ax"
    .align 4096
    .globl lguest_noirq_iret
lguest_noirq_iret:
    iret
    .align 4096
    .text

/* int probe_read(u32 addr, u32 *value): 0, or 1 when the load faulted. */
    .globl probe_read
    .type probe_read, @function
probe_read:
    movl    4(%esp), %edx
1:  movl    (%edx), %eax
    movl    8(%esp), %edx
    movl    %eax, (%edx)
    xorl    %eax, %eax
    ret
2:  movl    $1, %eax
    ret
    .pushsection .extable, "a"
    .long   1b, 2b
    .popsection
    .size probe_read, . - probe_read

/* int probe_write(u32 addr, u32 value): 0, or 1 when the store faulted. */
    .globl probe_write
    .type probe_write, @function
probe_write:
    movl    4(%esp), %edx
    movl    8(%esp), %eax
1:  movl    %eax, (%edx)
    xorl    %eax, %eax
    ret
2:  movl    $1, %eax
    ret
    .pushsection .extable, "a"
    .long   1b, 2b
    .popsection
    .size probe_write, . - probe_write

/*
 * u32 run_through_segment(u32 sel): lret into sel:1f (same ring: only CS:EIP
 * are popped), read CS there, lret back to the kernel CS. A fault on the
 * first lret (the pushed CS:EIP still on the stack) lands in 3f.
 */
    .text
    .globl run_through_segment
    .type run_through_segment, @function
run_through_segment:
    movl    4(%esp), %eax
    pushl   %eax
    pushl   $1f
4:  lret
1:  movl    %cs, %eax
    andl    $0xFFFF, %eax
    pushl   $(KERNEL_CS | GUEST_PL)
    pushl   $2f
    lret
2:  ret
3:  addl    $8, %esp
    movl    $0xFFFFFFFF, %eax
    ret
    .pushsection .extable, "a"
    .long   4b, 3b
    .popsection
    .size run_through_segment, . - run_through_segment

/* The one stack (16 KiB, page-aligned; SET_STACK may name its top). */
    .section .bss
    .align 4096
    .globl stack_bottom
    .globl stack_top
stack_bottom:
    .skip 16384
stack_top:

    .section .note.GNU-stack, "", @progbits
