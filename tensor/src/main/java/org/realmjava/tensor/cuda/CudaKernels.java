package org.realmjava.tensor.cuda;

import java.lang.foreign.MemorySegment;
import java.util.Set;
import org.realmjava.nativebind.cuda.CudaContext;
import org.realmjava.nativebind.cuda.DeviceBuffer;
import org.realmjava.tensor.kernels.BinaryOp;
import org.realmjava.tensor.kernels.Kernels;
import org.realmjava.tensor.kernels.UnaryOp;

/**
 * The {@link Kernels} contract on a GPU: GEMMs through cuBLAS and the row, normalization, GELU and
 * AdamW kernels of {@code kernels/elementwise.cu}; the remaining ops run on the CPU kernels given
 * at construction ({@link #ON_GPU} lists which run where).
 *
 * <p>Tensors live in host memory, so each call copies its operands to the device and the results
 * back (through the caching allocator: no cudaMalloc per call). That makes this backend right for
 * checking every GPU kernel against the scalar reference with the same op suite as the CPU
 * backends, and worthwhile for large GEMMs; device-resident tensors, which keep activations on the
 * GPU between ops, are the step after it (docs/architecture.md). The kernels that matter most for
 * REALM (attention, MIPS top-k, marginal likelihood) have device-level entry points of their own:
 * {@link CudaAttention}, {@link CudaRealmLoss}, and the mips module's GpuFlatIndex.
 */
public final class CudaKernels implements Kernels {
    /** Ops of this class that run on the GPU (the others delegate to the CPU kernels). */
    public static final Set<String> ON_GPU = Set.of("gemm", "gemmBf16B", "softmaxRows", "scaledMaskedSoftmaxRows", "layerNormRows",
            "layerNormRowsBackward", "unary(GELU_ERF)", "unaryBackward(GELU_ERF)", "adamw",
            "marginalLogLikelihood", "marginalLogLikelihoodBackward");

    private static final String EW = "elementwise";
    private static final int THREADS = 256;

    private final CudaContext ctx;
    private final Kernels cpu;

    public CudaKernels(CudaContext ctx, Kernels cpu) {
        this.ctx = ctx;
        this.cpu = cpu;
    }

    @Override
    public String name() {
        return "cuda[" + ctx.gpu().name() + "]+" + cpu.name();
    }

    private DeviceBuffer up(MemorySegment s, long floats) {
        return ctx.alloc(Math.max(4, floats * 4)).upload(s.asSlice(0, floats * 4));
    }

    private static void down(DeviceBuffer b, MemorySegment s, long floats) {
        b.download(s.asSlice(0, floats * 4));
    }

    private static int gridFor(long n) {
        return (int) Math.max(1, Math.min((n + THREADS - 1) / THREADS, 65_535L * 8));
    }

    // ---------------------------------------------------------------- GPU ops

    @Override
    public void unary(UnaryOp op, MemorySegment x, MemorySegment y, long n) {
        if (op != UnaryOp.GELU_ERF || n == 0) {
            cpu.unary(op, x, y, n);
            return;
        }
        try (DeviceBuffer dx = up(x, n); DeviceBuffer dy = ctx.alloc(n * 4)) {
            ctx.launch(ctx.kernel(EW, "gelu_fwd"), gridFor(n), 1, THREADS, 0, dx, dy, n);
            down(dy, y, n);
        }
    }

    @Override
    public void unaryBackward(UnaryOp op, MemorySegment x, MemorySegment y, MemorySegment dy, MemorySegment dx, long n) {
        if (op != UnaryOp.GELU_ERF || n == 0) {
            cpu.unaryBackward(op, x, y, dy, dx, n);
            return;
        }
        try (DeviceBuffer bx = up(x, n); DeviceBuffer bdy = up(dy, n); DeviceBuffer bdx = up(dx, n)) {
            ctx.launch(ctx.kernel(EW, "gelu_bwd"), gridFor(n), 1, THREADS, 0, bx, bdy, bdx, n);
            down(bdx, dx, n);
        }
    }

    @Override
    public void softmaxRows(MemorySegment x, MemorySegment y, long rows, long cols) {
        softmax(x, 1f, null, 1, y, rows, cols);
    }

    @Override
    public void scaledMaskedSoftmaxRows(MemorySegment x, float scale, MemorySegment mask, long rowsPerMask, MemorySegment y, long rows, long cols) {
        softmax(x, scale, mask, rowsPerMask, y, rows, cols);
    }

