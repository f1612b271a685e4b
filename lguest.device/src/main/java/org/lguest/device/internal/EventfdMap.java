package org.lguest.device.internal;

import java.util.Arrays;

import org.lguest.api.device.Eventfd;

/*L:055
 * Which eventfd each LHCALL_NOTIFY value goes to. A published map never
 * changes: attaching copies it with one more slot, fills the slot, and
 * stores the copy into Guest.eventfds (a volatile field, our answer to
 * rcu_assign_pointer). Readers read the field once and search what they
 * got, lock-free. No grace period is needed: an old map lives until the
 * garbage collector finds no reader holding it.
 */
final class EventfdMap {
    static final EventfdMap EMPTY = new EventfdMap(new long[0], new Eventfd[0]);

    private final long[] addrs;
    private final Eventfd[] events;

    private EventfdMap(long[] addrs, Eventfd[] events) {
        this.addrs = addrs;
        this.events = events;
    }

    /** A new empty map; each Guest gets its own instance so the allocator can fail it in tests. */
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

    /** Linear scan: the first eventfd attached to {@code addr}, or null. Maps are tiny. */
    Eventfd lookup(long addr) {
        for (int i = 0; i < addrs.length; i++) {
            if (addrs[i] == addr) {
                return events[i];
            }
        }
        return null;
    }
}
