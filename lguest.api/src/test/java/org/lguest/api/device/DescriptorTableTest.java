package org.lguest.api.device;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Optional;
import org.junit.jupiter.api.Test;

/** Descriptors are the lowest free numbers, and bad numbers name nothing. */
class DescriptorTableTest {

    @Test
    void descriptorsAreTheLowestFreeNumbers() {
        DescriptorTable table = new DescriptorTable();
        Object a = new Object(), b = new Object(), c = new Object();
        assertEquals(0, table.install(a));
        assertEquals(1, table.install(b));
        assertTrue(table.close(0));
        assertEquals(0, table.install(c), "a closed number is reused first");
        assertEquals(Optional.of(c), table.get(0));
        assertEquals(Optional.of(b), table.get(1));
    }

    @Test
    void unknownNegativeAndHugeNumbersNameNothing() {
        DescriptorTable table = new DescriptorTable();
        table.install(new Object());
        assertEquals(Optional.empty(), table.get(1));
        assertEquals(Optional.empty(), table.get(-1));
        assertEquals(Optional.empty(), table.get(1L << 32), "not truncated to descriptor 0");
        assertFalse(table.close(5));
    }
}
