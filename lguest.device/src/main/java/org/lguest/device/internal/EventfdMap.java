package org.lguest.device.internal;

import java.util.Arrays;

import org.lguest.api.device.Eventfd;

/*L:055
 * The map from LHCALL_NOTIFY values to eventfds, as the seed keeps it: an
 * array which is never changed once published. Adding an eventfd makes a
 * brand new one-larger copy and swaps the guest's pointer to it (the
 * seed's rcu_assign_pointer); a reader loads the pointer once and uses
 * that array, old or new, without ever taking a lock (rcu_read_lock). The
 * garbage collector is our synchronize_rcu(): the old array goes away when
 * the last reader drops it.
 */
final class EventfdMap {
    static final EventfdMap EMPTY = new EventfdMap(new long[0], new Eventfd[0]);

    private final long[] addrs;
    private final Eventfd[] events;

    private EventfdMap(long[] addrs, Eventfd[] events) {
        this.addrs = addrs;
        this.events = events;
    }

    /** A fresh empty map (an allocation of its own, like the seed's kmalloc). */
    static EventfdMap empty() {
        return new EventfdMap(new long[0], new Eventfd[0]);
    }

    /** The one-larger copy, with a free last slot for {@link #withLast}. */
    EventfdMap grown() {
        return new EventfdMap(Arrays.copyOf(addrs, addrs.length + 1), Arrays.copyOf(events, events.length + 1));
    }

    /** Fills the last slot of a {@link #grown} copy: only before the copy is published. */
    EventfdMap withLast(long addr, Eventfd event) {
        addrs[addrs.length - 1] = addr;
        events[events.length - 1] = event;
        return this;
    }

    int size() {
        return addrs.length;
    }

    long addr(int i) {
        return addrs[i];
    }

    Eventfd event(int i) {
        return events[i];
    }

    /** Simple array search: the first eventfd attached to {@code addr}, or null. */
    Eventfd lookup(long addr) {
        for (int i = 0; i < addrs.length; i++) {
            if (addrs[i] == addr) {
                return events[i];
            }
        }
        return null;
    }
}
