package org.realmjava.bench;

import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Random;
import java.util.SplittableRandom;
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
import org.openjdk.jmh.annotations.Warmup;
import org.realmjava.tensor.Ops;
import org.realmjava.tensor.Tensor;
import org.realmjava.tensor.optim.AdamW;
import org.realmjava.transformer.bert.BertConfig;
import org.realmjava.transformer.bert.BertEncoder;
import org.realmjava.transformer.bert.MaskedLanguageModelHead;

/**
 * One full masked-language-model training step at MiniLM-L6 sizes (6 layers, hidden 384, 12
 * heads, FFN 1536, vocabulary 30522): forward with dropout, MLM loss on the 15% masked
 * positions, backward through everything, AdamW. mlmLogits = masked computes vocabulary logits
 * only at masked positions (as REALM's code does); all computes them everywhere (as Hugging Face's
 * BertForMaskedLM does: ~96 more GFLOP forward per step at these sizes). tokens/s = batch * len / seconds per step. The reference
 * figure from DESIGN.md: PyTorch 1.13 CPU, same shapes, ~1.4k tokens/s on the 2-core machine.
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MILLISECONDS)
@Fork(value = 1, jvmArgsAppend = {"--add-modules", "jdk.incubator.vector", "--enable-native-access=ALL-UNNAMED", "-XX:-UseProfiledLoopPredicate", "-Xmx8g"})
@Warmup(iterations = 4, time = 5)
@Measurement(iterations = 3, time = 5)
public class TrainingStepBenchmark {
    @Param({"32"})
    public int batch;

    @Param({"128"})
    public int len;

    @Param({"masked", "all"})
    public String mlmLogits;

    Tensor maskedPositions, maskedTargets;

    BertEncoder encoder;
    MaskedLanguageModelHead head;
    AdamW optimizer;
    Tensor ids, types, mask, targets;
    SplittableRandom dropout = new SplittableRandom(3);

    @Setup(Level.Trial)
    public void setup() {
        BertConfig c = new BertConfig(30522, 384, 6, 12, 1536, 512, 2, 1e-12f, "gelu", 0.1f);
        encoder = BertEncoder.random(c, 1);
        head = new MaskedLanguageModelHead(encoder, 2);
        Map<String, Tensor> params = new LinkedHashMap<>(encoder.namedParameters());
        head.collectParameters("", params);
        optimizer = AdamW.bertDefaults(params);
        Random rng = new Random(4);
        int n = batch * len;
        int[] idv = new int[n], tgt = new int[n];
        float[] m = new float[n];
        for (int i = 0; i < n; i++) {
            idv[i] = 1000 + rng.nextInt(29000);
            m[i] = 1;
            tgt[i] = -100;
            if (rng.nextDouble() < 0.15) {
                tgt[i] = idv[i];
                idv[i] = 103; // [MASK]
            }
        }
        ids = Tensor.ofInts(idv, batch, len);
        types = Tensor.ofInts(new int[n], batch, len);
        mask = Tensor.of(m, batch, len);
        targets = Tensor.ofInts(tgt);
        int count = 0;
        for (int t : tgt) if (t != -100) count++;
        int[] pos = new int[count], mt = new int[count];
        for (int i = 0, j = 0; i < n; i++) {
            if (tgt[i] != -100) {
                pos[j] = i;
                mt[j++] = tgt[i];
            }
        }
        maskedPositions = Tensor.ofInts(pos);
        maskedTargets = Tensor.ofInts(mt);
    }

    @Benchmark
    public float step() {
        Tensor loss = forwardLoss();
        loss.backward();
        optimizer.step(1e-4f);
        return loss.item();
    }

    /** The step's first part: gradients cleared, forward with dropout, MLM loss (TrainingProfile times it apart). */
    Tensor forwardLoss() {
        optimizer.zeroGrad();
        Tensor hidden = encoder.forward(ids, types, mask, dropout).reshape(batch * len, 384);
        return mlmLogits.equals("all")
                ? Ops.crossEntropy(head.logits(hidden), targets, -100, 0f)
                : Ops.crossEntropy(head.logits(Ops.indexSelect(hidden, 0, maskedPositions)), maskedTargets, -100, 0f);
    }
}
