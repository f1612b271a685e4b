package org.lguest.virtio.net.internal;

import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

import org.osgi.service.component.annotations.Component;

/** The runtime's switches, by name: the network cards configured with the same switch name share one. */
@Component(service = Switches.class)
public class Switches {
    private final Map<String, NetSwitch> switches = new ConcurrentHashMap<>();

    NetSwitch get(String name) {
        return switches.computeIfAbsent(name, NetSwitch::new);
    }
}
