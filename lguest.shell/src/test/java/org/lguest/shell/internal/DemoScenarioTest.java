package org.lguest.shell.internal;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.zip.CRC32;

import org.junit.jupiter.api.Test;

class DemoScenarioTest {

    @Test
    void theScratchDiskIsOneMebibyteWithTheKnownSectorZero() throws IOException {
        Path disk = DemoScenario.scratchDisk();
        try {
            byte[] bytes = Files.readAllBytes(disk);
            assertEquals(1 << 20, bytes.length);
            assertArrayEquals(DemoScenario.sector0(), Arrays.copyOf(bytes, 512));
            assertArrayEquals(new byte[bytes.length - 512], Arrays.copyOfRange(bytes, 512, bytes.length), "the rest is zero");
            assertEquals(Path.of(System.getProperty("java.io.tmpdir")).toRealPath(), disk.getParent().toRealPath());
        } finally {
            Files.delete(disk);
        }
    }

    @Test
    void sectorZeroIsTheLabelThenEachBytesOffset() {
        byte[] sector = DemoScenario.sector0();
        assertEquals("lguest demo disk\n", new String(sector, 0, 17, StandardCharsets.US_ASCII));
        assertEquals(17, sector[17]);
        assertEquals((byte) 0xFF, sector[255]);
        assertEquals(0, sector[256]);
        assertEquals((byte) 511, sector[511]);
        // The checksum lguest.guest/IMAGES.md says the demo prints for this disk.
        CRC32 crc = new CRC32();
        crc.update(sector);
        assertEquals(0x4a2f1e2bL, crc.getValue());
    }
}
