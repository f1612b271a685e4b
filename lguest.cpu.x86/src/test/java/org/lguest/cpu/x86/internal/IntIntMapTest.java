package org.lguest.cpu.x86.internal;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.util.Arrays;
import java.util.HashMap;
import java.util.Map;
import java.util.Random;

import org.junit.jupiter.api.Test;

class IntIntMapTest {

    @Test
    void behavesLikeAHashMapUnderRandomOperations() {
        Random random = new Random(42);
        IntIntMap map = new IntIntMap();
        Map<Integer, Integer> reference = new HashMap<>();
        for (int step = 0; step < 200_000; step++) {
            int key = random.nextInt(step < 100_000 ? 5_000 : 1 << 20);
            switch (random.nextInt(3)) {
                case 0 -> {
                    int value = random.nextInt() >>> 1;
                    map.put(key, value);
                    reference.put(key, value);
                }
                case 1 -> {
                    map.remove(key);
                    reference.remove(key);
                }
                default -> assertEquals(reference.getOrDefault(key, IntIntMap.ABSENT), map.get(key));
            }
            assertEquals(reference.size(), map.size());
        }
        int[] keys = map.keys();
        Arrays.sort(keys);
        assertEquals(reference.keySet().stream().sorted().mapToInt(Integer::intValue).boxed().toList(),
                Arrays.stream(keys).boxed().toList());
        for (int key : keys) {
            assertEquals(reference.get(key), map.get(key));
        }
        map.clear();
        assertEquals(0, map.size());
        assertEquals(IntIntMap.ABSENT, map.get(keys.length > 0 ? keys[0] : 1));
    }
}
