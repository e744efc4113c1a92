package org.realmjava.tensor;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Random;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

/**
 * Ops with a fused inference kernel (taken when no gradient is recorded) give what their composed,
 * differentiable path gives: Ops.attention (also on column slices of one fused QKV tensor, with
 * padded keys) and Ops.linear with an activation.
 */
class FusedOpsTest {

    /** softmax(scale q k^T + mask) (with dropout when p > 0) v from matmul, softmax and dropout ops. */
    private static Tensor composedAttention(Tensor q, Tensor k, Tensor v, Tensor mask, int heads, float scale, float p, long seed) {
        long b = q.size(0), len = q.size(1), w = q.size(2), hd = w / heads;
        Tensor qh = q.reshape(b, len, heads, hd).permute(0, 2, 1, 3);
        Tensor kh = k.reshape(b, len, heads, hd).permute(0, 2, 1, 3);
        Tensor vh = v.reshape(b, len, heads, hd).permute(0, 2, 1, 3);
        Tensor probs = Ops.attentionSoftmax(qh.matmul(kh.transpose(-1, -2)), scale, mask);
        if (p > 0) probs = Ops.dropout(probs, p, new SplittableRandom(seed), true);
        return probs.matmul(vh).permute(0, 2, 1, 3).reshape(b, len, w);
    }

    @Test
    void inferenceKernelMatchesComposedOpsOnQkvSlicesWithPadding() {
        Random rng = new Random(7);
        int b = 3, len = 21, heads = 4, hd = 16, width = heads * hd;
        Tensor qkv = Tensor.uniform(rng, -1, 1, b, len, 3 * width);
        Tensor mask = paddingMask(b, len);
        Tensor fused, composed;
        try (var g = Autograd.noGrad()) {
            fused = Ops.attention(qkv.narrow(2, 0, width), qkv.narrow(2, width, width), qkv.narrow(2, 2 * width, width), mask, heads, 0.25f);
            composed = composedAttention(qkv.narrow(2, 0, width), qkv.narrow(2, width, width), qkv.narrow(2, 2 * width, width), mask, heads, 0.25f, 0, 0);
        }
        assertFalse(fused.requiresGrad());
        Check.close("inference attention vs composed ops", composed.toFloatArray(), fused.toFloatArray(), 2e-6, 1e-5);
    }

    /**
     * The training kernels (probabilities kept, dropout by the same counter-based mask as Ops.dropout
     * on the [batch, heads, len, len] probabilities) give the composed ops' output and gradients.
     */
    @Test
    void trainingKernelsMatchComposedOpsWithDropout() {
        Random rng = new Random(9);
        int b = 2, len = 19, heads = 3, hd = 8, width = heads * hd;
        Tensor mask = paddingMask(b, len);
        Tensor qd = Tensor.uniform(rng, -1, 1, b, len, width), kd = Tensor.uniform(rng, -1, 1, b, len, width), vd = Tensor.uniform(rng, -1, 1, b, len, width);
        Tensor w = Tensor.uniform(rng, -1, 1, b, len, width);
        for (float p : new float[] {0f, 0.3f}) {
            Tensor q1 = qd.detach().requiresGrad(true), k1 = kd.detach().requiresGrad(true), v1 = vd.detach().requiresGrad(true);
            Tensor q2 = qd.detach().requiresGrad(true), k2 = kd.detach().requiresGrad(true), v2 = vd.detach().requiresGrad(true);
            Tensor fused = Ops.attention(q1, k1, v1, mask, heads, 0.4f, p, new SplittableRandom(42));
            Tensor composed = composedAttention(q2, k2, v2, mask, heads, 0.4f, p, 42);
            Check.close("training attention p=" + p, composed.toFloatArray(), fused.toFloatArray(), 2e-6, 1e-5);
            fused.mul(w).sum().backward();
            composed.mul(w).sum().backward();
            Check.close("dq p=" + p, q2.grad().toFloatArray(), q1.grad().toFloatArray(), 1e-5, 1e-4);
            Check.close("dk p=" + p, k2.grad().toFloatArray(), k1.grad().toFloatArray(), 1e-5, 1e-4);
            Check.close("dv p=" + p, v2.grad().toFloatArray(), v1.grad().toFloatArray(), 1e-5, 1e-4);
        }
    }

    private static Tensor paddingMask(int b, int len) {
        float[] m = new float[b * len];
        for (int i = 0; i < b; i++) for (int j = len - 4 * i; j < len; j++) m[i * len + j] = -1e9f;
        return Tensor.of(m, b, len);
    }