    private void softmax(MemorySegment x, float scale, MemorySegment mask, long rowsPerMask, MemorySegment y, long rows, long cols) {
        if (rows == 0 || cols == 0) return;
        long n = rows * cols;
        try (DeviceBuffer bx = up(x, n); DeviceBuffer by = ctx.alloc(n * 4);
             DeviceBuffer bm = mask == null ? null : up(mask, rows / rowsPerMask * cols)) {
            ctx.launch(ctx.kernel(EW, "softmax_rows"), (int) rows, 1, THREADS, 0, bx, bm, rowsPerMask, scale, by, (int) cols);
            down(by, y, n);
        }
    }

    @Override
    public void layerNormRows(MemorySegment x, MemorySegment gamma, MemorySegment beta, MemorySegment y, MemorySegment mean,
                              MemorySegment rstd, long rows, long cols, float eps) {
        if (rows == 0) return;
        long n = rows * cols;
        try (DeviceBuffer bx = up(x, n); DeviceBuffer bg = up(gamma, cols); DeviceBuffer bb = up(beta, cols);
             DeviceBuffer by = ctx.alloc(n * 4); DeviceBuffer bmean = ctx.alloc(rows * 4); DeviceBuffer brstd = ctx.alloc(rows * 4)) {
            ctx.launch(ctx.kernel(EW, "layer_norm_fwd"), (int) rows, 1, THREADS, 0, bx, bg, bb, by, bmean, brstd, (int) cols, eps);
            down(by, y, n);
            down(bmean, mean, rows);
            down(brstd, rstd, rows);
        }
    }

    @Override
    public void layerNormRowsBackward(MemorySegment x, MemorySegment gamma, MemorySegment mean, MemorySegment rstd, MemorySegment dy,
                                      MemorySegment dx, MemorySegment dgamma, MemorySegment dbeta, long rows, long cols) {
        if (rows == 0) return;
        long n = rows * cols;
        long chunkRows = 64;
        int chunks = (int) ((rows + chunkRows - 1) / chunkRows);
        try (DeviceBuffer bx = up(x, n); DeviceBuffer bg = up(gamma, cols); DeviceBuffer bmean = up(mean, rows);
             DeviceBuffer brstd = up(rstd, rows); DeviceBuffer bdy = up(dy, n); DeviceBuffer bdx = up(dx, n);
             DeviceBuffer bdg = up(dgamma, cols); DeviceBuffer bdb = up(dbeta, cols); DeviceBuffer partial = ctx.alloc(2L * chunks * cols * 4)) {
            ctx.launch(ctx.kernel(EW, "layer_norm_bwd_dx"), (int) rows, 1, THREADS, 0, bx, bg, bmean, brstd, bdy, bdx, (int) cols);
            int colBlocks = (int) ((cols + THREADS - 1) / THREADS);
            ctx.launch(ctx.kernel(EW, "layer_norm_bwd_params"), colBlocks, chunks, THREADS, 0, bx, bmean, brstd, bdy, rows, (int) cols, chunkRows, partial);
            ctx.launch(ctx.kernel(EW, "layer_norm_bwd_params_finish"), colBlocks, 1, THREADS, 0, partial, chunks, (int) cols, bdg, bdb);
            down(bdx, dx, n);
            down(bdg, dgamma, cols);
            down(bdb, dbeta, cols);
        }
    }

    /** Elements a GEMM operand of rows x cols with leading dimension ld spans. */
    private static long span(long rows, long cols, long ld) {
        return rows == 0 || cols == 0 ? 0 : (rows - 1) * ld + cols;
    }

    /** Elements op(A) ([m, k]) spans as stored. */
    private static long spanA(boolean transA, int m, int k, int lda) {
        return transA ? span(k, m, lda) : span(m, k, lda);
    }

    /** Elements op(B) ([k, n]) spans as stored. */
    private static long spanB(boolean transB, int n, int k, int ldb) {
        return transB ? span(n, k, ldb) : span(k, n, ldb);
    }

    @Override
    public void gemm(boolean transA, boolean transB, int m, int n, int k, float alpha, MemorySegment a, int lda, MemorySegment b, int ldb,
                     float beta, MemorySegment c, int ldc) {
        if (m == 0 || n == 0) return;
        long sa = spanA(transA, m, k, lda), sb = spanB(transB, n, k, ldb), sc = span(m, n, ldc);
        try (DeviceBuffer ba = up(a, sa); DeviceBuffer bb = up(b, sb); DeviceBuffer bc = up(c, sc)) {
            ctx.cublas().sgemm(transA, transB, m, n, k, alpha, ba.address(), Math.max(1, lda), bb.address(), Math.max(1, ldb), beta, bc.address(), Math.max(1, ldc));
            down(bc, c, sc);
        }
    }

