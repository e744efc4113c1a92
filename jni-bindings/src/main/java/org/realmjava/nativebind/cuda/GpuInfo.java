package org.realmjava.nativebind.cuda;

import java.util.Locale;

/** One GPU as the driver reports it. Peak figures are from clocks and bus width (memory) and SM count. */
public record GpuInfo(int ordinal, String name, int ccMajor, int ccMinor, long totalMemory, int multiprocessors,
                      int memoryClockKHz, int memoryBusBits, int maxSharedPerBlockOptin) {

    /** Theoretical DRAM bandwidth: 2 transfers per clock (DDR) x bus width. */
    public double peakBandwidthGBs() {
        return 2.0 * memoryClockKHz * 1e3 * (memoryBusBits / 8.0) / 1e9;
    }

    public String describe() {
        return String.format(Locale.ROOT, "GPU %d: %s, compute capability %d.%d, %.1f GiB, %d SMs, ~%.0f GB/s peak memory bandwidth",
                ordinal, name, ccMajor, ccMinor, totalMemory / (double) (1L << 30), multiprocessors, peakBandwidthGBs());
    }
}
