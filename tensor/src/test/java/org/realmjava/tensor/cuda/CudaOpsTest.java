package org.realmjava.tensor.cuda;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Random;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.realmjava.nativebind.cuda.Cuda;
import org.realmjava.nativebind.cuda.CudaContext;
import org.realmjava.tensor.Check;
import org.realmjava.tensor.Ops;
import org.realmjava.tensor.Tensor;

/**
 * The GPU kernels of attention, REALM's marginal likelihood and the fused vocabulary cross-entropy
 * against the engine's CPU ops (themselves checked against the scalar reference and finite
 * differences) and, for the marginal likelihood, against double-precision finite differences
 * directly. Skipped, with the reason printed, where no GPU is usable.
 */
@Tag("gpu")
class CudaOpsTest {
    static CudaContext ctx;

    @BeforeAll
    static void gpu() {
        if (!Cuda.available()) System.out.println("CudaOpsTest skipped: " + Cuda.status().reason());
        Assumptions.assumeTrue(Cuda.available(), () -> "no usable GPU: " + Cuda.status().reason());
        ctx = Cuda.context();
        System.out.println("CudaOpsTest on " + ctx.gpu().describe());
    }

    private static float[] random(Random rng, int n, float scale) {
        float[] a = new float[n];
        for (int i = 0; i < n; i++) a[i] = (float) rng.nextGaussian() * scale;
        return a;
    }

    private static float[] bf16Rounded(float[] x) {
        float[] r = new float[x.length];
        for (int i = 0; i < x.length; i++) r[i] = org.realmjava.tensor.DType.fromBf16(org.realmjava.tensor.DType.toBf16(x[i]));
        return r;
    }

    /**
     * Attention forward and backward for B x H heads with padded keys (each batch item hides a
     * different tail), Lq != Lk, against the CPU ops: softmax(scale q k^T + mask) v with autograd.
     * bf16 storage is compared with a CPU run on the same bf16-rounded inputs.
     */
    @ParameterizedTest
    @CsvSource({"64, 70, 90, false", "128, 33, 129, false", "64, 128, 128, true", "128, 65, 64, true"})
    void attentionMatchesCpuOps(int d, int lq, int lk, boolean bf16) {
        int b = 2, h = 3;
        Random rng = new Random(d * 31L + lq + lk);
        float[] q = random(rng, b * h * lq * d, 1f), k = random(rng, b * h * lk * d, 1f), v = random(rng, b * h * lk * d, 1f);
        float[] dOut = random(rng, b * h * lq * d, 1f);
        if (bf16) {
            q = bf16Rounded(q);
            k = bf16Rounded(k);
            v = bf16Rounded(v);
            dOut = bf16Rounded(dOut);
        }
        float[] mask = new float[b * lk];
        for (int i = 0; i < b; i++) for (int j = 0; j < lk; j++) mask[i * lk + j] = j < lk - 7 * i ? 1f : 0f;
        float scale = (float) (1 / Math.sqrt(d));

        Tensor tq = Tensor.of(q, b, h, lq, d).requiresGrad(true), tk = Tensor.of(k, b, h, lk, d).requiresGrad(true);
        Tensor tv = Tensor.of(v, b, h, lk, d).requiresGrad(true);
        float[] bias = new float[b * lk];
        for (int i = 0; i < bias.length; i++) bias[i] = mask[i] == 0f ? -1e9f : 0f;
        Tensor probs = Ops.attentionSoftmax(tq.matmul(tk.transpose(-1, -2)), scale, Tensor.of(bias, b, lk));
        Tensor out = probs.matmul(tv);
        out.backward(Tensor.of(dOut, b, h, lq, d));

        CudaAttention att = new CudaAttention(ctx);
        CudaAttention.Forward f = att.forward(q, k, v, mask, b, h, lq, lk, d, scale, bf16);
        // bf16 output storage rounds to 8 bits of mantissa: ~4e-3 relative
        double tol = bf16 ? 1e-2 : 2e-5;
        Check.close("attention forward d=" + d + " bf16=" + bf16, out.toFloatArray(), f.out(), tol, tol);
        CudaAttention.Backward g = att.backward(q, k, v, mask, bf16 ? bf16Rounded(f.out()) : f.out(), f.lse(), dOut, b, h, lq, lk, d, scale, bf16);
        double gt = bf16 ? 3e-2 : 1e-4;
        Check.close("attention dQ", tq.grad().toFloatArray(), g.dq(), gt, gt);
        Check.close("attention dK", tk.grad().toFloatArray(), g.dk(), gt, gt);
        Check.close("attention dV", tv.grad().toFloatArray(), g.dv(), gt, gt);
    }

