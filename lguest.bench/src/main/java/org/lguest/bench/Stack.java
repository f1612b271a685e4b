package org.lguest.bench;

import java.lang.reflect.Constructor;
import java.lang.reflect.InvocationTargetException;
import java.lang.reflect.Method;
import java.lang.reflect.Proxy;
import java.util.Map;

import org.lguest.api.cpu.VcpuBackend;
import org.lguest.api.device.LguestDevice;
import org.lguest.api.paging.PageTableManager;
import org.lguest.cpu.x86.internal.UnicornBackend;
import org.lguest.device.internal.LguestDeviceComponent;
import org.lguest.paging.internal.ShadowPageTableManager;

/**
 * The runtime's three Host-side components, made and wired the way SCR
 * does it in the framework (activate with the default configuration, bind
 * the backend and the page-table manager), but without OSGi: their jars
 * are on the classpath and their classes are public. What SCR calls that
 * is not public (the component's configuration type, its bind and
 * deactivate methods) is reached by reflection, which is all that differs.
 */
final class Stack implements AutoCloseable {
    final LguestDeviceComponent device;
    final UnicornBackend backend;
    final ShadowPageTableManager pageTables;

    Stack() {
        backend = new UnicornBackend(); // binds libunicorn.so.2 and calibrates the #1883 fix, as activation does
        pageTables = new ShadowPageTableManager();
        device = newDevice();
        invoke(device, "bindBackend", VcpuBackend.class, backend);
        invoke(device, "bindPageTableManager", PageTableManager.class, pageTables);
    }

    LguestDevice device() {
        return device;
    }

    /** Turns the Host's per-guest counting on or off for guests started from now on (as a configuration change). */
    void countPerGuest(boolean on) {
        try {
            Class<?> configType = Class.forName("org.lguest.device.internal.HostConfig", true,
                LguestDeviceComponent.class.getClassLoader());
            invoke(device, "modified", configType, defaults(configType, Map.of("countPerGuest", on)));
        } catch (ClassNotFoundException e) {
            throw new IllegalStateException("cannot find the Host's configuration type: " + e, e);
        }
    }

    /** The component with its configuration at the defaults (HostConfig is package-private: a proxy, as SCR makes). */
    private static LguestDeviceComponent newDevice() {
        try {
            Class<?> configType = Class.forName("org.lguest.device.internal.HostConfig", true,
                LguestDeviceComponent.class.getClassLoader());
            Object config = defaults(configType, Map.of());
            Constructor<LguestDeviceComponent> c = LguestDeviceComponent.class.getConstructor(configType);
            return c.newInstance(config);
        } catch (ReflectiveOperationException e) {
            throw new IllegalStateException("cannot make the Host component: " + e, e);
        }
    }

    /** An annotation-typed configuration whose methods answer from {@code values} or their defaults. */
    static Object defaults(Class<?> type, Map<String, Object> values) {
        return Proxy.newProxyInstance(type.getClassLoader(), new Class<?>[] {type}, (proxy, method, args) -> {
            switch (method.getName()) {
                case "annotationType":
                    return type;
                case "hashCode":
                    return System.identityHashCode(proxy);
                case "equals":
                    return proxy == args[0];
                case "toString":
                    return type.getSimpleName() + values;
                default:
                    Object v = values.get(method.getName());
                    return v != null ? v : method.getDefaultValue();
            }
        });
    }

    static void invoke(Object target, String name, Class<?> parameter, Object argument) {
        try {
            Method m = parameter == null ? target.getClass().getDeclaredMethod(name)
                : target.getClass().getDeclaredMethod(name, parameter);
            m.setAccessible(true);
            if (parameter == null) {
                m.invoke(target);
            } else {
                m.invoke(target, argument);
            }
        } catch (InvocationTargetException e) {
            throw new IllegalStateException(name + " failed: " + e.getCause(), e.getCause());
        } catch (ReflectiveOperationException e) {
            throw new IllegalStateException("cannot call " + target.getClass().getSimpleName() + "." + name + ": " + e, e);
        }
    }

    @Override
    public void close() {
        invoke(device, "unbindBackend", VcpuBackend.class, backend);
        invoke(device, "unbindPageTableManager", PageTableManager.class, pageTables);
        invoke(device, "deactivate", null, null);
    }
}
