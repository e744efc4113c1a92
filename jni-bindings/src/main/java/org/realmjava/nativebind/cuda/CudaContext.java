package org.realmjava.nativebind.cuda;

import static org.bytedeco.cuda.global.cudart.*;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import org.bytedeco.cuda.cudart.CUctx_st;
import org.bytedeco.cuda.cudart.CUfunc_st;
import org.bytedeco.cuda.cudart.CUmod_st;
import org.bytedeco.cuda.cudart.CUstream_st;
import org.bytedeco.javacpp.Pointer;
import org.bytedeco.javacpp.PointerPointer;

/**
 * One GPU's primary context: device memory (through a {@link CachingAllocator}), copies, the
 * kernel modules of {@code kernels/} and launches, and a lazily created cuBLAS handle. Every public
 * method makes the context current on the calling thread first, so any thread may use it. Work is
 * issued on the legacy default stream unless a {@link CudaStream} is given, so a copy back to the
 * host waits for the kernels before it.
 */
public final class CudaContext {
    private final GpuInfo gpu;
    private final CUctx_st ctx = new CUctx_st();
    private final CachingAllocator allocator;
    private final Map<String, CUmod_st> modules = new ConcurrentHashMap<>();
    private final Map<String, Kernel> kernels = new ConcurrentHashMap<>();
    private final Map<String, String> moduleOrigins = new ConcurrentHashMap<>();
    private volatile Cublas cublas;

    /** A loaded kernel: family (the .cu file), entry name and its function handle. */
    public record Kernel(String family, String name, CUfunc_st function) {}

    CudaContext(GpuInfo gpu) {
        this.gpu = gpu;
        int[] dev = new int[1];
        CudaCheck.driver(cuDeviceGet(dev, gpu.ordinal()), "cuDeviceGet");
        CudaCheck.driver(cuDevicePrimaryCtxRetain(ctx, dev[0]), "cuDevicePrimaryCtxRetain");
        makeCurrent();
        this.allocator = new CachingAllocator(new CachingAllocator.Raw() {
            @Override
            public long alloc(long bytes) {
                makeCurrent();
                long[] p = new long[1];
                CudaCheck.driver(cuMemAlloc(p, bytes), "cuMemAlloc(" + bytes + " bytes)");
                return p[0];
            }

            @Override
            public void free(long ptr) {
                makeCurrent();
                CudaCheck.driver(cuMemFree(ptr), "cuMemFree");
            }
        });
    }

    public GpuInfo gpu() {
        return gpu;
    }

    public CachingAllocator allocator() {
        return allocator;
    }

    public void makeCurrent() {
        CudaCheck.driver(cuCtxSetCurrent(ctx), "cuCtxSetCurrent");
    }

    /** Device memory of at least {@code bytes} bytes (contents undefined). */
    public DeviceBuffer alloc(long bytes) {
        makeCurrent();
        return new DeviceBuffer(this, allocator.allocate(bytes), bytes);
    }

    /** A device copy of a native host segment. */
    public DeviceBuffer upload(MemorySegment host) {
        return alloc(host.byteSize()).upload(host);
    }

