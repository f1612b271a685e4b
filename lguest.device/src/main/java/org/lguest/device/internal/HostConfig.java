package org.lguest.device.internal;

import org.osgi.service.metatype.annotations.AttributeDefinition;
import org.osgi.service.metatype.annotations.ObjectClassDefinition;

/** Configuration of the Host core (PID {@code org.lguest.device}). */
@ObjectClassDefinition(
    name = "lguest Host core",
    description = "The /dev/lguest device and the Host core that runs guests.")
@interface HostConfig {

    @AttributeDefinition(
        name = "TSC kHz",
        description = "The value the Host writes to lguest_data.tsc_khz at LGUEST_INIT. "
            + "0 tells the guest not to trust its time-stamp counter.",
        min = "0")
    int tscKhz() default 0;

    @AttributeDefinition(
        name = "Extra system-call vector",
        description = "A vector guests may use for system calls besides 0x80 (lguest's syscall_vector "
            + "module parameter). A guest whose lguest_data.syscall_vec is neither is killed at LGUEST_INIT.",
        min = "32", max = "255")
    int syscallVector() default 0x80;

    @AttributeDefinition(
        name = "Host-area pages",
        description = "Native 4 KiB pages per guest for its shadow page tables and the switcher "
            + "(at most 1024: the switcher's 4 MiB).",
        min = "16", max = "1024")
    int hostAreaPages() default 1024;

    @AttributeDefinition(
        name = "Count per guest",
        description = "Keep counters for each guest (exits by kind, hypercalls by number, page faults, "
            + "interrupts, time running and halted) for /metrics and lguest:stats. Applies to guests started "
            + "after the change.")
    boolean countPerGuest() default true;
}
