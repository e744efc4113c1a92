package org.realmjava.mips;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Locale;
import java.util.OptionalLong;

/**
 * The data caches of the processor the JVM runs on, as Linux describes them in sysfs
 * ({@code /sys/devices/system/cpu/cpu0/cache/index*}: level, type, size). Cache-blocked kernels
 * size their tiles from these: an L2 of 512 KB (Zen 1-3) and one of 1-2 MB (Zen 4-5, recent Intel)
 * want different tiles. Empty where sysfs does not say (another OS, a container that hides it).
 */
final class CacheSizes {
    private static final Path CPU0 = Path.of("/sys/devices/system/cpu/cpu0/cache");
    private static final OptionalLong L2 = read(CPU0, 2);

    private CacheSizes() {}

    /** Bytes of one core's L2 (data or unified), if known. */
    static OptionalLong l2Bytes() {
        return L2;
    }

    /** The size of the data or unified cache of the given level under dir (sysfs layout), if listed. */
    static OptionalLong read(Path dir, int level) {
        for (int i = 0; i < 16; i++) {
            Path index = dir.resolve("index" + i);
            if (!Files.isDirectory(index)) break;
            try {
                if (Integer.parseInt(Files.readString(index.resolve("level")).trim()) != level) continue;
                if (Files.readString(index.resolve("type")).trim().equals("Instruction")) continue;
                return OptionalLong.of(parseSize(Files.readString(index.resolve("size")).trim()));
            } catch (IOException | NumberFormatException e) {
                return OptionalLong.empty();
            }
        }
        return OptionalLong.empty();
    }

    /** "512K", "1024K", "32M" or a plain byte count. */
    static long parseSize(String s) {
        String t = s.toUpperCase(Locale.ROOT);
        long unit = t.endsWith("K") ? 1024 : t.endsWith("M") ? 1024 * 1024 : t.endsWith("G") ? 1L << 30 : 1;
        return Long.parseLong(unit == 1 ? t : t.substring(0, t.length() - 1)) * unit;
    }
}
