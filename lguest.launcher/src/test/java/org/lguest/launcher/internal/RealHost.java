package org.lguest.launcher.internal;

import java.lang.reflect.Method;
import java.lang.reflect.Proxy;

import org.lguest.api.cpu.VcpuBackend;
import org.lguest.api.device.LguestDevice;
import org.lguest.api.paging.PageTableManager;
import org.lguest.cpu.x86.internal.UnicornBackend;
import org.lguest.device.internal.LguestDeviceComponent;
import org.lguest.paging.internal.ShadowPageTableManager;

/**
 * The real Host (lguest.device) on the real Unicorn backend with the real
 * shadow page tables, wired as SCR wires them in the framework but without
 * it: what SCR calls that is not public is reached by reflection.
 */
final class RealHost implements AutoCloseable {
    private final UnicornBackend backend = new UnicornBackend();
    private final ShadowPageTableManager pageTables = new ShadowPageTableManager();
    private final LguestDeviceComponent device;

    RealHost() throws ReflectiveOperationException {
        Class<?> configType = Class.forName("org.lguest.device.internal.HostConfig");
        Object defaults = Proxy.newProxyInstance(configType.getClassLoader(), new Class<?>[] {configType},
            (proxy, method, args) -> switch (method.getName()) {
                case "annotationType" -> configType;
                case "hashCode" -> System.identityHashCode(proxy);
                case "equals" -> proxy == args[0];
                case "toString" -> "HostConfig defaults";
                default -> method.getDefaultValue();
            });
        device = LguestDeviceComponent.class.getConstructor(configType).newInstance(defaults);
        call("bindBackend", VcpuBackend.class, backend);
        call("bindPageTableManager", PageTableManager.class, pageTables);
    }

    LguestDevice device() {
        return device;
    }

    private void call(String name, Class<?> parameter, Object argument) throws ReflectiveOperationException {
        Method method = parameter == null ? LguestDeviceComponent.class.getDeclaredMethod(name)
            : LguestDeviceComponent.class.getDeclaredMethod(name, parameter);
        method.setAccessible(true);
        if (parameter == null) {
            method.invoke(device);
        } else {
            method.invoke(device, argument);
        }
    }

    @Override
    public void close() throws ReflectiveOperationException {
        call("unbindBackend", VcpuBackend.class, backend);
        call("unbindPageTableManager", PageTableManager.class, pageTables);
        call("deactivate", null, null);
    }
}
