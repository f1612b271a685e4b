package org.lguest.device.internal;

import org.lguest.api.cpu.VcpuBackend;
import org.lguest.api.device.LauncherTask;
import org.lguest.api.device.LguestDevice;
import org.lguest.api.device.LguestFile;
import org.lguest.api.paging.PageTableManager;
import org.osgi.service.component.annotations.Activate;
import org.osgi.service.component.annotations.Component;
import org.osgi.service.component.annotations.Deactivate;
import org.osgi.service.component.annotations.Modified;
import org.osgi.service.component.annotations.Reference;
import org.osgi.service.component.annotations.ReferenceCardinality;
import org.osgi.service.component.annotations.ReferencePolicy;
import org.osgi.service.component.annotations.ReferencePolicyOption;
import org.osgi.service.metatype.annotations.Designate;

/**
 * The {@code /dev/lguest} device as a service. It needs neither a vCPU
 * backend nor a page-table manager to be registered: both are dynamic,
 * greedy (the highest-ranked wins) and optional.
 *
 * <ul>
 * <li>No page-table manager: {@code LHREQ_INITIALIZE} answers {@code -EAGAIN}
 * (11) and sets nothing up; a guest whose manager goes away answers
 * {@code -EAGAIN} from {@code read()} until another is there, then its shadow
 * tables are made again.</li>
 * <li>No vCPU backend: {@code read()} of an initialized guest answers
 * {@code -EAGAIN} (logged once per CPU) instead of running it; a guest whose
 * backend goes away keeps its state and resumes on the next backend.</li>
 * <li>A backend that fails to create or run a CPU: {@code -EIO} (5), logged;
 * the guest is not killed.</li>
 * </ul>
 */
@Component(service = LguestDevice.class, configurationPid = "org.lguest.device")
@Designate(ocd = HostConfig.class)
public final class LguestDeviceComponent implements LguestDevice {
    private final Host host;

    @Activate
    public LguestDeviceComponent(HostConfig config) {
        this.host = new Host(settings(config));
        host.countPerGuest = config.countPerGuest();
    }

    static Host.Settings settings(HostConfig config) {
        return new Host.Settings(config.tscKhz(), config.syscallVector(), config.hostAreaPages());
    }

    @Modified
    void modified(HostConfig config) {
        host.settings(settings(config));
        host.countPerGuest = config.countPerGuest();
    }

    @Deactivate
    void deactivate() {
        host.close();
    }

    /** The Host core behind the service (for tests). */
    Host host() {
        return host;
    }

    @Override
    public LguestFile open(LauncherTask task) {
        return host.open(task);
    }

    @Reference(name = "backend", service = VcpuBackend.class, cardinality = ReferenceCardinality.OPTIONAL,
        policy = ReferencePolicy.DYNAMIC, policyOption = ReferencePolicyOption.GREEDY, unbind = "unbindBackend")
    void bindBackend(VcpuBackend backend) {
        host.bindBackend(backend);
    }

    void unbindBackend(VcpuBackend backend) {
        host.unbindBackend(backend);
    }

    @Reference(name = "pageTables", service = PageTableManager.class, cardinality = ReferenceCardinality.OPTIONAL,
        policy = ReferencePolicy.DYNAMIC, policyOption = ReferencePolicyOption.GREEDY,
        unbind = "unbindPageTableManager")
    void bindPageTableManager(PageTableManager manager) {
        host.bindPageTableManager(manager);
    }

    void unbindPageTableManager(PageTableManager manager) {
        host.unbindPageTableManager(manager);
    }
}
