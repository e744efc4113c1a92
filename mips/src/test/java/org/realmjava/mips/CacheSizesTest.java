package org.realmjava.mips;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.OptionalLong;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class CacheSizesTest {
    private static void cache(Path dir, int index, int level, String type, String size) throws IOException {
        Path d = Files.createDirectories(dir.resolve("index" + index));
        Files.writeString(d.resolve("level"), level + "\n");
        Files.writeString(d.resolve("type"), type + "\n");
        Files.writeString(d.resolve("size"), size + "\n");
    }

    @Test
    void readsTheL2OfASysfsListing(@TempDir Path dir) throws IOException {
        // a Zen 1's cpu0: L1d, L1i, L2, L3
        cache(dir, 0, 1, "Data", "32K");
        cache(dir, 1, 1, "Instruction", "64K");
        cache(dir, 2, 2, "Unified", "512K");
        cache(dir, 3, 3, "Unified", "8192K");
        assertEquals(OptionalLong.of(512 * 1024), CacheSizes.read(dir, 2));
        assertEquals(OptionalLong.of(32 * 1024), CacheSizes.read(dir, 1));
        assertEquals(OptionalLong.of(8L << 20), CacheSizes.read(dir, 3));
    }

    @Test
    void unknownWhereSysfsSaysNothing(@TempDir Path dir) throws IOException {
        assertTrue(CacheSizes.read(dir.resolve("absent"), 2).isEmpty());
        cache(dir, 0, 1, "Data", "48K");
        assertTrue(CacheSizes.read(dir, 2).isEmpty());
        cache(dir, 1, 2, "Unified", "a lot");
        assertTrue(CacheSizes.read(dir, 2).isEmpty());
    }

    @Test
    void parsesSizes() {
        assertEquals(1024, CacheSizes.parseSize("1K"));
        assertEquals(2L << 20, CacheSizes.parseSize("2M"));
        assertEquals(4096, CacheSizes.parseSize("4096"));
    }
}
