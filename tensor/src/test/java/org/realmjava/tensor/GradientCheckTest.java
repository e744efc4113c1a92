package org.realmjava.tensor;

import java.util.List;
import java.util.Random;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

/** Backward of every differentiable op against finite differences (see {@link GradCheck}). */
class GradientCheckTest {
    private final Random rng = new Random(42);

    private Tensor rand(long... shape) {
        return Tensor.uniform(rng, -1.5f, 1.5f, shape);
    }

    private Tensor positive(long... shape) {
        return Tensor.uniform(rng, 0.3f, 2f, shape);
    }

    /** Values at least 0.05 apart and away from 0: no kink or tie within the step h. */
    private Tensor separated(long... shape) {
        int n = (int) Shapes.numel(shape);
        java.util.List<Integer> perm = new java.util.ArrayList<>();
        for (int i = 0; i < n; i++) perm.add(i);
        java.util.Collections.shuffle(perm, rng);
        float[] v = new float[n];
        for (int i = 0; i < n; i++) v[i] = (perm.get(i) - n / 2f + 0.5f) * 0.05f + 0.02f;
        return Tensor.of(v, shape);
    }

    @Test
    void binaryWithBroadcasting() {
        GradCheck.check("add", x -> x[0].add(x[1]), rand(3, 4), rand(3, 4));
        GradCheck.check("add row", x -> x[0].add(x[1]), rand(2, 3, 4), rand(4));
        GradCheck.check("sub column", x -> x[0].sub(x[1]), rand(3, 4), rand(3, 1));
        GradCheck.check("mul both broadcast", x -> x[0].mul(x[1]), rand(3, 1, 4), rand(1, 5, 4));
        GradCheck.check("div", x -> x[0].div(x[1]), rand(3, 4), positive(4));
        GradCheck.check("scale and add scalar", x -> x[0].scale(-1.7f).add(0.5f), rand(5));
    }

    @Test
    void unary() {
        GradCheck.check("exp", x -> x[0].exp(), rand(17));
        GradCheck.check("log", x -> x[0].log(), positive(17));
        GradCheck.check("sqrt", x -> x[0].sqrt(), positive(17));
        GradCheck.check("tanh", x -> x[0].tanh(), rand(17));
        GradCheck.check("relu", x -> x[0].relu(), separated(17));
        GradCheck.check("gelu erf", x -> x[0].gelu(), rand(17));
        GradCheck.check("gelu tanh", x -> x[0].geluTanh(), rand(17));
    }

    @Test
    void reductions() {
        GradCheck.check("sum all", x -> x[0].sum(), rand(3, 5));
        GradCheck.check("sum axis 0", x -> x[0].sum(0, false), rand(3, 5));
        GradCheck.check("sum axis 1 keep", x -> x[0].sum(1, true), rand(2, 3, 5));
        GradCheck.check("mean", x -> x[0].mean(-1, false), rand(4, 6));
        GradCheck.check("max", x -> x[0].max(1, false), separated(3, 7, 2));
    }

    @Test
    void rowOps() {
        GradCheck.check("softmax last", x -> x[0].softmax(-1), rand(3, 7));
        GradCheck.check("softmax middle", x -> x[0].softmax(1), rand(2, 5, 3));
        GradCheck.check("logSoftmax", x -> x[0].logSoftmax(-1), rand(4, 9));
        Tensor mask = Tensor.of(new float[] {0, 0, -1e9f, 0, -1e9f, 0, 0, 0}, 2, 4);
        GradCheck.check("attention softmax", x -> Ops.attentionSoftmax(x[0], 0.5f, mask), rand(2, 3, 2, 4));
        // q, k, v [batch 2, len 4, 2 heads x 3]: the differentiable (composed) path of Ops.attention
        GradCheck.check("linear + gelu", x -> Ops.linear(x[0], x[1], x[2], org.realmjava.tensor.kernels.UnaryOp.GELU_ERF), rand(3, 4), rand(5, 4), rand(5));
        GradCheck.check("attention", x -> Ops.attention(x[0], x[1], x[2], mask, 2, 0.6f), rand(2, 4, 6), rand(2, 4, 6), rand(2, 4, 6));
        GradCheck.check("attention with dropout (fixed seed)", x -> Ops.attention(x[0], x[1], x[2], mask, 2, 0.6f, 0.25f, new SplittableRandom(3)),
                rand(2, 4, 6), rand(2, 4, 6), rand(2, 4, 6));
        // q, k, v packed as one [batch, len, 3 * 2 heads x 3]; the second packs a transposed view (copied to token rows)
        GradCheck.check("packedAttention", x -> Ops.packedAttention(x[0], mask, 2, 0.6f, 0f, null), rand(2, 4, 18));
        GradCheck.check("packedAttention with dropout (fixed seed), strided input",
                x -> Ops.packedAttention(x[0].transpose(0, 1), mask, 2, 0.6f, 0.25f, new SplittableRandom(3)), rand(4, 2, 18));
        GradCheck.check("logSumExp", x -> x[0].logSumExp(-1, false), rand(4, 9));
        GradCheck.check("logSumExp axis 0 keep", x -> x[0].logSumExp(0, true), rand(4, 3));
        GradCheck.check("layerNorm", x -> Ops.layerNorm(x[0], x[1], x[2], 1e-5f), rand(3, 8), positive(8), rand(8));
    }

