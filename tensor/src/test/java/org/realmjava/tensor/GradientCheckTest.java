package org.realmjava.tensor;

import static org.junit.jupiter.api.Assertions.assertThrows;

import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.SplittableRandom;
import java.util.function.Function;
import java.util.stream.Stream;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;
import org.opentest4j.AssertionFailedError;
import org.realmjava.tensor.kernels.UnaryOp;

/**
 * Backward of every differentiable op against central finite differences of a double-precision
 * reference of the same math ({@link GradCheck#checkDouble}: atol 1e-6 + rtol 1e-5, every element),
 * and each check shown to fail when the analytic gradient is off by 0.1%. The marginal likelihood
 * and the target log-probability have theirs in MarginalLikelihoodTest, the fused attention with a
 * recomputed P in FusedOpsTest.
 */
class GradientCheckTest {
    /** One op's check: the op on f32 tensors, its reference on doubles, fresh inputs each run. */
    record Case(String name, Runnable check) {
        @Override
        public String toString() {
            return name;
        }
    }

    private static Case c(String name, Function<DoubleRef[], DoubleRef> reference, Function<Tensor[], Tensor> op, Function<Inputs, Tensor[]> inputs) {
        return new Case(name, () -> {
            Tensor[] in = inputs.apply(new Inputs(new Random(name.hashCode())));
            GradCheck.checkDouble(name, x -> {
                DoubleRef[] d = new DoubleRef[x.length];
                for (int i = 0; i < x.length; i++) d[i] = DoubleRef.of(x[i], in[i]);
                return reference.apply(d).v;
            }, op, in);
        });
    }

    /** Random inputs of a case. */
    record Inputs(Random rng) {
        Tensor rand(long... shape) {
            return Tensor.uniform(rng, -1.5f, 1.5f, shape);
        }

        Tensor positive(long... shape) {
            return Tensor.uniform(rng, 0.3f, 2f, shape);
        }

        /** Values at least 0.05 apart and away from 0: no kink or tie within the step h. */
        Tensor separated(long... shape) {
            int n = (int) Shapes.numel(shape);
            List<Integer> perm = new ArrayList<>();
            for (int i = 0; i < n; i++) perm.add(i);
            java.util.Collections.shuffle(perm, rng);
            float[] v = new float[n];
            for (int i = 0; i < n; i++) v[i] = (perm.get(i) - n / 2f + 0.5f) * 0.05f + 0.02f;
            return Tensor.of(v, shape);
        }

        Tensor[] of(Tensor... t) {
            return t;
        }
    }

    /** A float constant as the op sees it (f32), in double. */
    private static double f(float x) {
        return x;
    }

