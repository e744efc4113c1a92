package org.realmjava.tensor.simd;

import java.lang.foreign.MemorySegment;

/** One implementation of row-major SGEMM; see {@code Kernels.gemm} for the contract. */
public interface GemmKernel {
    String name();

    void gemm(boolean transA, boolean transB, int m, int n, int k, float alpha,
              MemorySegment a, int lda, MemorySegment b, int ldb, float beta, MemorySegment c, int ldc);
}
