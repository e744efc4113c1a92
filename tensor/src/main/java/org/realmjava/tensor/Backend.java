package org.realmjava.tensor;

import org.realmjava.tensor.kernels.Kernels;
import org.realmjava.tensor.kernels.ScalarKernels;
import org.realmjava.tensor.simd.GemmKernel;
import org.realmjava.tensor.simd.OpenBlasGemm;
import org.realmjava.tensor.simd.ShapeChoosingGemm;
import org.realmjava.tensor.simd.SimdGemm;
import org.realmjava.tensor.simd.SimdKernels;
import org.realmjava.tensor.simd.SimdSpecies;
import org.realmjava.nativebind.OpenBlas;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Where tensor ops run. Chosen once per JVM (holder idiom) from {@code -Drealm.backend=auto|scalar|simd|cuda}
 * and logged once; model code never asks which backend it runs on. {@code auto} takes CUDA when a
 * GPU, its driver and cuBLAS load, else the CPU. A forced backend that is not available is an
 * error; {@code auto} falls back with a notice.
 */
public interface Backend {
    String name();

    Kernels kernels();

    /** The backend of this JVM. */
    static Backend current() {
        return Holder.CURRENT;
    }

    /**
     * The CPU backend: Vector API kernels, GEMM per shape from OpenBLAS or the Vector API kernel.
     * OpenBLAS takes the large shapes only when its kernels are at least as wide as the JVM's
     * vectors: with OPENBLAS_CORETYPE=Haswell on an AVX-512 machine (set in some environments,
     * since older OpenBLAS builds misbehave on new cores) its AVX2 kernel made MiniLM at B=32
     * L=128 0.59x ONNX Runtime against 0.98x with our 512-bit GEMM for every shape.
     */
    static Backend cpu() {
        boolean blas = OpenBlas.available() && (OpenBlas.kernelVectorBits(OpenBlas.coreName()) >= SimdSpecies.FLOAT.vectorBitSize()
                || "blas".equals(System.getProperty("realm.gemm"))); // -Drealm.gemm=blas still forces it (experiments)
        GemmKernel gemm = blas ? new ShapeChoosingGemm(new SimdGemm(), new OpenBlasGemm()) : new SimdGemm();
        SimdKernels k = new SimdKernels(gemm);
        return of("cpu-" + k.name(), k);
    }

    /**
     * The CUDA backend on GPU 0 (cuBLAS GEMMs and the kernels of kernels/elementwise.cu; the other
     * ops on the CPU kernels), or null with the reason logged when CUDA or cuBLAS is unavailable.
     */
    static Backend cudaOrNull() {
        var status = org.realmjava.nativebind.cuda.Cuda.status();
        if (!status.available()) return null;
        try {
            var ctx = org.realmjava.nativebind.cuda.Cuda.context();
            ctx.cublas();
            org.realmjava.tensor.cuda.CudaKernels k = new org.realmjava.tensor.cuda.CudaKernels(ctx, cpu().kernels());
            return of(k.name(), k);
        } catch (org.realmjava.nativebind.cuda.CudaException e) {
            LoggerFactory.getLogger(Backend.class).info("CUDA backend unavailable: {}", e.getMessage());
            return null;
        }
    }

    /** The scalar reference backend (slow; for tests and as the last resort). */
    static Backend scalar() {
        return of("scalar-reference", new ScalarKernels());
    }

    static Backend of(String name, Kernels kernels) {
        return new Backend() {
            @Override
            public String name() {
                return name;
            }

            @Override
            public Kernels kernels() {
                return kernels;
            }

            @Override
            public String toString() {
                return name;
            }
        };
    }

    final class Holder {
        private static final Logger LOG = LoggerFactory.getLogger(Backend.class);
        static final Backend CURRENT = choose(System.getProperty("realm.backend", "auto"));

        private Holder() {}

        private static Backend choose(String wanted) {
            Backend b = switch (wanted.trim()) {
                case "scalar" -> scalar();
                case "simd", "cpu" -> cpu();
                case "auto", "" -> {
                    if ("none".equals(System.getProperty("realm.vectorbits"))) yield scalar();
                    Backend gpu = cudaOrNull();
                    yield gpu != null ? gpu : cpu();
                }
                case "cuda" -> {
                    Backend gpu = cudaOrNull();
                    if (gpu == null) {
                        var st = org.realmjava.nativebind.cuda.Cuda.status();
                        throw new IllegalStateException("realm.backend=cuda: " + (st.available() ? "cuBLAS " + st.cublas() : st.reason()));
                    }
                    yield gpu;
                }
                default -> throw new IllegalArgumentException("realm.backend must be auto, scalar, simd or cuda, not '" + wanted + "'");
            };
            LOG.info("backend: {} (vector width {} bits, {} threads)", b.name(), SimdSpecies.FLOAT.vectorBitSize(),
                    org.realmjava.tensor.parallel.Parallel.threads());
            return b;
        }
    }
}