    static Stream<Case> cases() {
        Tensor attnMask = Tensor.of(new float[] {0, 0, -1e9f, 0, -1e9f, 0, 0, 0}, 2, 4);
        DoubleRef attnMaskD = DoubleRef.of(attnMask);
        Tensor ids = Tensor.ofInts(new int[] {2, 0, 2, 1}, 2, 2);
        Tensor fillMask = Tensor.of(new float[] {0, 1, 0, 1}, 1, 4);
        DoubleRef fillMaskD = DoubleRef.of(fillMask);
        Tensor targets = Tensor.ofInts(new int[] {1, -100, 4, 0});
        // dropout's kept-and-scaled masks for the seeds below: the same kernel on ones
        DoubleRef dropMask = DoubleRef.of(Ops.dropout(Tensor.ones(20), 0.3f, new SplittableRandom(5), true));
        DoubleRef attnDrop = DoubleRef.of(Ops.dropout(Tensor.ones(2, 2, 4, 4), 0.25f, new SplittableRandom(3), true));
        List<Case> all = new ArrayList<>();

        // binary, with broadcasting
        all.add(c("add", d -> d[0].add(d[1]), x -> x[0].add(x[1]), in -> in.of(in.rand(3, 4), in.rand(3, 4))));
        all.add(c("add row", d -> d[0].add(d[1]), x -> x[0].add(x[1]), in -> in.of(in.rand(2, 3, 4), in.rand(4))));
        all.add(c("sub column", d -> d[0].sub(d[1]), x -> x[0].sub(x[1]), in -> in.of(in.rand(3, 4), in.rand(3, 1))));
        all.add(c("mul both broadcast", d -> d[0].mul(d[1]), x -> x[0].mul(x[1]), in -> in.of(in.rand(3, 1, 4), in.rand(1, 5, 4))));
        all.add(c("div", d -> d[0].div(d[1]), x -> x[0].div(x[1]), in -> in.of(in.rand(3, 4), in.positive(4))));
        all.add(c("scale and add scalar", d -> d[0].scale(f(-1.7f)).map(v -> v + 0.5), x -> x[0].scale(-1.7f).add(0.5f), in -> in.of(in.rand(5))));

        // unary
        all.add(c("exp", d -> d[0].map(Math::exp), x -> x[0].exp(), in -> in.of(in.rand(17))));
        all.add(c("log", d -> d[0].map(Math::log), x -> x[0].log(), in -> in.of(in.positive(17))));
        all.add(c("sqrt", d -> d[0].map(Math::sqrt), x -> x[0].sqrt(), in -> in.of(in.positive(17))));
        all.add(c("tanh", d -> d[0].map(Math::tanh), x -> x[0].tanh(), in -> in.of(in.rand(17))));
        all.add(c("relu", d -> d[0].map(v -> Math.max(0, v)), x -> x[0].relu(), in -> in.of(in.separated(17))));
        all.add(c("gelu erf", d -> d[0].map(DoubleRef::geluErf), x -> x[0].gelu(), in -> in.of(in.rand(17))));
        all.add(c("gelu tanh", d -> d[0].map(DoubleRef::geluTanh), x -> x[0].geluTanh(), in -> in.of(in.rand(17))));

        // reductions
        all.add(c("sum all", d -> d[0].sumAll(), x -> x[0].sum(), in -> in.of(in.rand(3, 5))));
        all.add(c("sum axis 0", d -> d[0].sum(0, false), x -> x[0].sum(0, false), in -> in.of(in.rand(3, 5))));
        all.add(c("sum axis 1 keep", d -> d[0].sum(1, true), x -> x[0].sum(1, true), in -> in.of(in.rand(2, 3, 5))));
        all.add(c("mean", d -> d[0].mean(-1, false), x -> x[0].mean(-1, false), in -> in.of(in.rand(4, 6))));
        all.add(c("max", d -> d[0].max(1, false), x -> x[0].max(1, false), in -> in.of(in.separated(3, 7, 2))));
        all.add(c("logSumExp", d -> d[0].logSumExp(-1, false), x -> x[0].logSumExp(-1, false), in -> in.of(in.rand(4, 9))));
        all.add(c("logSumExp axis 0 keep", d -> d[0].logSumExp(0, true), x -> x[0].logSumExp(0, true), in -> in.of(in.rand(4, 3))));

        // row ops
        all.add(c("softmax last", d -> d[0].softmax(-1), x -> x[0].softmax(-1), in -> in.of(in.rand(3, 7))));
        all.add(c("softmax middle", d -> d[0].softmax(1), x -> x[0].softmax(1), in -> in.of(in.rand(2, 5, 3))));
        all.add(c("logSoftmax", d -> d[0].logSoftmax(-1), x -> x[0].logSoftmax(-1), in -> in.of(in.rand(4, 9))));
        all.add(c("attention softmax", d -> d[0].scale(0.5).add(attnMaskD.reshape(2, 1, 1, 4)).softmax(-1),
                x -> Ops.attentionSoftmax(x[0], 0.5f, attnMask), in -> in.of(in.rand(2, 3, 2, 4))));
        all.add(c("layerNorm", d -> DoubleRef.layerNorm(d[0], d[1], d[2], f(1e-5f)), x -> Ops.layerNorm(x[0], x[1], x[2], 1e-5f),
                in -> in.of(in.rand(3, 8), in.positive(8), in.rand(8))));

        // attention: q, k, v [batch 2, len 4, 2 heads x 3]
        all.add(c("attention", d -> DoubleRef.attention(d[0], d[1], d[2], attnMaskD, 2, f(0.6f), null),
                x -> Ops.attention(x[0], x[1], x[2], attnMask, 2, 0.6f), in -> in.of(in.rand(2, 4, 6), in.rand(2, 4, 6), in.rand(2, 4, 6))));
        all.add(c("attention with dropout (fixed seed)", d -> DoubleRef.attention(d[0], d[1], d[2], attnMaskD, 2, f(0.6f), attnDrop),
                x -> Ops.attention(x[0], x[1], x[2], attnMask, 2, 0.6f, 0.25f, new SplittableRandom(3)),
                in -> in.of(in.rand(2, 4, 6), in.rand(2, 4, 6), in.rand(2, 4, 6))));
        // q, k, v packed as one [batch, len, 3 * 2 heads x 3]; the second packs a transposed view (copied to token rows)
        all.add(c("packedAttention", d -> DoubleRef.attention(d[0].narrow(2, 0, 6), d[0].narrow(2, 6, 6), d[0].narrow(2, 12, 6), attnMaskD, 2, f(0.6f), null),
                x -> Ops.packedAttention(x[0], attnMask, 2, 0.6f, 0f, null), in -> in.of(in.rand(2, 4, 18))));
        all.add(c("packedAttention with dropout (fixed seed), strided input", d -> {
            DoubleRef t = d[0].transpose(0, 1);
            return DoubleRef.attention(t.narrow(2, 0, 6), t.narrow(2, 6, 6), t.narrow(2, 12, 6), attnMaskD, 2, f(0.6f), attnDrop);
        }, x -> Ops.packedAttention(x[0].transpose(0, 1), attnMask, 2, 0.6f, 0.25f, new SplittableRandom(3)), in -> in.of(in.rand(4, 2, 18))));
        all.add(c("attention composed", d -> d[0].matmul(d[1].transpose(-1, -2)).scale(0.5).softmax(-1).matmul(d[2]),
                x -> x[0].matmul(x[1].transpose(-1, -2)).scale(0.5f).softmax(-1).matmul(x[2]), in -> in.of(in.rand(2, 3, 4), in.rand(2, 5, 4), in.rand(2, 5, 4))));

        // products
        all.add(c("matmul 2d", d -> d[0].matmul(d[1]), x -> x[0].matmul(x[1]), in -> in.of(in.rand(3, 4), in.rand(4, 5))));
        all.add(c("matmul transposed views", d -> d[0].transpose(0, 1).matmul(d[1].transpose(0, 1)), x -> x[0].transpose(0, 1).matmul(x[1].transpose(0, 1)),
                in -> in.of(in.rand(4, 3), in.rand(5, 4))));
        all.add(c("matmul batched broadcast", d -> d[0].matmul(d[1]), x -> x[0].matmul(x[1]), in -> in.of(in.rand(2, 1, 3, 4), in.rand(3, 4, 2))));
        all.add(c("matmul weight fold", d -> d[0].matmul(d[1]), x -> x[0].matmul(x[1]), in -> in.of(in.rand(2, 3, 4), in.rand(4, 5))));
        all.add(c("matmul vector", d -> d[0].matmul(d[1]), x -> x[0].matmul(x[1]), in -> in.of(in.rand(4), in.rand(4, 3))));
        all.add(c("linear (fused bias)", d -> DoubleRef.linear(d[0], d[1], d[2]), x -> Ops.linear(x[0], x[1], x[2]),
                in -> in.of(in.rand(2, 3, 4), in.rand(5, 4), in.rand(5))));
        all.add(c("linear without bias", d -> DoubleRef.linear(d[0], d[1], null), x -> Ops.linear(x[0], x[1], null), in -> in.of(in.rand(2, 3, 4), in.rand(5, 4))));
        all.add(c("linear + gelu", d -> DoubleRef.linear(d[0], d[1], d[2]).map(DoubleRef::geluErf), x -> Ops.linear(x[0], x[1], x[2], UnaryOp.GELU_ERF),
                in -> in.of(in.rand(3, 4), in.rand(5, 4), in.rand(5))));
        all.add(c("linearConcat (separate parts, copied)",
                d -> DoubleRef.concat(List.of(DoubleRef.linear(d[0], d[1], d[3]), DoubleRef.linear(d[0], d[2], d[4])), -1),
                x -> Ops.linearConcat(x[0], new Tensor[] {x[1], x[2]}, new Tensor[] {x[3], x[4]}),
                in -> in.of(in.rand(2, 3, 4), in.rand(3, 4), in.rand(2, 4), in.rand(3), in.rand(2))));
        // parameters that are row blocks of one storage (BertEncoder's query/key/value): used in place
        all.add(c("linearConcat (row blocks of one storage)",
                d -> DoubleRef.concat(List.of(DoubleRef.linear(d[0], d[1], d[4]), DoubleRef.linear(d[0], d[2], d[5]), DoubleRef.linear(d[0], d[3], d[6])), -1),
                x -> Ops.linearConcat(x[0], new Tensor[] {x[1], x[2], x[3]}, new Tensor[] {x[4], x[5], x[6]}), in -> {
                    Tensor w = in.rand(6, 4), b = in.rand(6);
                    return in.of(in.rand(3, 4), w.narrow(0, 0, 1), w.narrow(0, 1, 2), w.narrow(0, 3, 3), b.narrow(0, 0, 1), b.narrow(0, 1, 2), b.narrow(0, 3, 3));
                }));

        // views and indexing
        all.add(c("reshape", d -> d[0].reshape(3, 4).mul(d[0].reshape(3, 4)), x -> x[0].reshape(3, -1).mul(x[0].reshape(3, 4)), in -> in.of(in.rand(2, 6))));
        all.add(c("permute", d -> d[0].permute(2, 0, 1), x -> x[0].permute(2, 0, 1).contiguous(), in -> in.of(in.rand(2, 3, 4))));
        all.add(c("narrow", d -> d[0].narrow(1, 1, 2), x -> x[0].narrow(1, 1, 2), in -> in.of(in.rand(3, 4))));
        all.add(c("select", d -> d[0].select(0, 2), x -> x[0].select(0, 2), in -> in.of(in.rand(3, 4))));
        all.add(c("unsqueeze expand", d -> d[0].unsqueeze(1).expand(3, 5, 4), x -> x[0].unsqueeze(1).expand(3, 5, 4), in -> in.of(in.rand(3, 4))));
        all.add(c("embedding (repeated ids)", d -> d[0].indexSelect(0, new int[] {2, 0, 2, 1}).reshape(2, 2, 5), x -> Ops.embedding(x[0], ids),
                in -> in.of(in.rand(3, 5))));
        all.add(c("indexSelect axis 1", d -> d[0].indexSelect(1, new int[] {3, 1, 3}), x -> Ops.indexSelect(x[0], 1, Tensor.ofInts(new int[] {3, 1, 3})),
                in -> in.of(in.rand(2, 4, 2))));
        all.add(c("concat", d -> DoubleRef.concat(List.of(d[0], d[1]), 1), x -> Ops.concat(List.of(x[0], x[1]), 1), in -> in.of(in.rand(2, 3), in.rand(2, 2))));
        all.add(c("stack", d -> DoubleRef.stack(List.of(d[0], d[1]), 0), x -> Ops.stack(List.of(x[0], x[1]), 0), in -> in.of(in.rand(2, 3), in.rand(2, 3))));
        all.add(c("maskedFill", d -> DoubleRef.zip(d[0], fillMaskD, (v, m) -> m != 0 ? f(-1e4f) : v), x -> x[0].maskedFill(fillMask, -1e4f),
                in -> in.of(in.rand(3, 4))));
        all.add(c("dropout (fixed seed)", d -> d[0].mul(dropMask), x -> Ops.dropout(x[0], 0.3f, new SplittableRandom(5), true), in -> in.of(in.rand(20))));

        // soft-target cross-entropy: -sum_c q_c log softmax(x)_c per row, a -inf logit with q = 0 in row 1
        Tensor softTarget = Tensor.of(new float[] {0.1f, 0.2f, 0.3f, 0.4f, 0f, 0.5f, 0.25f, 0.25f, 0f, 0f, 0f, 1f}, 3, 4);
        DoubleRef softTargetD = DoubleRef.of(softTarget);
        all.add(c("softCrossEntropy", d -> {
            DoubleRef logp = d[0].logSoftmax(-1);
            double[] out = new double[3];
            for (int i = 0; i < 12; i++) if (softTargetD.v[i] != 0) out[i / 4] -= softTargetD.v[i] * logp.v[i];
            return new DoubleRef(out, 3);
        }, x -> Ops.softCrossEntropy(x[0], softTarget), in -> {
            Tensor x = in.rand(3, 4);
            x.set(Float.NEGATIVE_INFINITY, 1, 0);
            return in.of(x);
        }));

        // cross-entropy: mean over the rows not ignored of -((1 - eps) log p_target + eps / classes sum_c log p_c)
        for (float eps : new float[] {0f, 0.1f}) {
            int[] t = targets.toIntArray();
            all.add(c(eps == 0 ? "crossEntropy ignore" : "crossEntropy smoothing", d -> {
                DoubleRef logp = d[0].logSoftmax(-1);
                int classes = d[0].shape[1];
                double loss = 0;
                int used = 0;
                for (int i = 0; i < t.length; i++) {
                    if (t[i] == -100) continue;
                    double all0 = 0;
                    for (int k = 0; k < classes; k++) all0 += logp.v[i * classes + k];
                    loss += -((1 - f(eps)) * logp.v[i * classes + t[i]] + f(eps) / classes * all0);
                    used++;
                }
                return new DoubleRef(new double[] {loss / used});
            }, x -> Ops.crossEntropy(x[0], targets, -100, eps), in -> in.of(in.rand(4, 5))));
        }
        return all.stream();
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("cases")
    void gradientMatchesTheDoubleReference(Case c) {
        c.check().run();
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("cases")
    void aGradientOffByATenthOfAPercentFails(Case c) {
        assertThrows(AssertionFailedError.class, () -> GradCheck.perturbed(1e-3, c.check()));
    }
}
