package org.realmjava.tensor.simd;

import java.lang.foreign.MemorySegment;
import org.realmjava.nativebind.OpenBlas;

/**
 * SGEMM through OpenBLAS on the tensors' own off-heap memory (no copy). Only valid for
 * native segments; the tensor layer allocates all tensors off-heap.
 */
public final class OpenBlasGemm implements GemmKernel {
    @Override
    public String name() {
        return "openblas";
    }

    @Override
    public void gemm(boolean transA, boolean transB, int m, int n, int k, float alpha,
                     MemorySegment a, int lda, MemorySegment b, int ldb, float beta, MemorySegment c, int ldc) {
        if (m == 0 || n == 0) return;
        OpenBlas.sgemm(transA, transB, m, n, k, alpha, a.address(), Math.max(1, lda), b.address(), Math.max(1, ldb),
                beta, c.address(), Math.max(1, ldc));
    }
}
