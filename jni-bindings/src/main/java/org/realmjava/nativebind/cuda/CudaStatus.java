package org.realmjava.nativebind.cuda;

import java.util.List;

/**
 * What CUDA this process can use: the GPUs and versions, or exactly why none (no driver, no
 * libcudart, no device, ...). Optional libraries (cuBLAS, NVRTC) are reported separately: the
 * custom kernels run without them.
 */
public record CudaStatus(boolean available, String reason, List<GpuInfo> gpus, int driverVersion, int runtimeVersion,
                         String cublas, String nvrtc) {

    static CudaStatus unavailable(String reason) {
        return new CudaStatus(false, reason, List.of(), 0, 0, "not checked", "not checked");
    }

    /** "13.0" from CUDA's 13000-style version numbers. */
    public static String version(int v) {
        return v <= 0 ? "?" : (v / 1000) + "." + (v % 1000) / 10;
    }

    /** Lines for {@code realm devices}. */
    public List<String> lines() {
        if (!available) return List.of("CUDA: unavailable: " + reason + "; using the CPU path");
        List<String> out = new java.util.ArrayList<>();
        out.add("CUDA: driver " + version(driverVersion) + ", runtime " + version(runtimeVersion) + ", " + gpus.size() + " GPU(s); cuBLAS: "
                + cublas + "; NVRTC: " + nvrtc);
        for (GpuInfo g : gpus) out.add("  " + g.describe());
        return out;
    }
}