    @Override
    public void gemmBf16B(boolean transA, boolean transB, int m, int n, int k, float alpha, MemorySegment a, int lda, MemorySegment b, int ldb,
                          float beta, MemorySegment c, int ldc) {
        if (m == 0 || n == 0) return;
        long sa = spanA(transA, m, k, lda), sb = spanB(transB, n, k, ldb), sc = span(m, n, ldc);
        // B widened on the device (exact), then the f32 GEMM: the same numbers as the CPU contract
        try (DeviceBuffer ba = up(a, sa); DeviceBuffer b16 = ctx.alloc(Math.max(2, sb * 2)).upload(b.asSlice(0, sb * 2));
             DeviceBuffer bb = ctx.alloc(Math.max(4, sb * 4)); DeviceBuffer bc = up(c, sc)) {
            ctx.launch(ctx.kernel(EW, "cast_bf16_f32"), gridFor(sb), 1, THREADS, 0, b16, bb, sb);
            ctx.cublas().sgemm(transA, transB, m, n, k, alpha, ba.address(), Math.max(1, lda), bb.address(), Math.max(1, ldb), beta, bc.address(), Math.max(1, ldc));
            down(bc, c, sc);
        }
    }

    @Override
    public void adamw(MemorySegment param, MemorySegment grad, MemorySegment m, MemorySegment v, long n, float lr, float beta1, float beta2,
                      float eps, float weightDecay, float bc1, float bc2) {
        if (n == 0) return;
        try (DeviceBuffer bp = up(param, n); DeviceBuffer bg = up(grad, n); DeviceBuffer bm = up(m, n); DeviceBuffer bv = up(v, n)) {
            ctx.launch(ctx.kernel(EW, "adamw_step"), gridFor(n), 1, THREADS, 0, bp, bg, bm, bv, n, lr, beta1, beta2, eps, weightDecay, bc1, bc2);
            down(bp, param, n);
            down(bm, m, n);
            down(bv, v, n);
        }
    }

    // ---------------------------------------------------------------- CPU ops (see ON_GPU)

    @Override
    public void binary(BinaryOp op, MemorySegment a, MemorySegment b, MemorySegment c, long n) {
        cpu.binary(op, a, b, c, n);
    }

    @Override
    public void binaryRow(BinaryOp op, MemorySegment a, MemorySegment b, MemorySegment c, long rows, long cols) {
        cpu.binaryRow(op, a, b, c, rows, cols);
    }

    @Override
    public void scale(MemorySegment x, float s, MemorySegment y, long n) {
        cpu.scale(x, s, y, n);
    }

    @Override
    public boolean allFinite(MemorySegment x, long n) {
        return cpu.allFinite(x, n);
    }

    @Override
    public void axpy(float alpha, MemorySegment x, MemorySegment y, long n) {
        cpu.axpy(alpha, x, y, n);
    }

    @Override
    public void sumAxis(MemorySegment x, MemorySegment y, long outer, long len, long inner) {
        cpu.sumAxis(x, y, outer, len, inner);
    }

    @Override
    public void maxAxis(MemorySegment x, MemorySegment y, MemorySegment arg, long outer, long len, long inner) {
        cpu.maxAxis(x, y, arg, outer, len, inner);
    }

    @Override
    public void softmaxRowsBackward(MemorySegment y, MemorySegment dy, MemorySegment dx, long rows, long cols) {
        cpu.softmaxRowsBackward(y, dy, dx, rows, cols);
    }

    @Override
    public void logSoftmaxRows(MemorySegment x, MemorySegment y, long rows, long cols) {
        cpu.logSoftmaxRows(x, y, rows, cols);
    }

    @Override
    public void logSoftmaxRowsBackward(MemorySegment y, MemorySegment dy, MemorySegment dx, long rows, long cols) {
        cpu.logSoftmaxRowsBackward(y, dy, dx, rows, cols);
    }

    @Override
    public void logSumExpRows(MemorySegment x, MemorySegment y, long rows, long cols) {
        cpu.logSumExpRows(x, y, rows, cols);
    }

    // ---------------------------------------------------------------- REALM marginal likelihood (kernels/marginal_likelihood.cu)

    @Override
    public void marginalLogLikelihood(MemorySegment f, MemorySegment ll, MemorySegment mask, MemorySegment logp, int batch, int z, int t) {
        if (batch == 0 || t == 0) return;
        try (DeviceBuffer bf = up(f, (long) batch * z); DeviceBuffer bll = up(ll, (long) batch * z * t);
             DeviceBuffer bm = mask == null ? null : up(mask, (long) batch * t); DeviceBuffer blp = ctx.alloc(4L * batch * t)) {
            launchMarginal(bf, bll, bm, z, t, null, blp, null, null, batch);
            down(blp, logp, (long) batch * t);
        }
    }

