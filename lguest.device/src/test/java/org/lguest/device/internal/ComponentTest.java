package org.lguest.device.internal;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.lang.annotation.Annotation;
import java.lang.reflect.Proxy;
import java.util.Map;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.lguest.api.abi.Errno;
import org.lguest.api.device.LauncherTask;
import org.lguest.api.device.LguestFile;

/**
 * The Declarative Services face: the component's life and configuration.
 * (bnd writes the component description into the jar only; lguest.itest
 * checks it in the real framework.)
 */
@Timeout(10)
class ComponentTest {

    static HostConfig config(Map<String, Object> values) {
        return (HostConfig) Proxy.newProxyInstance(HostConfig.class.getClassLoader(), new Class<?>[] {HostConfig.class},
            (proxy, method, args) -> {
                if (method.getName().equals("annotationType")) {
                    return HostConfig.class;
                }
                Object v = values.get(method.getName());
                return v != null ? v : method.getDefaultValue();
            });
    }

    @Test
    void theComponentOpensFilesUntilItIsDeactivated() {
        LguestDeviceComponent component = new LguestDeviceComponent(config(Map.of()));
        FakeBackend backend = new FakeBackend();
        FakePageTables paging = new FakePageTables();
        component.bindBackend(backend);
        component.bindPageTableManager(paging);
        LguestFile file = component.open(new LauncherTask());
        assertEquals(-Errno.EINVAL, file.read(java.lang.foreign.MemorySegment.ofArray(new long[1]), 0));
        component.unbindBackend(backend);
        component.unbindPageTableManager(paging);
        component.deactivate();
        assertEquals(-Errno.EBADF, file.read(java.lang.foreign.MemorySegment.ofArray(new long[1]), 0));
        assertThrows(NullPointerException.class, () -> component.open(null));
    }

    @Test
    void configurationBecomesTheHostsSettings() {
        HostConfig c = config(Map.of("tscKhz", 1_000_000, "syscallVector", 0x81, "hostAreaPages", 64));
        assertEquals(new Host.Settings(1_000_000, 0x81, 64), LguestDeviceComponent.settings(c));
        assertEquals(Host.Settings.DEFAULTS, LguestDeviceComponent.settings(config(Map.of())));
        assertThrows(IllegalArgumentException.class, () -> new Host.Settings(0, 0x80, 1025));
        assertThrows(IllegalArgumentException.class, () -> new Host.Settings(0, 0x80, 0));
        Annotation a = config(Map.of());
        assertEquals(HostConfig.class, a.annotationType());
    }

    @Test
    void aModifiedConfigurationAppliesToTheNextGuest() {
        LguestDeviceComponent component = new LguestDeviceComponent(config(Map.of()));
        try {
            component.modified(config(Map.of("hostAreaPages", 32)));
            assertEquals(32, component.host().settings().hostAreaPages());
        } finally {
            component.deactivate();
        }
    }
}
