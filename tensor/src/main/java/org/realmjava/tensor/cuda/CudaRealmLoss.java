package org.realmjava.tensor.cuda;

import java.util.Arrays;
import org.realmjava.nativebind.cuda.CudaContext;
import org.realmjava.nativebind.cuda.DeviceBuffer;

/**
 * REALM's losses on the GPU ({@code kernels/marginal_likelihood.cu}): the marginal likelihood over
 * retrieved documents with both gradients in one kernel, and the vocabulary cross-entropy fused
 * over vocabulary tiles (the N x V logits are never stored; each tile's logits come from cuBLAS,
 * twice: once for the log-sum-exp, once for the gradients).
 */
public final class CudaRealmLoss {
    private static final String FAMILY = "marginal_likelihood";

    private final CudaContext ctx;

    public CudaRealmLoss(CudaContext ctx) {
        this.ctx = ctx;
    }

    /** logp [B, T] and, when gOut was given, df [B, Z] and dll [B, Z, T]. */
    public record Marginal(float[] logp, float[] df, float[] dll) {}

    /**
     * f [B, Z] retrieval scores, ll [B, Z, T] reader log-likelihoods (T = 1: per sequence),
     * tokenMask [B, T] or null, gOut [B, T] = dL/dlogp or null (forward only).
     */
    public Marginal marginal(float[] f, float[] ll, float[] tokenMask, int b, int z, int t, float[] gOut) {
        if (f.length != b * z || ll.length != b * z * t || (tokenMask != null && tokenMask.length != b * t) || (gOut != null && gOut.length != b * t)) {
            throw new IllegalArgumentException("marginal: f " + f.length + ", ll " + ll.length + " do not fit B=" + b + " Z=" + z + " T=" + t);
        }
        try (DeviceBuffer df = ctx.upload(f); DeviceBuffer dll = ctx.upload(ll); DeviceBuffer dm = tokenMask == null ? null : ctx.upload(tokenMask);
             DeviceBuffer dg = gOut == null ? null : ctx.upload(gOut); DeviceBuffer logp = ctx.alloc(4L * b * t);
             DeviceBuffer gf = gOut == null ? null : ctx.alloc(4L * b * z); DeviceBuffer gll = gOut == null ? null : ctx.alloc(4L * b * z * t)) {
            int shared = (z + t) * 4;
            CudaContext.Kernel k = ctx.kernel(FAMILY, "realm_marginal");
            if (shared > 48 * 1024) ctx.allowSharedMemory(k, shared);
            ctx.launch(k, b, 1, 256, shared, df, dll, dm, z, t, dg, logp, gf, gll);
            return new Marginal(ctx.downloadFloats(logp, b * t), gf == null ? null : ctx.downloadFloats(gf, b * z),
                    gll == null ? null : ctx.downloadFloats(gll, b * z * t));
        }
    }

    /** Mean loss over counted rows, per-row losses (0 for ignored rows), and the gradients of the mean. */
    public record CrossEntropy(float meanLoss, float[] rowLoss, float[] dHidden, float[] dEmbedding) {}

    /**
     * loss_r = logsumexp_v(h_r . e_v) - h_r . e_{y_r} for hidden [N, hs] and embedding [V, hs]; rows
     * with target < 0 are ignored; gradients of the mean over counted rows. tileV vocabulary rows are
     * processed at a time (N x tileV floats of scratch).
     */
    public CrossEntropy crossEntropy(float[] hidden, float[] embedding, int[] targets, int n, int hs, int v, int tileV) {
        if (hidden.length != n * hs || embedding.length != v * hs || targets.length != n || tileV <= 0) {
            throw new IllegalArgumentException("crossEntropy: hidden " + hidden.length + ", embedding " + embedding.length + ", targets " + targets.length
                    + " do not fit N=" + n + " h=" + hs + " V=" + v);
        }
        int counted = 0;
        for (int y : targets) {
            if (y >= v) throw new IllegalArgumentException("crossEntropy: target " + y + " out of range for V=" + v);
            if (y >= 0) counted++;
        }
        float scale = counted == 0 ? 0f : 1f / counted;
        float[] negInf = new float[n];
        Arrays.fill(negInf, Float.NEGATIVE_INFINITY);
        int tv = Math.min(tileV, v);
        try (DeviceBuffer h = ctx.upload(hidden); DeviceBuffer e = ctx.upload(embedding); DeviceBuffer y = ctx.upload(targets);
             DeviceBuffer tile = ctx.alloc(4L * n * tv); DeviceBuffer rowMax = ctx.upload(negInf); DeviceBuffer rowSum = ctx.alloc(4L * n).zero();
             DeviceBuffer loss = ctx.alloc(4L * n).zero(); DeviceBuffer dh = ctx.alloc(4L * n * hs).zero(); DeviceBuffer de = ctx.alloc(4L * v * hs)) {
            var blas = ctx.cublas();
            int rowBlocks = (n + 7) / 8;
            for (int v0 = 0; v0 < v; v0 += tv) {
                int cols = Math.min(tv, v - v0);
                blas.sgemm(false, true, n, cols, hs, 1f, h.address(), hs, e.address() + 4L * v0 * hs, hs, 0f, tile.address(), cols);
                ctx.launch(ctx.kernel(FAMILY, "ce_lse_update"), rowBlocks, 1, 256, 0, tile, (long) cols, n, cols, rowMax, rowSum);
            }
            ctx.launch(ctx.kernel(FAMILY, "ce_lse_finish"), (n + 255) / 256, 1, 256, 0, rowMax, rowSum, n);
            for (int v0 = 0; v0 < v; v0 += tv) {
                int cols = Math.min(tv, v - v0);
                blas.sgemm(false, true, n, cols, hs, 1f, h.address(), hs, e.address() + 4L * v0 * hs, hs, 0f, tile.address(), cols);
                ctx.launch(ctx.kernel(FAMILY, "ce_tile_grad"), rowBlocks, 1, 256, 0, tile, (long) cols, n, cols, (long) v0, y, rowMax, scale, loss);
                // dH += G E_tile;  dE_tile = G^T H
                blas.sgemm(false, false, n, hs, cols, 1f, tile.address(), cols, e.address() + 4L * v0 * hs, hs, 1f, dh.address(), hs);
                blas.sgemm(true, false, cols, hs, n, 1f, tile.address(), cols, h.address(), hs, 0f, de.address() + 4L * v0 * hs, hs);
            }
            float[] rows = ctx.downloadFloats(loss, n);
            double sum = 0;
            for (int r = 0; r < n; r++) if (targets[r] >= 0) sum += rows[r];
            return new CrossEntropy((float) (sum * scale), rows, ctx.downloadFloats(dh, n * hs), ctx.downloadFloats(de, v * hs));
        }
    }
}