    public DeviceBuffer upload(float[] values) {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment s = a.allocate((long) values.length * 4, 64);
            MemorySegment.copy(values, 0, s, ValueLayout.JAVA_FLOAT, 0, values.length);
            return upload(s);
        }
    }

    public DeviceBuffer upload(int[] values) {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment s = a.allocate((long) values.length * 4, 64);
            MemorySegment.copy(values, 0, s, ValueLayout.JAVA_INT, 0, values.length);
            return upload(s);
        }
    }

    public float[] downloadFloats(DeviceBuffer b, int count) {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment s = a.allocate((long) count * 4, 64);
            b.download(s);
            return s.toArray(ValueLayout.JAVA_FLOAT);
        }
    }

    public int[] downloadInts(DeviceBuffer b, int count) {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment s = a.allocate((long) count * 4, 64);
            b.download(s);
            return s.toArray(ValueLayout.JAVA_INT);
        }
    }

    void copyToDevice(long dst, MemorySegment src, long bytes) {
        if (bytes == 0) return;
        makeCurrent();
        CudaCheck.driver(cuMemcpyHtoD(dst, Pointers.of(src), bytes), "cuMemcpyHtoD(" + bytes + " bytes)");
    }

    void copyToHost(MemorySegment dst, long src, long bytes) {
        if (bytes == 0) return;
        makeCurrent();
        CudaCheck.driver(cuMemcpyDtoH(Pointers.of(dst), src, bytes), "cuMemcpyDtoH(" + bytes + " bytes)");
    }

    /** Device-to-device copy of {@code bytes} bytes. */
    public void copy(long dst, long src, long bytes) {
        if (bytes == 0) return;
        makeCurrent();
        CudaCheck.driver(cuMemcpyDtoD(dst, src, bytes), "cuMemcpyDtoD(" + bytes + " bytes)");
    }

    void memsetZero(long ptr, long bytes) {
        makeCurrent();
        CudaCheck.driver(cuMemsetD8(ptr, (byte) 0, bytes), "cuMemsetD8");
    }

    /** Waits for all work on this context. */
    public void synchronize() {
        makeCurrent();
        CudaCheck.driver(cuCtxSynchronize(), "cuCtxSynchronize");
    }

    /** A kernel of family {@code family} (kernels/src/main/cuda/family.cu), loaded on first use. */
    public Kernel kernel(String family, String name) {
        return kernels.computeIfAbsent(family + "/" + name, key -> {
            makeCurrent();
            CUfunc_st f = new CUfunc_st();
            CudaCheck.driver(cuModuleGetFunction(f, module(family), name), "cuModuleGetFunction(" + family + "/" + name + ")");
            return new Kernel(family, name, f);
        });
    }

    /** "fatbin" or "NVRTC (...)": how a loaded family got here. */
    public String moduleOrigin(String family) {
        return moduleOrigins.getOrDefault(family, "not loaded");
    }

    private CUmod_st module(String family) {
        return modules.computeIfAbsent(family, f -> {
            KernelModules.Image image = KernelModules.image(f, gpu);
            CUmod_st m = new CUmod_st();
            org.bytedeco.javacpp.BytePointer bytes = new org.bytedeco.javacpp.BytePointer(image.bytes());
            int rc = cuModuleLoadData(m, bytes);
            if (rc != CUDA_SUCCESS && image.fromFatbin()) {
                // e.g. a GPU newer than the fatbin's SASS whose driver cannot JIT its PTX: compile for it
                KernelModules.Image jit = KernelModules.compile(f, gpu);
                rc = cuModuleLoadData(m, new org.bytedeco.javacpp.BytePointer(jit.bytes()));
                image = jit;
            }
            CudaCheck.driver(rc, "cuModuleLoadData(" + f + ", " + image.origin() + ")");
            moduleOrigins.put(f, image.origin());
            return m;
        });
    }

    /** Raises a kernel's dynamic shared memory limit (above the default 48 KiB needs this). */
    public void allowSharedMemory(Kernel k, int bytes) {
        if (bytes > gpu.maxSharedPerBlockOptin()) {
            throw new CudaException(k.name() + " needs " + bytes + " bytes of shared memory; " + gpu.name() + " allows "
                    + gpu.maxSharedPerBlockOptin());
        }
        makeCurrent();
        CudaCheck.driver(cuFuncSetAttribute(k.function(), CU_FUNC_ATTRIBUTE_MAX_DYNAMIC_SHARED_SIZE_BYTES, bytes),
                "cuFuncSetAttribute(" + k.name() + ", max dynamic shared " + bytes + ")");
    }

    /**
     * Launches a kernel on the default stream. Arguments, in the kernel's parameter order: a
     * {@link DeviceBuffer} or null (a pointer), Long (long long or a raw device pointer), Integer,
     * Float.
     */
    public void launch(Kernel k, int gridX, int gridY, int blockX, int sharedBytes, Object... args) {
        launch(k, gridX, gridY, blockX, sharedBytes, null, args);
    }

    public void launch(Kernel k, int gridX, int gridY, int blockX, int sharedBytes, CudaStream stream, Object... args) {
        if (gridX <= 0 || gridY <= 0) return; // nothing to do (empty input)
        makeCurrent();
        try (Arena a = Arena.ofConfined()) {
            MemorySegment slots = a.allocate(8L * Math.max(1, args.length), 8);
            PointerPointer<Pointer> params = new PointerPointer<>(Math.max(1, args.length));
            for (int i = 0; i < args.length; i++) {
                long at = 8L * i;
                Object v = args[i];
                switch (v) {
                    case null -> slots.set(ValueLayout.JAVA_LONG, at, 0L);
                    case DeviceBuffer b -> slots.set(ValueLayout.JAVA_LONG, at, b.address());
                    case Long l -> slots.set(ValueLayout.JAVA_LONG, at, l);
                    case Integer n -> slots.set(ValueLayout.JAVA_INT, at, n);
                    case Float f -> slots.set(ValueLayout.JAVA_FLOAT, at, f);
                    default -> throw new IllegalArgumentException(k.name() + ": argument " + i + " has unsupported type " + v.getClass().getSimpleName());
                }
                params.put(i, Pointers.at(slots.address() + at));
            }
            CUstream_st s = stream == null ? null : stream.handle();
            CudaCheck.driver(cuLaunchKernel(k.function(), gridX, gridY, 1, blockX, 1, 1, sharedBytes, s, params, (PointerPointer<?>) null),
                    "cuLaunchKernel(" + k.family() + "/" + k.name() + ", grid " + gridX + "x" + gridY + ", block " + blockX + ", shared " + sharedBytes + ")");
        }
    }

    /** cuBLAS on this context (loaded on first use; throws a one-line CudaException when it is missing). */
    public Cublas cublas() {
        if (cublas == null) {
            synchronized (this) {
                if (cublas == null) {
                    makeCurrent();
                    cublas = Cublas.create(this);
                }
            }
        }
        return cublas;
    }
}
