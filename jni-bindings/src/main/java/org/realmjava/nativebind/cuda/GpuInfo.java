package org.realmjava.nativebind.cuda;

import java.util.Locale;

/** One GPU as the driver reports it. Peak figures are from clocks and bus width (memory) and SM count. */
public record GpuInfo(int ordinal, String name, int ccMajor, int ccMinor, long totalMemory, int multiprocessors,
                      int memoryClockKHz, int memoryBusBits, int maxSharedPerBlockOptin, int clockKHz) {

    /** Theoretical DRAM bandwidth: 2 transfers per clock (DDR) x bus width. */
    public double peakBandwidthGBs() {
        return 2.0 * memoryClockKHz * 1e3 * (memoryBusBits / 8.0) / 1e9;
    }

    /**
     * Dense peak TFLOP/s from SM count x boost clock x per-SM rates of the architecture (f32 on CUDA
     * cores; bf16 on tensor cores), or 0 for an architecture not in the table.
     */
    public double peakTflops(boolean bf16Tensor) {
        int perSmPerClock = switch (ccMajor * 10 + ccMinor) {
            case 80 -> bf16Tensor ? 2048 : 128;      // A100
            case 86, 87, 89 -> bf16Tensor ? 1024 : 256; // consumer Ampere / Ada (dense)
            case 90 -> bf16Tensor ? 4096 : 256;      // H100 / H200
            case 100, 103 -> bf16Tensor ? 8192 : 256; // Blackwell datacenter
            default -> 0;
        };
        return perSmPerClock * (double) multiprocessors * clockKHz * 1e3 / 1e12;
    }

    public String describe() {
        return String.format(Locale.ROOT, "GPU %d: %s, compute capability %d.%d, %.1f GiB, %d SMs, ~%.0f GB/s peak memory bandwidth",
                ordinal, name, ccMajor, ccMinor, totalMemory / (double) (1L << 30), multiprocessors, peakBandwidthGBs());
    }
}