    /** log p = logsumexp_z(log_softmax(f)_z + ll_zt) in double precision: the reference. */
    private static double[] logp(double[] f, double[] ll, float[] tmask, int b, int z, int t) {
        double[] out = new double[b * t];
        for (int i = 0; i < b; i++) {
            double m = Double.NEGATIVE_INFINITY, s = 0;
            for (int j = 0; j < z; j++) m = Math.max(m, f[i * z + j]);
            for (int j = 0; j < z; j++) s += Math.exp(f[i * z + j] - m);
            double lse = m + Math.log(s);
            for (int u = 0; u < t; u++) {
                if (tmask != null && tmask[i * t + u] == 0f) continue;
                double mm = Double.NEGATIVE_INFINITY, ss = 0;
                for (int j = 0; j < z; j++) mm = Math.max(mm, f[i * z + j] - lse + ll[(i * z + j) * t + u]);
                for (int j = 0; j < z; j++) ss += Math.exp(f[i * z + j] - lse + ll[(i * z + j) * t + u] - mm);
                out[i * t + u] = mm + Math.log(ss);
            }
        }
        return out;
    }

    private static double weighted(double[] f, double[] ll, float[] tmask, float[] g, int b, int z, int t) {
        double[] lp = logp(f, ll, tmask, b, z, t);
        double s = 0;
        for (int i = 0; i < lp.length; i++) s += g[i] * lp[i];
        return s;
    }

    /** Both modes (T = 1 per sequence, T > 1 per token with a token mask); gradients by central differences. */
    @ParameterizedTest
    @CsvSource({"3, 9, 1", "4, 33, 7", "2, 300, 40"})
    void marginalLikelihoodMatchesDoublePrecisionAndFiniteDifferences(int b, int z, int t) {
        Random rng = new Random(b * 1000 + z * 10 + t);
        float[] f = random(rng, b * z, 2f), ll = new float[b * z * t], g = random(rng, b * t, 1f);
        for (int i = 0; i < ll.length; i++) ll[i] = (float) -Math.abs(rng.nextGaussian() * 3);
        float[] tmask = null;
        if (t > 1) {
            tmask = new float[b * t];
            for (int i = 0; i < tmask.length; i++) tmask[i] = rng.nextInt(4) == 0 ? 0f : 1f;
        }
        CudaRealmLoss.Marginal m = new CudaRealmLoss(ctx).marginal(f, ll, tmask, b, z, t, g);
        double[] fd = new double[f.length], lld = new double[ll.length];
        for (int i = 0; i < f.length; i++) fd[i] = f[i];
        for (int i = 0; i < ll.length; i++) lld[i] = ll[i];
        double[] ref = logp(fd, lld, tmask, b, z, t);
        float[] refF = new float[ref.length];
        for (int i = 0; i < ref.length; i++) refF[i] = (float) ref[i];
        Check.close("marginal logp", refF, m.logp(), 1e-5, 1e-5);
        double eps = 1e-4;
        float[] numDf = new float[f.length];
        for (int i = 0; i < f.length; i++) {
            double keep = fd[i];
            fd[i] = keep + eps;
            double up = weighted(fd, lld, tmask, g, b, z, t);
            fd[i] = keep - eps;
            double down = weighted(fd, lld, tmask, g, b, z, t);
            fd[i] = keep;
            numDf[i] = (float) ((up - down) / (2 * eps));
        }
        Check.close("marginal dL/df", numDf, m.df(), 1e-4, 1e-4);
        float[] numDll = new float[Math.min(ll.length, 400)];
        for (int i = 0; i < numDll.length; i++) {
            double keep = lld[i];
            lld[i] = keep + eps;
            double up = weighted(fd, lld, tmask, g, b, z, t);
            lld[i] = keep - eps;
            double down = weighted(fd, lld, tmask, g, b, z, t);
            lld[i] = keep;
            numDll[i] = (float) ((up - down) / (2 * eps));
        }
        Check.close("marginal dL/dll", numDll, java.util.Arrays.copyOf(m.dll(), numDll.length), 1e-4, 1e-4);
    }

    /** Fused tiled cross-entropy against the CPU crossEntropy on full logits (with ignored rows). */
    @ParameterizedTest
    @CsvSource({"37, 64, 1000, 256", "128, 384, 30522, 4096", "5, 32, 77, 1000"})
    void fusedCrossEntropyMatchesCpu(int n, int hs, int v, int tileV) {
        Random rng = new Random(n + hs + v);
        float[] hidden = random(rng, n * hs, 1f), emb = random(rng, v * hs, 0.05f);
        int[] y = new int[n];
        for (int i = 0; i < n; i++) y[i] = i % 5 == 3 ? -100 : rng.nextInt(v);
        Tensor th = Tensor.of(hidden, n, hs).requiresGrad(true), te = Tensor.of(emb, v, hs).requiresGrad(true);
        Tensor loss = Ops.crossEntropy(th.matmul(te.transpose(0, 1)), Tensor.ofInts(y, n), -100, 0f);
        loss.backward();
        CudaRealmLoss.CrossEntropy ce = new CudaRealmLoss(ctx).crossEntropy(hidden, emb, y, n, hs, v, tileV);
        assertEquals(loss.item(), ce.meanLoss(), 1e-4 * Math.max(1, Math.abs(loss.item())), "mean loss");
        Check.close("fused CE dHidden", th.grad().toFloatArray(), ce.dHidden(), 1e-5, 1e-4);
        Check.close("fused CE dEmbedding", te.grad().toFloatArray(), ce.dEmbedding(), 1e-6, 1e-4);
        for (int i = 0; i < n; i++) if (y[i] < 0) assertTrue(ce.rowLoss()[i] == 0f);
    }
}
