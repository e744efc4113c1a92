package org.realmjava.nativebind;

/**
 * What compute this machine offers, answered without ever throwing: OpenBLAS and CUDA (the CPU
 * and SIMD width are reported by the tensor module).
 */
public final class DeviceReport {
    private DeviceReport() {}

    /** Lines on CUDA: driver and runtime versions and each GPU, or exactly why CUDA is unavailable. */
    public static java.util.List<String> cudaLines() {
        return org.realmjava.nativebind.cuda.Cuda.status().lines();
    }

    /** One line on OpenBLAS. */
    public static String openBlasLine() {
        return OpenBlas.available()
                ? "OpenBLAS: " + OpenBlas.config()
                : "OpenBLAS: unavailable (" + OpenBlas.loadError() + "); GEMM uses the Vector API kernel only";
    }
}
