package org.realmjava.tensor.simd;

import java.lang.foreign.MemorySegment;

/**
 * Picks the GEMM per shape. The rule comes from measurement (docs/benchmarks.md, GemmBenchmark):
 * on the 2-core development machine OpenBLAS's AVX-512 kernel leads on large shapes, so work of at
 * least {@link #BLAS_MIN_FLOPS} goes there; smaller products stay in the Java kernel, which has no
 * native call or thread hand-off cost and runs inside our own pool (batched attention GEMMs run one
 * per worker). {@code -Drealm.gemm=simd|blas} forces one side for experiments.
 */
public final class ShapeChoosingGemm implements GemmKernel {
    /** 2*m*n*k at or above which OpenBLAS is used. */
    public static final long BLAS_MIN_FLOPS = 2L * 64 * 64 * 64;
    private static final String FORCED = System.getProperty("realm.gemm", "auto");

    private final GemmKernel small;
    private final GemmKernel large;

    public ShapeChoosingGemm(GemmKernel small, GemmKernel large) {
        this.small = small;
        this.large = large;
    }

    @Override
    public String name() {
        return small.name() + "|" + large.name();
    }

    /** The kernel that runs this shape. */
    public GemmKernel choose(int m, int n, int k) {
        return switch (FORCED) {
            case "simd" -> small;
            case "blas" -> large;
            default -> 2L * m * n * k >= BLAS_MIN_FLOPS && !org.realmjava.tensor.parallel.Parallel.inWorker() ? large : small;
        };
    }

    @Override
    public void gemm(boolean transA, boolean transB, int m, int n, int k, float alpha,
                     MemorySegment a, int lda, MemorySegment b, int ldb, float beta, MemorySegment c, int ldc) {
        choose(m, n, k).gemm(transA, transB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
    }
}