    @Test
    void matmul() {
        GradCheck.check("matmul 2d", x -> x[0].matmul(x[1]), rand(3, 4), rand(4, 5));
        GradCheck.check("matmul transposed views", x -> x[0].transpose(0, 1).matmul(x[1].transpose(0, 1)), rand(4, 3), rand(5, 4));
        GradCheck.check("matmul batched broadcast", x -> x[0].matmul(x[1]), rand(2, 1, 3, 4), rand(3, 4, 2));
        GradCheck.check("matmul weight fold", x -> x[0].matmul(x[1]), rand(2, 3, 4), rand(4, 5));
        GradCheck.check("matmul vector", x -> x[0].matmul(x[1]), rand(4), rand(4, 3));
        GradCheck.check("linear (fused bias)", x -> Ops.linear(x[0], x[1], x[2]), rand(2, 3, 4), rand(5, 4), rand(5));
        GradCheck.check("linearConcat (separate parts, copied)", x -> Ops.linearConcat(x[0], new Tensor[] {x[1], x[2]}, new Tensor[] {x[3], x[4]}),
                rand(2, 3, 4), rand(3, 4), rand(2, 4), rand(3), rand(2));
        // parameters that are row blocks of one storage (BertEncoder's query/key/value): used in place
        Tensor fusedW = rand(6, 4), fusedB = rand(6);
        GradCheck.check("linearConcat (row blocks of one storage)",
                x -> Ops.linearConcat(x[0], new Tensor[] {x[1], x[2], x[3]}, new Tensor[] {x[4], x[5], x[6]}),
                rand(3, 4), fusedW.narrow(0, 0, 1), fusedW.narrow(0, 1, 2), fusedW.narrow(0, 3, 3),
                fusedB.narrow(0, 0, 1), fusedB.narrow(0, 1, 2), fusedB.narrow(0, 3, 3));
    }

    @Test
    void viewsAndIndexing() {
        GradCheck.check("reshape", x -> x[0].reshape(3, -1).mul(x[0].reshape(3, 4)), rand(2, 6));
        GradCheck.check("permute", x -> x[0].permute(2, 0, 1).contiguous(), rand(2, 3, 4));
        GradCheck.check("narrow", x -> x[0].narrow(1, 1, 2), rand(3, 4));
        GradCheck.check("select", x -> x[0].select(0, 2), rand(3, 4));
        GradCheck.check("unsqueeze expand", x -> x[0].unsqueeze(1).expand(3, 5, 4), rand(3, 4));
        Tensor ids = Tensor.ofInts(new int[] {2, 0, 2, 1}, 2, 2);
        GradCheck.check("embedding (repeated ids)", x -> Ops.embedding(x[0], ids), rand(3, 5));
        GradCheck.check("indexSelect axis 1", x -> Ops.indexSelect(x[0], 1, Tensor.ofInts(new int[] {3, 1, 3})), rand(2, 4, 2));
        GradCheck.check("concat", x -> Ops.concat(List.of(x[0], x[1]), 1), rand(2, 3), rand(2, 2));
        GradCheck.check("stack", x -> Ops.stack(List.of(x[0], x[1]), 0), rand(2, 3), rand(2, 3));
        Tensor mask = Tensor.of(new float[] {0, 1, 0, 1}, 1, 4);
        GradCheck.check("maskedFill", x -> x[0].maskedFill(mask, -1e4f), rand(3, 4));
        GradCheck.check("dropout (fixed seed)", x -> Ops.dropout(x[0], 0.3f, new SplittableRandom(5), true), rand(20));
    }

    @Test
    void crossEntropy() {
        Tensor targets = Tensor.ofInts(new int[] {1, -100, 4, 0});
        GradCheck.check("crossEntropy ignore", x -> Ops.crossEntropy(x[0], targets, -100, 0f), rand(4, 5));
        GradCheck.check("crossEntropy smoothing", x -> Ops.crossEntropy(x[0], targets, -100, 0.1f), rand(4, 5));
    }

    @Test
    void theCheckCatchesAWrongGradient() {
        // y = x^2 with a backward that forgets the factor 2: the check must fail
        java.util.function.Function<Tensor[], Tensor> wrongSquare = x -> {
            Tensor y = Tensor.of(x[0].toFloatArray(), x[0].shape()).mul(Tensor.of(x[0].toFloatArray(), x[0].shape()));
            return Autograd.record("wrongSquare", y, g -> Autograd.accumulate(x[0], g.mul(x[0])), x[0]);
        };
        org.junit.jupiter.api.Assertions.assertThrows(org.opentest4j.AssertionFailedError.class,
                () -> GradCheck.check("wrong square", wrongSquare, rand(5)));
    }

    @Test
    void composite() {
        // attention-shaped composition: softmax(q k^T / sqrt(d)) v
        GradCheck.check("attention", x -> x[0].matmul(x[1].transpose(-1, -2)).scale(0.5f).softmax(-1).matmul(x[2]),
                rand(2, 3, 4), rand(2, 5, 4), rand(2, 5, 4));
    }
}
