package org.realmjava.tensor.simd;

import java.lang.foreign.MemorySegment;
import org.realmjava.nativebind.OpenBlas;
import org.realmjava.tensor.parallel.Parallel;

/**
 * SGEMM through OpenBLAS on the tensors' own off-heap memory (no copy). Only valid for
 * native segments; the tensor layer allocates all tensors off-heap.
 *
 * <p>Threads: by default ({@code -Drealm.blas.threads=pool}) OpenBLAS runs single-threaded and our
 * own worker pool splits C into slabs (of rows, or of columns when C is wider than tall), one sgemm
 * per worker. OpenBLAS's own threads spin after
 * each call and, on a 2-core machine, took the cores from the element-wise ops that follow every
 * GEMM in a model (measured in docs/benchmarks.md: MiniLM B=32 forward 720 ms with OpenBLAS threads
 * against 645 ms with the Java GEMM alone). {@code openblas} keeps OpenBLAS's own threading.
 */
public final class OpenBlasGemm implements GemmKernel {
    /** Slabs are a multiple of this many rows or columns (OpenBLAS's register blocks stay whole). */
    private static final int ROW_ALIGN = 16;
    private static final boolean POOL = !"openblas".equals(System.getProperty("realm.blas.threads", "pool"));

    static {
        if (POOL && OpenBlas.available()) OpenBlas.setThreads(1);
    }

    @Override
    public String name() {
        return POOL ? "openblas" : "openblas-threads";
    }

    @Override
    public void gemm(boolean transA, boolean transB, int m, int n, int k, float alpha,
                     MemorySegment a, int lda, MemorySegment b, int ldb, float beta, MemorySegment c, int ldc) {
        if (m == 0 || n == 0) return;
        boolean byColumns = n > m; // split the longer side of C: each worker packs only its part of the other operand
        int slabs = Math.min(Parallel.threads(), (byColumns ? n : m) / ROW_ALIGN);
        if (!POOL || slabs <= 1 || 2L * m * n * k < 2 * SimdGemm.PARALLEL_MIN_FLOPS || Parallel.inWorker()) {
            OpenBlas.sgemm(transA, transB, m, n, k, alpha, a.address(), Math.max(1, lda), b.address(), Math.max(1, ldb),
                    beta, c.address(), Math.max(1, ldc));
            return;
        }
        int blocks = ((byColumns ? n : m) + ROW_ALIGN - 1) / ROW_ALIGN;
        Parallel.forRange(blocks, (blocks + slabs - 1) / slabs, (s, e) -> {
            if (byColumns) {
                // columns j0..j1 of op(B) and C: with transB they are rows of the stored B
                int j0 = (int) s * ROW_ALIGN, j1 = (int) Math.min(n, e * ROW_ALIGN);
                long bOff = transB ? (long) j0 * ldb : j0;
                OpenBlas.sgemm(transA, transB, m, j1 - j0, k, alpha, a.address(), Math.max(1, lda), b.address() + 4 * bOff, Math.max(1, ldb),
                        beta, c.address() + 4L * j0, Math.max(1, ldc));
            } else {
                // rows r0..r1 of op(A) and C: with transA they are columns of the stored A
                int r0 = (int) s * ROW_ALIGN, r1 = (int) Math.min(m, e * ROW_ALIGN);
                long aOff = transA ? r0 : (long) r0 * lda;
                OpenBlas.sgemm(transA, transB, r1 - r0, n, k, alpha, a.address() + 4 * aOff, Math.max(1, lda), b.address(), Math.max(1, ldb),
                        beta, c.address() + 4L * r0 * ldc, Math.max(1, ldc));
            }
        });
    }
}
