package org.realmjava.nativebind.cuda;

/**
 * Prints what CUDA this process can use and how the kernels were built (the GPU bundle's first
 * step). Exit status 0 with a usable GPU, 3 without one (the reason is printed).
 */
public final class CudaInfo {
    private CudaInfo() {}

    public static void main(String[] args) {
        CudaStatus s = Cuda.status();
        s.lines().forEach(System.out::println);
        var info = KernelModules.buildInfo();
        System.out.println("kernels: families " + info.getProperty("families", "?").strip() + "; "
                + ("true".equals(info.getProperty("compiled")) ? "fatbins from nvcc " + info.getProperty("nvcc") + " (" + info.getProperty("archs") + ")"
                        : "sources only (" + info.getProperty("reason", "?") + "), compiled with NVRTC at first use"));
        System.exit(s.available() ? 0 : 3);
    }
}
