package org.realmjava.nativebind.cuda;

import static org.bytedeco.cuda.global.cudart.*;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.bytedeco.javacpp.Loader;
import org.bytedeco.javacpp.SizeTPointer;

/**
 * The entry point to the GPU: discovers CUDA once per JVM, never throwing. {@link #status()} says
 * what is there or exactly why nothing is (the lines {@code realm devices} prints);
 * {@link #context()} gives the device-0 context when available.
 *
 * <p>Discovery order: find libcuda.so.1 (the driver) and libcudart.so.13 on the search path of
 * {@link CudaLibraries} plus {@code -Drealm.cuda.path=dir1:dir2}; load them by absolute path; load
 * the JavaCPP bindings; cuInit; enumerate devices. cuBLAS is loaded the same way but is optional
 * (the custom kernels need only the driver); NVRTC is loaded only when a kernel has to be compiled
 * at run time.
 */
public final class Cuda {
    private Cuda() {}

    private static final class Holder {
        static final CudaStatus STATUS = discover();
        static volatile CudaContext context;
    }

    /** What CUDA this process can use, discovered once. */
    public static CudaStatus status() {
        return Holder.STATUS;
    }

    public static boolean available() {
        return status().available();
    }

    /** The context of GPU 0; throws a one-line {@link CudaException} when CUDA is unavailable. */
    public static CudaContext context() {
        CudaStatus s = status();
        if (!s.available()) throw new CudaException("CUDA unavailable: " + s.reason());
        if (Holder.context == null) {
            synchronized (Holder.class) {
                if (Holder.context == null) Holder.context = new CudaContext(s.gpus().get(0));
            }
        }
        return Holder.context;
    }

    /** The library search path: -Drealm.cuda.path folders first, then the system's. */
    public static CudaLibraries libraries() {
        List<Path> dirs = new ArrayList<>();
        String extra = System.getProperty("realm.cuda.path", "");
        for (String d : extra.split(":")) if (!d.isBlank() && java.nio.file.Files.isDirectory(Path.of(d))) dirs.add(Path.of(d));
        dirs.addAll(CudaLibraries.system().searchPath());
        return new CudaLibraries(dirs);
    }

    private static CudaStatus discover() {
        try {
            return discoverOrThrow();
        } catch (Throwable t) { // discovery must never take the process down: report and use the CPU
            return CudaStatus.unavailable("CUDA discovery failed: " + t);
        }
    }

    private static CudaStatus discoverOrThrow() {
        if (!System.getProperty("os.name", "").toLowerCase().contains("linux") || !System.getProperty("os.arch", "").matches("amd64|x86_64")) {
            return CudaStatus.unavailable("the CUDA path is built for Linux x86-64 only (this is " + System.getProperty("os.name") + " " + System.getProperty("os.arch") + ")");
        }
        CudaLibraries libs = libraries();
        Path driver = libs.find(CudaLibraries.DRIVER);
        if (driver == null) return CudaStatus.unavailable("no NVIDIA driver: " + libs.missing(CudaLibraries.DRIVER));
        Path runtime = libs.find(CudaLibraries.RUNTIME);
        if (runtime == null) return CudaStatus.unavailable("no CUDA 13 runtime: " + libs.missing(CudaLibraries.RUNTIME));
        for (Path p : List.of(driver, runtime)) {
            String err = CudaLibraries.preload(p);
            if (err != null) return CudaStatus.unavailable("cannot load " + err);
        }
        try {
            Loader.load(org.bytedeco.cuda.global.cudart.class);
        } catch (Throwable t) {
            return CudaStatus.unavailable("cannot load the JavaCPP CUDA runtime bindings: " + t.getMessage());
        }
        int rc = cuInit(0);
        if (rc != CUDA_SUCCESS) return CudaStatus.unavailable("cuInit failed: " + CudaCheck.driverErrorName(rc) + " (driver at " + driver + ")");
        int[] v = new int[1];
        CudaCheck.driver(cuDriverGetVersion(v), "cuDriverGetVersion");
        int driverVersion = v[0];
        CudaCheck.runtime(cudaRuntimeGetVersion(v), "cudaRuntimeGetVersion");
        int runtimeVersion = v[0];
        if (driverVersion < runtimeVersion) {
            return CudaStatus.unavailable("the NVIDIA driver supports CUDA " + CudaStatus.version(driverVersion) + " but this build needs CUDA "
                    + CudaStatus.version(runtimeVersion) + " (update the driver)");
        }
        CudaCheck.driver(cuDeviceGetCount(v), "cuDeviceGetCount");
        if (v[0] == 0) return CudaStatus.unavailable("the driver loaded but sees no GPU");
        List<GpuInfo> gpus = new ArrayList<>();
        for (int i = 0; i < v[0]; i++) gpus.add(info(i));
        return new CudaStatus(true, "", List.copyOf(gpus), driverVersion, runtimeVersion, Cublas.probe(libs), nvrtcProbe(libs));
    }

    private static GpuInfo info(int ordinal) {
        int[] dev = new int[1];
        CudaCheck.driver(cuDeviceGet(dev, ordinal), "cuDeviceGet");
        byte[] name = new byte[256];
        CudaCheck.driver(cuDeviceGetName(name, name.length, dev[0]), "cuDeviceGetName");
        int len = 0;
        while (len < name.length && name[len] != 0) len++;
        SizeTPointer mem = new SizeTPointer(1);
        CudaCheck.driver(cuDeviceTotalMem(mem, dev[0]), "cuDeviceTotalMem");
        return new GpuInfo(ordinal, new String(name, 0, len, java.nio.charset.StandardCharsets.UTF_8),
                attribute(CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MAJOR, dev[0]), attribute(CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MINOR, dev[0]),
                mem.get(), attribute(CU_DEVICE_ATTRIBUTE_MULTIPROCESSOR_COUNT, dev[0]), optionalAttribute(CU_DEVICE_ATTRIBUTE_MEMORY_CLOCK_RATE, dev[0]),
                optionalAttribute(CU_DEVICE_ATTRIBUTE_GLOBAL_MEMORY_BUS_WIDTH, dev[0]), attribute(CU_DEVICE_ATTRIBUTE_MAX_SHARED_MEMORY_PER_BLOCK_OPTIN, dev[0]),
                optionalAttribute(CU_DEVICE_ATTRIBUTE_CLOCK_RATE, dev[0]));
    }

    private static int attribute(int attr, int dev) {
        int[] v = new int[1];
        CudaCheck.driver(cuDeviceGetAttribute(v, attr, dev), "cuDeviceGetAttribute(" + attr + ")");
        return v[0];
    }

    /** Clock and bus attributes only feed the "% of peak" figures (and are deprecated in CUDA 13): 0 when unreadable. */
    private static int optionalAttribute(int attr, int dev) {
        int[] v = new int[1];
        return cuDeviceGetAttribute(v, attr, dev) == CUDA_SUCCESS ? v[0] : 0;
    }

    private static String nvrtcProbe(CudaLibraries libs) {
        Path p = libs.find(CudaLibraries.NVRTC);
        return p == null ? "not found (" + libs.missing(CudaLibraries.NVRTC) + "; needed only for kernels without a compiled fatbin)"
                : "found at " + p.getParent();
    }
}
