package org.lguest.cpu.x86.internal;

import java.util.Arrays;

/**
 * A small open-addressing map from non-negative int keys to int values,
 * without boxing: {@link GuestMappings} asks it on every demand fault.
 * Not thread-safe.
 */
final class IntIntMap {
    /** What {@link #get} returns for a key that is not there. */
    static final int ABSENT = Integer.MIN_VALUE;
    private static final int FREE = -1;

    private int[] keys;
    private int[] values;
    private int size;

    IntIntMap() {
        this(16);
    }

    IntIntMap(int expected) {
        int capacity = Integer.highestOneBit(Math.max(16, expected * 2 - 1)) << 1;
        keys = new int[capacity];
        values = new int[capacity];
        Arrays.fill(keys, FREE);
    }

    int size() {
        return size;
    }

    boolean isEmpty() {
        return size == 0;
    }

    int get(int key) {
        int mask = keys.length - 1;
        for (int i = mix(key) & mask;; i = i + 1 & mask) {
            int k = keys[i];
            if (k == key) {
                return values[i];
            }
            if (k == FREE) {
                return ABSENT;
            }
        }
    }

    boolean containsKey(int key) {
        return get(key) != ABSENT;
    }

    void put(int key, int value) {
        if (key < 0) {
            throw new IllegalArgumentException("negative key " + key);
        }
        if ((size + 1) * 2 > keys.length) {
            grow();
        }
        int mask = keys.length - 1;
        for (int i = mix(key) & mask;; i = i + 1 & mask) {
            int k = keys[i];
            if (k == key) {
                values[i] = value;
                return;
            }
            if (k == FREE) {
                keys[i] = key;
                values[i] = value;
                size++;
                return;
            }
        }
    }

    void remove(int key) {
        int mask = keys.length - 1;
        int i = mix(key) & mask;
        while (keys[i] != key) {
            if (keys[i] == FREE) {
                return;
            }
            i = i + 1 & mask;
        }
        // Backward-shift deletion keeps every probe chain unbroken.
        for (int gap = i, j = i + 1 & mask;; j = j + 1 & mask) {
            int k = keys[j];
            if (k == FREE) {
                keys[gap] = FREE;
                size--;
                return;
            }
            int home = mix(k) & mask;
            if ((j - home & mask) >= (j - gap & mask)) {
                keys[gap] = k;
                values[gap] = values[j];
                gap = j;
            }
        }
    }

    void clear() {
        if (size > 0) {
            Arrays.fill(keys, FREE);
            size = 0;
        }
    }

    /** The keys, in no particular order (a copy). */
    int[] keys() {
        int[] out = new int[size];
        int n = 0;
        for (int k : keys) {
            if (k != FREE) {
                out[n++] = k;
            }
        }
        return out;
    }

    private void grow() {
        int[] oldKeys = keys, oldValues = values;
        keys = new int[oldKeys.length * 2];
        values = new int[oldKeys.length * 2];
        Arrays.fill(keys, FREE);
        size = 0;
        for (int i = 0; i < oldKeys.length; i++) {
            if (oldKeys[i] != FREE) {
                put(oldKeys[i], oldValues[i]);
            }
        }
    }

    private static int mix(int key) {
        int h = key * 0x9E37_79B9;
        return h ^ h >>> 16;
    }
}
