package org.lguest.virtio.internal;

import org.lguest.api.virtio.DeviceFault;
import org.lguest.api.virtio.GuestRam;

/** A transport stand-in for queue-level tests: records breakage and interrupts. */
final class FakeHost implements SplitVirtqueue.Host {
    final GuestRam ram;
    long features;
    String broken;
    DeviceFault fault;
    int brokenCount;
    int interrupts;

    FakeHost(GuestRam ram, long features) {
        this.ram = ram;
        this.features = features;
    }

    @Override
    public GuestRam ram() {
        return ram;
    }

    @Override
    public long features() {
        return features;
    }

    @Override
    public void broken(DeviceFault fault, String detail) {
        if (broken == null) {
            broken = fault.reason(detail);
            this.fault = fault;
            brokenCount++;
        }
    }

    @Override
    public String brokenReason() {
        return broken;
    }

    @Override
    public void interrupt() {
        interrupts++;
    }
}
