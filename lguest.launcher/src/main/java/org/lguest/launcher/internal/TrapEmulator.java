package org.lguest.launcher.internal;

import java.util.HexFormat;
import java.util.Optional;

import org.lguest.api.abi.Errno;
import org.lguest.api.abi.LguestPending;
import org.lguest.api.abi.Lhreq;
import org.lguest.api.abi.PtRegs;
import org.lguest.api.cpu.PortIo;
import org.lguest.api.device.LguestFile;
import org.lguest.api.guest.LaunchException;
import org.lguest.api.virtio.VirtioBus;

/**
 * What the Launcher does with a trap the Host hands it: a guest kernel's
 * {@code cli} is skipped, an access to the guest's virtio bus is emulated
 * (a {@code mov} at a device's BAR, an {@code in}/{@code out} at the bus's
 * configuration ports),
 * the guest's registers updated and EIP moved past the instruction. Anything
 * else, an instruction not understood or an address nobody serves, goes back
 * to the guest with {@code LHREQ_TRAP}, as lguest's Launcher did. Runs on the
 * CPU's thread.
 * <p>
 * It is also the guest's {@link PortIo}: an engine that runs {@code in} and
 * {@code out} instead of trapping them (Unicorn) asks it for each access
 * from inside {@code read()}, and a trap 13 from an engine that traps them
 * ends in the same two methods.
 */
final class TrapEmulator implements PortIo {
    /** The guest kernel's privilege level (lguest's GUEST_PL). */
    private static final int KERNEL_RPL = 1;

    private final LguestFile file;
    private final int cpu;
    private final VirtioBus bus;
    private final GuestRegisters registers;

    /** @param bus the guest's bus, or null when it has none (every trap goes back) */
    TrapEmulator(LguestFile file, int cpu, VirtioBus bus) {
        this.file = file;
        this.cpu = cpu;
        this.bus = bus;
        this.registers = new GuestRegisters(file, cpu);
    }

    /** Emulates the trap or hands it back; null, or why the guest cannot go on. */
    /** Emulates the trap or hands it back; empty, or why the guest cannot go on. */
    Optional<String> handle(LguestPending pending) {
        try {
            if (emulated(pending)) {
                return Optional.empty();
            }
        } catch (LaunchException e) {
            return Optional.of(String.format("cannot emulate the guest's access (trap %d at %#x): %s", pending.trap(),
                pending.address(), e.getMessage()));
        }
        long answer = Requests.write(file, cpu, Lhreq.TRAP, pending.trap());
        if (answer < 0) {
            // A #GP handed back names its instruction; its address word means nothing.
            String what = pending.trap() == LguestPending.GENERAL_PROTECTION
                ? "instruction " + HexFormat.ofDelimiter(" ").formatHex(pending.insn())
                : String.format("address %#x", pending.address());
            return Optional.of(String.format("cannot hand trap %d (%s) back to the guest: LHREQ_TRAP answered %s",
                pending.trap(), what, Errno.name((int) answer)));
        }
        return Optional.empty();
    }

    private boolean emulated(LguestPending pending) throws LaunchException {
        if (pending.trap() == LguestPending.GENERAL_PROTECTION) {
            // As 4.x's Launcher: only guest kernel code (ring 1) is helped; user code gets its #GP back.
            if ((registers.get(PtRegs.CS) & 3) != KERNEL_RPL) {
                return false;
            }
            if (isCli(pending)) {
                skip(1);
                return true;
            }
        }
        if (bus == null) {
            return false;
        }
        return switch (pending.trap()) {
            case LguestPending.PAGE_FAULT -> memory(pending);
            case LguestPending.GENERAL_PROTECTION -> port(pending);
            default -> false;
        };
    }

    /*
     * A "cli" in the guest kernel: some early boot code still has one, and a
     * paravirtual kernel keeps its interrupt flag in lguest_data anyway, so
     * it is skipped as Linux 4.x's Launcher did.
     */
    private static boolean isCli(LguestPending pending) {
        return pending.insn().length > 0 && Byte.toUnsignedInt(pending.insn()[0]) == 0xFA;
    }

    private boolean memory(LguestPending pending) throws LaunchException {
        /*M:170
         * A page fault at a device's BAR: the faulting mov is decoded, the bus reads or writes the register,
         * the destination register is set through LHREQ_SETREG and EIP stepped past the instruction.
         */
        long address = pending.address();
        if (!bus.ownsMmio(address)) {
            return false;
        }
        MmioInstruction insn = MmioInstruction.decode(pending.insn());
        if (insn == null) {
            return false;
        }
        int size = insn.size();
        switch (insn.kind()) {
            case LOAD, LOAD_ZERO_EXTEND -> {
                long value = bus.mmioRead(address, size);
                long old = insn.keepsUpperBits() ? registers.get(insn.selector()) : 0;
                registers.set(insn.selector(), insn.loadedRegister(old, value));
            }
            case STORE_REGISTER, STORE_IMMEDIATE -> {
                long register = insn.kind() == MmioInstruction.Kind.STORE_REGISTER ? registers.get(insn.selector()) : 0;
                long value = insn.valueToStore(register);
                // A write where no register is, is dropped, as on hardware.
                bus.mmioWrite(address, size, value);
            }
        }
        skip(insn.length());
        return true;
    }

    /** Trap 13, from an engine that traps port I/O: decoded here, done by {@link #in} and {@link #out}. */
    private boolean port(LguestPending pending) throws LaunchException {
        PortInstruction insn = PortInstruction.decode(pending.insn());
        if (insn == null) {
            return false;
        }
        int port = insn.port() == PortInstruction.PORT_IN_DX ? (int) (registers.get(PtRegs.DX) & 0xFFFF) : insn.port();
        if (!owns(port)) {
            return false;
        }
        long mask = MmioInstruction.mask(insn.size());
        long eax = registers.get(PtRegs.AX);
        if (insn.in()) {
            registers.set(PtRegs.AX, (eax & ~mask) | (in(port, insn.size()) & mask));
        } else {
            out(port, insn.size(), (int) eax);
        }
        skip(insn.length());
        return true;
    }

    /*M:150
     * The PortIo side: an engine that runs in and out itself calls these from inside read(), on the CPU's
     * thread; only the bus's configuration ports are claimed, and everything else reads as all ones.
     */
    @Override
    public boolean owns(int port) {
        return bus != null && bus.ownsPort(port);
    }

    @Override
    public int in(int port, int size) {
        return (int) bus.ioRead(port, size);
    }

    @Override
    public void out(int port, int size, int value) {
        // A configuration write the bus refuses is dropped: the engine's hook cannot reflect a #GP as lguest did.
        bus.ioWrite(port, size, value & MmioInstruction.mask(size));
    }

    private void skip(int length) throws LaunchException {
        registers.set(PtRegs.IP, registers.get(PtRegs.IP) + length);
    }
}
