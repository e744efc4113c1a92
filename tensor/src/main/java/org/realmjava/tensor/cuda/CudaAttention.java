package org.realmjava.tensor.cuda;

import org.realmjava.nativebind.cuda.CudaContext;
import org.realmjava.nativebind.cuda.DeviceBuffer;

/**
 * Flash-style attention on the GPU ({@code kernels/attention.cu}): forward saves only the output
 * and the row log-sum-exp, backward recomputes the probabilities; the L x L matrix never exists.
 * Q, K, V, O, dO are [B, H, L, D] row-major with D = 64 or 128; mask is [B, Lk] (0 hides a key)
 * or null; storage f32 or bf16, arithmetic f32, gradients f32.
 *
 * <p>The device-level methods take {@link DeviceBuffer}s and leave everything on the GPU; the
 * array methods below them copy in and out (tests, benchmarks, callers with host data).
 */
public final class CudaAttention {
    private static final String FAMILY = "attention";
    private static final int ROWS = 64, DEFAULT_SHARED = 48 * 1024;

    private final CudaContext ctx;

    public CudaAttention(CudaContext ctx) {
        this.ctx = ctx;
    }

    private static int keyTile(int d) {
        return d == 64 ? 32 : 16;
    }

    private static final int QUERY_TILE = 16;

    private static void checkShape(int b, int h, int lq, int lk, int d) {
        if (d != 64 && d != 128) throw new IllegalArgumentException("attention: head dim " + d + " — the GPU kernels take 64 or 128");
        if (b <= 0 || h <= 0 || lq <= 0 || lk <= 0) {
            throw new IllegalArgumentException("attention: empty shape B=" + b + " H=" + h + " Lq=" + lq + " Lk=" + lk);
        }
    }

    private CudaContext.Kernel kernel(String name, int sharedBytes) {
        CudaContext.Kernel k = ctx.kernel(FAMILY, name);
        if (sharedBytes > DEFAULT_SHARED) ctx.allowSharedMemory(k, sharedBytes);
        return k;
    }

    /** out = softmax(scale q k^T, masked) v and lse [B, H, Lq]; bf16 says how q, k, v, out are stored. */
    public void forward(DeviceBuffer q, DeviceBuffer k, DeviceBuffer v, DeviceBuffer mask, int b, int h, int lq, int lk, int d,
                        float scale, boolean bf16, DeviceBuffer out, DeviceBuffer lse) {
        checkShape(b, h, lq, lk, d);
        int bk = keyTile(d);
        int shared = (ROWS * (d + 1) + 2 * bk * d + bk) * 4;
        String name = "attn_fwd_" + (bf16 ? "bf16" : "f32") + "_d" + d;
        ctx.launch(kernel(name, shared), (lq + ROWS - 1) / ROWS, b * h, ROWS, shared, q, k, v, mask, h, lq, lk, scale, out, lse);
    }

    /** dq, dk, dv (f32) from dOut, given the forward's out and lse. dvec is scratch of B*H*Lq floats. */
    public void backward(DeviceBuffer q, DeviceBuffer k, DeviceBuffer v, DeviceBuffer mask, DeviceBuffer out, DeviceBuffer lse,
                         DeviceBuffer dOut, int b, int h, int lq, int lk, int d, float scale, boolean bf16, DeviceBuffer dvec,
                         DeviceBuffer dq, DeviceBuffer dk, DeviceBuffer dv) {
        checkShape(b, h, lq, lk, d);
        String t = bf16 ? "bf16" : "f32";
        long rows = (long) b * h * lq;
        ctx.launch(ctx.kernel(FAMILY, "attn_bwd_dot_" + t), (int) ((rows + 7) / 8), 1, 256, 0, dOut, out, rows, d, dvec);
        int kvShared = (2 * ROWS * (d + 1) + 2 * QUERY_TILE * d + 2 * QUERY_TILE) * 4;
        int kvBlocks = (lk + ROWS - 1) / ROWS;
        Object[] common = {q, k, v, dOut, mask, lse, dvec, h, lq, lk, scale};
        ctx.launch(kernel("attn_bwd_dv_" + t + "_d" + d, kvShared), kvBlocks, b * h, ROWS, kvShared, with(common, dv));
        ctx.launch(kernel("attn_bwd_dk_" + t + "_d" + d, kvShared), kvBlocks, b * h, ROWS, kvShared, with(common, dk));
        int bk = keyTile(d);
        int qShared = (2 * ROWS * (d + 1) + 2 * bk * d + bk) * 4;
        ctx.launch(kernel("attn_bwd_dq_" + t + "_d" + d, qShared), (lq + ROWS - 1) / ROWS, b * h, ROWS, qShared, with(common, dq));
    }