    @Test
    void packedQkvMatchesSeparateProjectionsAndAttention() {
        // BertEncoder's training path: one linearConcat over query/key/value row blocks of one storage,
        // then packedAttention; against three linears and Ops.attention, forward and every gradient
        Random rng = new Random(13);
        int b = 2, len = 11, heads = 2, hd = 8, width = heads * hd;
        Tensor mask = paddingMask(b, len);
        Tensor xd = Tensor.uniform(rng, -1, 1, b, len, width), w = Tensor.uniform(rng, -1, 1, b, len, width);
        Tensor fusedW = Tensor.uniform(rng, -0.5f, 0.5f, 3 * width, width), fusedB = Tensor.uniform(rng, -0.5f, 0.5f, 3 * width);
        Tensor[] pw = new Tensor[3], pb = new Tensor[3], sw = new Tensor[3], sb = new Tensor[3];
        for (int i = 0; i < 3; i++) {
            pw[i] = fusedW.narrow(0, (long) i * width, width).requiresGrad(true);
            pb[i] = fusedB.narrow(0, (long) i * width, width).requiresGrad(true);
            sw[i] = pw[i].detach().contiguous().requiresGrad(true);
            sb[i] = pb[i].detach().contiguous().requiresGrad(true);
        }
        for (float p : new float[] {0f, 0.3f}) {
            Tensor x1 = xd.detach().requiresGrad(true), x2 = xd.detach().requiresGrad(true);
            for (int i = 0; i < 3; i++) {
                pw[i].zeroGrad();
                pb[i].zeroGrad();
                sw[i].zeroGrad();
                sb[i].zeroGrad();
            }
            Tensor packed = Ops.packedAttention(Ops.linearConcat(x1, pw, pb), mask, heads, 0.4f, p, new SplittableRandom(5));
            Tensor separate = Ops.attention(Ops.linear(x2, sw[0], sb[0]), Ops.linear(x2, sw[1], sb[1]), Ops.linear(x2, sw[2], sb[2]),
                    mask, heads, 0.4f, p, new SplittableRandom(5));
            Check.close("packed qkv p=" + p, separate.toFloatArray(), packed.toFloatArray(), 1e-6, 1e-5);
            packed.mul(w).sum().backward();
            separate.mul(w).sum().backward();
            Check.close("packed qkv dx p=" + p, x2.grad().toFloatArray(), x1.grad().toFloatArray(), 1e-5, 1e-4);
            for (int i = 0; i < 3; i++) {
                Check.close("packed qkv dW" + i + " p=" + p, sw[i].grad().toFloatArray(), pw[i].grad().toFloatArray(), 1e-5, 1e-4);
                Check.close("packed qkv db" + i + " p=" + p, sb[i].grad().toFloatArray(), pb[i].grad().toFloatArray(), 1e-5, 1e-4);
            }
        }
    }