    @Override
    public void marginalLogLikelihoodBackward(MemorySegment f, MemorySegment ll, MemorySegment mask, MemorySegment logp, MemorySegment g,
                                              MemorySegment df, MemorySegment dll, int batch, int z, int t) {
        if (batch == 0 || t == 0) return;
        long nf = (long) batch * z, nll = nf * t;
        // the kernel overwrites its gradients; the contract accumulates: download, then add on the host
        try (DeviceBuffer bf = up(f, nf); DeviceBuffer bll = up(ll, nll); DeviceBuffer bm = mask == null ? null : up(mask, (long) batch * t);
             DeviceBuffer bg = up(g, (long) batch * t); DeviceBuffer blp = ctx.alloc(4L * batch * t);
             DeviceBuffer bdf = ctx.alloc(4 * nf); DeviceBuffer bdll = ctx.alloc(4 * nll);
             java.lang.foreign.Arena arena = java.lang.foreign.Arena.ofConfined()) {
            launchMarginal(bf, bll, bm, z, t, bg, blp, bdf, bdll, batch);
            MemorySegment hf = arena.allocate(4 * nf, 64), hll = arena.allocate(4 * nll, 64);
            down(bdf, hf, nf);
            down(bdll, hll, nll);
            cpu.axpy(1f, hf, df, nf);
            cpu.axpy(1f, hll, dll, nll);
        }
    }

    private void launchMarginal(DeviceBuffer f, DeviceBuffer ll, DeviceBuffer mask, int z, int t, DeviceBuffer g, DeviceBuffer logp,
                                DeviceBuffer df, DeviceBuffer dll, int batch) {
        int shared = (z + t) * 4;
        CudaContext.Kernel k = ctx.kernel("marginal_likelihood", "realm_marginal");
        if (shared > 48 * 1024) ctx.allowSharedMemory(k, shared);
        ctx.launch(k, batch, 1, THREADS, shared, f, ll, mask, z, t, g, logp, df, dll);
    }

    @Override
    public String toString() {
        return name();
    }

    @Override
    public void attention(MemorySegment q, int ldq, MemorySegment k, int ldk, MemorySegment v, int ldv, MemorySegment mask,
                          MemorySegment out, int ldo, int batch, int len, int heads, int headDim, float scale) {
        // host buffers in, host buffers out: the CPU kernel (CudaAttention runs device-resident attention)
        cpu.attention(q, ldq, k, ldk, v, ldv, mask, out, ldo, batch, len, heads, headDim, scale);
    }

    @Override
    public void attentionVarlen(MemorySegment q, int ldq, MemorySegment k, int ldk, MemorySegment v, int ldv, MemorySegment out, int ldo,
                                int[] starts, int[] lens, int heads, int headDim, float scale) {
        cpu.attentionVarlen(q, ldq, k, ldk, v, ldv, out, ldo, starts, lens, heads, headDim, scale);
    }

    @Override
    public void biasResidualLayerNormRows(MemorySegment x, MemorySegment bias, MemorySegment residual, MemorySegment gamma, MemorySegment beta,
                                          MemorySegment y, long rows, long cols, float eps) {
        cpu.biasResidualLayerNormRows(x, bias, residual, gamma, beta, y, rows, cols, eps);
    }

    @Override
    public void biasUnaryRows(UnaryOp op, MemorySegment x, MemorySegment bias, MemorySegment y, long rows, long cols) {
        cpu.biasUnaryRows(op, x, bias, y, rows, cols);
    }

    @Override
    public void dropout(MemorySegment x, MemorySegment y, long n, long seed, int threshold, float scale) {
        cpu.dropout(x, y, n, seed, threshold, scale);
    }

    @Override
    public void attentionTrainForward(MemorySegment q, int ldq, MemorySegment k, int ldk, MemorySegment v, int ldv, MemorySegment mask,
                                      MemorySegment out, int ldo, MemorySegment stats, MemorySegment probs, int batch, int len, int heads,
                                      int headDim, float scale, long seed, int threshold, float keepScale) {
        cpu.attentionTrainForward(q, ldq, k, ldk, v, ldv, mask, out, ldo, stats, probs, batch, len, heads, headDim, scale, seed, threshold, keepScale);
    }

    @Override
    public void attentionBackward(MemorySegment q, int ldq, MemorySegment k, int ldk, MemorySegment v, int ldv, MemorySegment mask,
                                  MemorySegment stats, MemorySegment probs, MemorySegment dOut, int ldd, MemorySegment dq, MemorySegment dk,
                                  MemorySegment dv, int ldg, int batch, int len, int heads, int headDim, float scale, long seed, int threshold,
                                  float keepScale) {
        cpu.attentionBackward(q, ldq, k, ldk, v, ldv, mask, stats, probs, dOut, ldd, dq, dk, dv, ldg, batch, len, heads, headDim, scale, seed, threshold, keepScale);
    }
}
