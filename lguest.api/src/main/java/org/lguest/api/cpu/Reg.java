package org.lguest.api.cpu;

/** The registers of lguest's {@code struct lguest_regs}, in its order. */
public enum Reg {
    EBX, ECX, EDX, ESI, EDI, EBP, EAX,
    GS, FS, DS, ES,
    /** The vector of the trap that brought the guest out, and its error code. */
    TRAPNUM, ERRCODE,
    EIP, CS, EFLAGS, ESP, SS
}