    @Test
    void linearConcatMatchesSeparateLinearsForF32AndBf16Weights() {
        Random rng = new Random(14);
        Tensor x = Tensor.uniform(rng, -1, 1, 2, 5, 8);
        Tensor[] b = {Tensor.uniform(rng, -1, 1, 3), Tensor.uniform(rng, -1, 1, 4)};
        for (DType dtype : new DType[] {DType.F32, DType.BF16}) {
            Tensor[] w = {Tensor.uniform(rng, -1, 1, 3, 8).to(dtype), Tensor.uniform(rng, -1, 1, 4, 8).to(dtype)};
            try (var g = Autograd.noGrad()) {
                Tensor joined = Ops.linearConcat(x, w, b);
                Tensor separate = Ops.concat(java.util.List.of(Ops.linear(x, w[0], b[0]), Ops.linear(x, w[1], b[1])), 2);
                assertArrayEquals(new long[] {2, 5, 7}, joined.shape());
                Check.close("linearConcat " + dtype, separate.toFloatArray(), joined.toFloatArray(), 1e-6, 1e-5);
            }
        }
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> Ops.linearConcat(x, new Tensor[] {Tensor.zeros(3, 8), Tensor.zeros(4, 7)}, b));
        assertTrue(e.getMessage().startsWith("linear: input [2, 5, 8], weight 1 [4, 7]"), e.getMessage());
    }

    @Test
    void trainingAttentionRecomputingProbabilitiesMatchesKeepingThem() {
        // above realm.attention.keepProbsBytes the backward recomputes P from Q K^T and the row stats
        Random rng = new Random(15);
        int b = 2, len = 19, heads = 3, hd = 8, width = heads * hd;
        Tensor mask = paddingMask(b, len);
        Tensor qkv = Tensor.uniform(rng, -1, 1, b, len, 3 * width), w = Tensor.uniform(rng, -1, 1, b, len, width);
        float[][] grads = new float[2][];
        float[][] outs = new float[2][];
        for (int mode = 0; mode < 2; mode++) {
            if (mode == 1) System.setProperty("realm.attention.keepProbsBytes", "0");
            try {
                Tensor x = qkv.detach().requiresGrad(true);
                Tensor o = Ops.packedAttention(x, mask, heads, 0.4f, 0.3f, new SplittableRandom(8));
                o.mul(w).sum().backward();
                outs[mode] = o.toFloatArray();
                grads[mode] = x.grad().toFloatArray();
            } finally {
                System.clearProperty("realm.attention.keepProbsBytes");
            }
        }
        Check.close("attention out, recomputed vs kept P", outs[0], outs[1], 0, 0);
        Check.close("attention dqkv, recomputed vs kept P", grads[0], grads[1], 1e-6, 1e-5);
        System.setProperty("realm.attention.keepProbsBytes", "0");
        try {
            Tensor in = Tensor.uniform(rng, -1, 1, b, len, 3 * width);
            DoubleRef maskD = DoubleRef.of(mask), keep = DoubleRef.of(Ops.dropout(Tensor.ones(b, heads, len, len), 0.3f, new SplittableRandom(8), true));
            Runnable check = () -> GradCheck.checkDouble("packedAttention, recomputed P", x -> {
                DoubleRef d = DoubleRef.of(x[0], in);
                return DoubleRef.attention(d.narrow(2, 0, width), d.narrow(2, width, width), d.narrow(2, 2 * width, width), maskD, heads, 0.4f, keep).v;
            }, x -> Ops.packedAttention(x[0], mask, heads, 0.4f, 0.3f, new SplittableRandom(8)), in);
            check.run();
            assertThrows(org.opentest4j.AssertionFailedError.class, () -> GradCheck.perturbed(1e-3, check), "a gradient off by 0.1% passed");
        } finally {
            System.clearProperty("realm.attention.keepProbsBytes");
        }
    }

    @Test
    void rejectsMismatchedShapesWithOneLine() {
        Tensor q = Tensor.zeros(2, 5, 8), mask = Tensor.zeros(2, 5);
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> Ops.attention(q, Tensor.zeros(2, 4, 8), q, mask, 2, 1f));
        assertTrue(e.getMessage().startsWith("attention: q [2, 5, 8], k [2, 4, 8]"), e.getMessage());
        assertThrows(IllegalArgumentException.class, () -> Ops.attention(q, q, q, mask, 3, 1f)); // 8 % 3 heads
    }

    @Test
    void linearWithActivationFusedMatchesComposed() {
        Random rng = new Random(11);
        Tensor x = Tensor.uniform(rng, -2, 2, 2, 5, 19), w = Tensor.uniform(rng, -0.5f, 0.5f, 37, 19), b = Tensor.uniform(rng, -1, 1, 37);
        for (org.realmjava.tensor.kernels.UnaryOp op : new org.realmjava.tensor.kernels.UnaryOp[] {
                org.realmjava.tensor.kernels.UnaryOp.GELU_ERF, org.realmjava.tensor.kernels.UnaryOp.GELU_TANH, org.realmjava.tensor.kernels.UnaryOp.RELU}) {
            Tensor fused;
            try (var g = Autograd.noGrad()) {
                fused = Ops.linear(x, w, b, op);
            }
            Tensor composed = Elementwise.unary(op, Ops.linear(x, w.detach().requiresGrad(true), b));
            assertTrue(composed.requiresGrad());
            Check.close("linear + " + op, composed.toFloatArray(), fused.toFloatArray(), 1e-6, 1e-5);
        }
    }

    /**
     * Inference products use the weight packed once; every in-place write through the API (copyFrom,
     * fill, set, an optimizer step, markWritten after a raw segment write) must drop that copy, so
     * the next product sees the new weight. The reference is the recorded (never packed) path.
     */
    @Test
    void packedWeightsFollowInPlaceWrites() {
        Random rng = new Random(12);
        Tensor x = Tensor.uniform(rng, -1, 1, 3, 40, 24), w = Tensor.uniform(rng, -0.5f, 0.5f, 70, 24), b = Tensor.uniform(rng, -1, 1, 70);
        Runnable same = () -> {
            Tensor inference;
            try (var g = Autograd.noGrad()) {
                inference = Ops.linear(x, w, b);
                Check.close("packed == packed again", inference.toFloatArray(), Ops.linear(x, w, b).toFloatArray(), 0, 0);
            }
            Tensor recorded = Ops.linear(x, w.detach().requiresGrad(true), b);
            Check.close("packed weight vs recorded path", recorded.toFloatArray(), inference.toFloatArray(), 1e-6, 1e-5);
        };
        same.run();
        w.copyFrom(Tensor.uniform(rng, -0.5f, 0.5f, 70, 24));
        same.run();
        w.narrow(0, 10, 5).fill(0.25f);
        same.run();
        w.set(3f, 69, 23);
        same.run();
        // a raw write through the segment, declared with markWritten
        w.segment().setAtIndex(java.lang.foreign.ValueLayout.JAVA_FLOAT, 5, -4f);
        w.markWritten();
        same.run();
        // the same, declared on a view of the written memory
        w.segment().setAtIndex(java.lang.foreign.ValueLayout.JAVA_FLOAT, 7, 5f);
        w.reshape(-1).markWritten();
        same.run();
        // an optimizer step on the parameter
        Tensor p = w.detach().requiresGrad(true);
        var opt = new org.realmjava.tensor.optim.Sgd(java.util.Map.of("w", p), 0f);
        Ops.linear(x, p, b).sum().backward();
        try (var g = Autograd.noGrad()) {
            Ops.linear(x, p, b); // packs p
        }
        opt.step(0.1f);
        Tensor after;
        try (var g = Autograd.noGrad()) {
            after = Ops.linear(x, p, b);
        }
        Check.close("after an optimizer step", Ops.linear(x, p.detach().copy().requiresGrad(true), b).toFloatArray(), after.toFloatArray(), 1e-6, 1e-5);
    }

    /** An optimizer step makes stale only the packed forms of the memory it wrote: a copy of the weights (a refresh's snapshot) keeps its own. */
    @Test
    void anOptimizerStepLeavesOtherPackedWeightsValid() {
        Random rng = new Random(14);
        Tensor x = Tensor.uniform(rng, -1, 1, 2, 30, 24), b = Tensor.uniform(rng, -1, 1, 40);
        Tensor p = Tensor.uniform(rng, -0.5f, 0.5f, 40, 24).requiresGrad(true), snapshot = p.detach().copy();
        var opt = new org.realmjava.tensor.optim.AdamW(java.util.Map.of("p", p), 0.9f, 0.999f, 1e-6f, 0.01f, n -> false);
        try (var g = Autograd.noGrad()) {
            Ops.linear(x, p, b); // packs both
            Ops.linear(x, snapshot, b);
        }
        PackedWeights.Entry mine = p.packedWeight, theirs = snapshot.packedWeight;
        org.junit.jupiter.api.Assertions.assertNotNull(mine);
        org.junit.jupiter.api.Assertions.assertNotNull(theirs);
        Ops.linear(x, p, b).sum().backward();
        opt.step(0.1f);
        try (var g = Autograd.noGrad()) {
            Check.close("snapshot unchanged", Ops.linear(x, snapshot.detach().copy(), b).toFloatArray(), Ops.linear(x, snapshot, b).toFloatArray(), 0, 0);
            Check.close("stepped weight", Ops.linear(x, p.detach().copy(), b).toFloatArray(), Ops.linear(x, p, b).toFloatArray(), 0, 0);
        }
        org.junit.jupiter.api.Assertions.assertSame(theirs, snapshot.packedWeight, "the snapshot's packed weight was dropped by another tensor's step");
        org.junit.jupiter.api.Assertions.assertNotSame(mine, p.packedWeight, "the stepped weight kept its stale packed form");
    }

    /** bf16 weights are never packed as if they were f32: small inference products still use them as bf16. */
    @Test
    void bf16WeightsAtSmallBatchMatchTheirF32Widening() {
        Random rng = new Random(13);
        Tensor x = Tensor.uniform(rng, -1, 1, 2, 9, 40), b = Tensor.uniform(rng, -1, 1, 33);
        Tensor wBf16 = Tensor.uniform(rng, -0.5f, 0.5f, 33, 40).to(DType.BF16), wWide = wBf16.to(DType.F32);
        try (var g = Autograd.noGrad()) {
            Check.close("bf16 weight vs widened f32", Ops.linear(x, wWide, b).toFloatArray(), Ops.linear(x, wBf16, b).toFloatArray(), 1e-6, 1e-5);
        }
    }

    /**
     * linearResidualLayerNorm in inference (one GEMM, packed weight at small m, then the fused row
     * pass over the GEMM's output) against the composed recorded ops, at 10 and 600 rows and with a
     * bf16 weight; with a gradient to record it is the composed ops and passes gradients on.
     */
    @Test
    void linearResidualLayerNormMatchesComposed() {
        Random rng = new Random(14);
        for (int rows : new int[] {10, 600}) {
            Tensor x = Tensor.uniform(rng, -1, 1, 2, rows / 2, 48), res = Tensor.uniform(rng, -2, 2, 2, rows / 2, 40);
            Tensor w = Tensor.uniform(rng, -0.3f, 0.3f, 40, 48), b = Tensor.uniform(rng, -1, 1, 40);
            Tensor g = Tensor.uniform(rng, 0.5f, 1.5f, 40), be = Tensor.uniform(rng, -1, 1, 40);
            for (Tensor weight : new Tensor[] {w, w.to(DType.BF16)}) {
                Tensor fused;
                try (var ng = Autograd.noGrad()) {
                    fused = Ops.linearResidualLayerNorm(x, weight, b, res, g, be, 1e-6f);
                }
                Tensor wr = weight.to(DType.F32).detach().requiresGrad(true);
                Tensor composed = Ops.layerNorm(Ops.linear(x, wr, b).add(res), g, be, 1e-6f);
                Check.close("linearResidualLayerNorm rows " + rows + " " + weight.dtype(), composed.toFloatArray(), fused.toFloatArray(), 2e-5, 1e-5);
                Tensor recorded = Ops.linearResidualLayerNorm(x, wr, b, res, g, be, 1e-6f);
                assertTrue(recorded.requiresGrad());
                Check.close("recorded path", composed.toFloatArray(), recorded.toFloatArray(), 0, 0);
            }
        }
        Tensor x = Tensor.uniform(rng, -1, 1, 3, 8), w = Tensor.uniform(rng, -1, 1, 5, 8), b = Tensor.zeros(5);
        assertThrows(IllegalArgumentException.class, () -> {
            try (var ng = Autograd.noGrad()) {
                Ops.linearResidualLayerNorm(x, w, b, Tensor.zeros(3, 4), Tensor.zeros(5), Tensor.zeros(5), 1e-6f);
            }
        });
    }

    /**
     * The fused inference FFN sublayer (one kernel, its intermediate in the second product's packed
     * layout) gives the bits of its composition, linear + GELU then linearResidualLayerNorm: hidden
     * 64 / FFN 128, hidden 40 / FFN 72 (GELU columns past the last whole vector), MiniLM-like 96 /
     * 384, on 261 rows (an 8-row tail); with a gradient to record it is the composition.
     */
    @Test
    void fusedFeedForwardGivesItsCompositionsBits() {
        Random rng = new Random(21);
        int[][] shapes = {{64, 128, 4}, {40, 72, 5}, {96, 384, 3}};
        int tokens = 261; // above the fused kernel's row threshold (LinearAlgebra.FUSED_FFN_MIN_ROWS)
        for (int[] sh : shapes) {
            int h = sh[0], inter = sh[1];
            Tensor x = Tensor.uniform(rng, -1, 1, 1, tokens, h);
            Tensor wi = Tensor.uniform(rng, -0.3f, 0.3f, inter, h), bi = Tensor.uniform(rng, -0.1f, 0.1f, inter);
            Tensor wo = Tensor.uniform(rng, -0.3f, 0.3f, h, inter), bo = Tensor.uniform(rng, -0.1f, 0.1f, h);
            Tensor gamma = Tensor.uniform(rng, 0.5f, 1.5f, h), beta = Tensor.uniform(rng, -0.1f, 0.1f, h);
            try (var g = Autograd.noGrad()) {
                Tensor fused = Ops.feedForwardResidualLayerNorm(x, wi, bi, org.realmjava.tensor.kernels.UnaryOp.GELU_ERF, wo, bo, gamma, beta, 1e-12f);
                Tensor composed = Ops.linearResidualLayerNorm(Ops.linear(x, wi, bi, org.realmjava.tensor.kernels.UnaryOp.GELU_ERF), wo, bo, x, gamma, beta, 1e-12f);
                assertArrayEquals(composed.toFloatArray(), fused.toFloatArray(), 0f, "feed-forward sublayer, hidden " + h + ", FFN " + inter);
            }
            // with a gradient to record the op is the differentiable composition
            Tensor xg = x.detach().requiresGrad(true);
            Tensor out = Ops.feedForwardResidualLayerNorm(xg, wi, bi, org.realmjava.tensor.kernels.UnaryOp.GELU_ERF, wo, bo, gamma, beta, 1e-12f);
            assertTrue(out.requiresGrad());
            out.sum().backward();
            assertTrue(xg.grad() != null);
        }
    }
}