    private static Object[] with(Object[] args, Object last) {
        Object[] a = java.util.Arrays.copyOf(args, args.length + 1);
        a[args.length] = last;
        return a;
    }

    // ---------------------------------------------------------------- host arrays in and out

    /** Forward results copied back: out [B, H, Lq, D] (rounded through bf16 when stored so) and lse. */
    public record Forward(float[] out, float[] lse) {}

    public record Backward(float[] dq, float[] dk, float[] dv) {}

    private DeviceBuffer input(float[] x, boolean bf16) {
        DeviceBuffer f = ctx.upload(x);
        if (!bf16) return f;
        try (f) {
            DeviceBuffer h = ctx.alloc(Math.max(2, 2L * x.length));
            ctx.launch(ctx.kernel("elementwise", "cast_f32_bf16"), (x.length + 255) / 256, 1, 256, 0, f, h, (long) x.length);
            return h;
        }
    }

    private float[] output(DeviceBuffer x, int n, boolean bf16) {
        if (!bf16) return ctx.downloadFloats(x, n);
        try (DeviceBuffer f = ctx.alloc(4L * n)) {
            ctx.launch(ctx.kernel("elementwise", "cast_bf16_f32"), (n + 255) / 256, 1, 256, 0, x, f, (long) n);
            return ctx.downloadFloats(f, n);
        }
    }

    public Forward forward(float[] q, float[] k, float[] v, float[] mask, int b, int h, int lq, int lk, int d, float scale, boolean bf16) {
        int nq = b * h * lq * d;
        try (DeviceBuffer dq = input(q, bf16); DeviceBuffer dk = input(k, bf16); DeviceBuffer dv = input(v, bf16);
             DeviceBuffer dm = mask == null ? null : ctx.upload(mask); DeviceBuffer out = ctx.alloc((long) nq * (bf16 ? 2 : 4));
             DeviceBuffer lse = ctx.alloc(4L * b * h * lq)) {
            forward(dq, dk, dv, dm, b, h, lq, lk, d, scale, bf16, out, lse);
            return new Forward(output(out, nq, bf16), ctx.downloadFloats(lse, b * h * lq));
        }
    }

    public Backward backward(float[] q, float[] k, float[] v, float[] mask, float[] out, float[] lse, float[] dOut, int b, int h, int lq, int lk,
                             int d, float scale, boolean bf16) {
        int nq = b * h * lq * d, nk = b * h * lk * d;
        try (DeviceBuffer dq = input(q, bf16); DeviceBuffer dk = input(k, bf16); DeviceBuffer dv = input(v, bf16);
             DeviceBuffer dm = mask == null ? null : ctx.upload(mask); DeviceBuffer o = input(out, bf16); DeviceBuffer l = ctx.upload(lse);
             DeviceBuffer go = input(dOut, bf16); DeviceBuffer dvec = ctx.alloc(4L * b * h * lq);
             DeviceBuffer gq = ctx.alloc(4L * nq); DeviceBuffer gk = ctx.alloc(4L * nk); DeviceBuffer gv = ctx.alloc(4L * nk)) {
            backward(dq, dk, dv, dm, o, l, go, b, h, lq, lk, d, scale, bf16, dvec, gq, gk, gv);
            return new Backward(ctx.downloadFloats(gq, nq), ctx.downloadFloats(gk, nk), ctx.downloadFloats(gv, nk));
        }
    }
}
