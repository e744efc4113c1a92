package org.realmjava.bench;

import java.util.Random;
import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Warmup;
import org.realmjava.tensor.Autograd;
import org.realmjava.tensor.Ops;
import org.realmjava.tensor.Tensor;

/**
 * Multi-head self-attention context at MiniLM sizes (12 heads of 32, len 128). Inference:
 * fused = Ops.attention (one kernel, SimdAttention), composed = what the encoder ran before it
 * (head permutes, batched q k^T, fused scaled-masked softmax, batched probs v, permute back);
 * 4 * batch * heads * len^2 * headDim FLOP per call. Training (fused-train, composed-train):
 * forward with dropout 0.1 on the probabilities plus the backward to q, k and v, three times the
 * inference FLOP.
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MILLISECONDS)
@Fork(value = 1, jvmArgsAppend = {"--add-modules", "jdk.incubator.vector", "--enable-native-access=ALL-UNNAMED", "-XX:-UseProfiledLoopPredicate", "-Xmx4g"})
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 5, time = 1)
public class AttentionBenchmark {
    @Param({"32", "1"})
    public int batch;

    @Param({"fused", "composed", "fused-train", "composed-train"})
    public String impl;

    static final int LEN = 128, HEADS = 12, HEAD_DIM = 32;
    Tensor q, k, v, mask, seed;
    Autograd.Scope noGrad;
    java.util.SplittableRandom dropout = new java.util.SplittableRandom(1);

    @Setup(Level.Trial)
    public void setup() {
        Random rng = new Random(1);
        long w = (long) HEADS * HEAD_DIM;
        q = Tensor.uniform(rng, -1, 1, batch, LEN, w);
        k = Tensor.uniform(rng, -1, 1, batch, LEN, w);
        v = Tensor.uniform(rng, -1, 1, batch, LEN, w);
        mask = Tensor.zeros(batch, LEN);
        seed = Tensor.uniform(rng, -1, 1, batch, LEN, w);
        if (impl.endsWith("-train")) {
            for (Tensor t : new Tensor[] {q, k, v}) t.requiresGrad(true);
        }
        noGrad = impl.endsWith("-train") ? null : Autograd.noGrad();
    }

    @TearDown(Level.Trial)
    public void tearDown() {
        if (noGrad != null) noGrad.close();
    }

    @Benchmark
    public Tensor attention() {
        float scale = (float) (1 / Math.sqrt(HEAD_DIM));
        switch (impl) {
            case "fused":
                return Ops.attention(q, k, v, mask, HEADS, scale);
            case "composed":
                return composed(scale, 0f);
            case "fused-train":
                return backward(Ops.attention(q, k, v, mask, HEADS, scale, 0.1f, dropout));
            default:
                return backward(composed(scale, 0.1f));
        }
    }

    private Tensor composed(float scale, float p) {
        Tensor qh = q.reshape(batch, LEN, HEADS, HEAD_DIM).permute(0, 2, 1, 3);
        Tensor kh = k.reshape(batch, LEN, HEADS, HEAD_DIM).permute(0, 2, 1, 3);
        Tensor vh = v.reshape(batch, LEN, HEADS, HEAD_DIM).permute(0, 2, 1, 3);
        Tensor probs = Ops.dropout(Ops.attentionSoftmax(qh.matmul(kh.transpose(-1, -2)), scale, mask), p, dropout, p > 0);
        return probs.matmul(vh).permute(0, 2, 1, 3).reshape(batch, LEN, (long) HEADS * HEAD_DIM);
    }

    /** Backward from a fixed random seed gradient; the gradients are dropped for the next call. */
    private Tensor backward(Tensor out) {
        out.mul(seed).sum().backward();
        Tensor g = q.grad();
        for (Tensor t : new Tensor[] {q, k, v}) t.zeroGrad();
        return g;
    }
}
