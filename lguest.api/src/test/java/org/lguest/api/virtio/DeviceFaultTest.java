package org.lguest.api.virtio;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.lang.reflect.Proxy;
import java.util.ArrayList;
import java.util.EnumSet;
import java.util.List;
import java.util.Map;

import org.junit.jupiter.api.Test;

class DeviceFaultTest {

    @Test
    void aReasonStartsWithTheFaultsName() {
        assertEquals("CHAIN_LOOP: queue 0: chain from 3 loops", DeviceFault.CHAIN_LOOP.reason("queue 0: chain from 3 loops"));
    }

    @Test
    void onlyTheHostSideKindsAreNotTheDriversFault() {
        EnumSet<DeviceFault> hosts = EnumSet.noneOf(DeviceFault.class);
        for (DeviceFault fault : DeviceFault.values()) {
            if (!fault.driverAtFault()) {
                hosts.add(fault);
            }
        }
        assertEquals(EnumSet.of(DeviceFault.DEVICE_ERROR, DeviceFault.BACKEND_LOST), hosts);
    }

    @Test
    void aContextWithoutItsOwnFaultMethodGetsTheNamedReason() {
        List<String> failed = new ArrayList<>();
        DeviceContext context = (DeviceContext) Proxy.newProxyInstance(DeviceContext.class.getClassLoader(),
            new Class<?>[] {DeviceContext.class}, (proxy, method, args) -> {
                if (method.isDefault()) {
                    return java.lang.reflect.InvocationHandler.invokeDefault(proxy, method, args);
                }
                if (method.getName().equals("fail")) {
                    failed.add((String) args[0]);
                    return null;
                }
                throw new UnsupportedOperationException(method.getName());
            });
        context.fail(DeviceFault.BACKEND_LOST, "the disk image is closed");
        assertEquals(List.of("BACKEND_LOST: the disk image is closed"), failed);
    }

    @Test
    void aBusThatKeepsNoCountsAnswersNone() {
        VirtioBus bus = (VirtioBus) Proxy.newProxyInstance(VirtioBus.class.getClassLoader(), new Class<?>[] {VirtioBus.class},
            (proxy, method, args) -> {
                assertTrue(method.isDefault(), method.getName() + " is not the default under test");
                return java.lang.reflect.InvocationHandler.invokeDefault(proxy, method, args);
            });
        assertEquals(Map.of(), bus.faults(0));
    }
}
