package org.lguest.paging.internal;

import java.util.Objects;
import java.util.SplittableRandom;
import java.util.function.Consumer;

import org.lguest.api.cpu.GuestMachine;
import org.lguest.api.paging.GuestPageTables;
import org.lguest.api.paging.PageTableManager;
import org.osgi.service.component.annotations.Component;

/**
 * The page-table manager service: one {@link ShadowPageTables} per guest.
 * It keeps no state of its own; the Host core owns (and closes) what it creates,
 * so stopping this bundle never pulls tables out from under a CPU.
 */
@Component(service = PageTableManager.class)
public final class ShadowPageTableManager implements PageTableManager {

    private final SplittableRandom seeds = new SplittableRandom();

    @Override
    public GuestPageTables create(GuestMachine machine, Consumer<String> killGuest) {
        /*T:010
         * The Host asks for a guest's page tables once, at LHREQ_INITIALIZE. Until the guest loads tables of
         * its own, the shadows map its RAM one to one, each entry filled the first time it is needed.
         */
        Objects.requireNonNull(machine, "machine");
        SplittableRandom random;
        synchronized (seeds) {
            random = seeds.split();
        }
        return new ShadowPageTables(machine, killGuest, random);
    }

    @Override
    public String description() {
        return "shadow";
    }
}
