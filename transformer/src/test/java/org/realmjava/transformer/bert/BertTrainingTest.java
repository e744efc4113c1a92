package org.realmjava.transformer.bert;

import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;
import org.realmjava.tensor.Autograd;
import org.realmjava.tensor.Ops;
import org.realmjava.tensor.Tensor;
import org.realmjava.tensor.optim.AdamW;

/** Backward through the whole encoder by finite differences; a tiny MLM model overfits a few sentences. */
class BertTrainingTest {
    static final BertConfig TINY = new BertConfig(20, 8, 2, 2, 16, 8, 2, 1e-5f, "gelu", 0.1f);

    private static double loss(BertEncoder e, Tensor ids, Tensor types, Tensor mask, float[] w) {
        float[] h = e.forward(ids, types, mask, null).toFloatArray();
        double s = 0;
        for (int i = 0; i < h.length; i++) s += (double) h[i] * w[i];
        return s;
    }

    /**
     * Inference (fused QKV GEMM + fused attention kernel) and the recorded path (separate query/key/value
     * Linears, composed attention) agree, also after an optimizer step has updated the parameters in
     * place through the query/key/value views of the fused storage.
     */
    @Test
    void inferencePathMatchesRecordedPathAfterAnUpdate() {
        Tensor ids = Tensor.ofInts(new int[] {1, 5, 7, 2, 0, 1, 9, 2}, 2, 4);
        Tensor mask = Tensor.of(new float[] {1, 1, 1, 1, 1, 1, 0, 0}, 2, 4);
        inferenceMatchesRecorded(TINY, ids, mask);
        // BERT-base-like heads (2 x 64) with the tanh GELU, 3 sequences of 37 with padding
        BertConfig wide = new BertConfig(50, 128, 2, 2, 256, 64, 2, 1e-12f, "gelu_new", 0.1f);
        int b = 3, len = 37;
        int[] idv = new int[b * len];
        float[] m = new float[b * len];
        for (int i = 0; i < idv.length; i++) {
            idv[i] = (i * 7) % 50;
            m[i] = i % len < len - 5 * (i / len) ? 1 : 0;
        }
        inferenceMatchesRecorded(wide, Tensor.ofInts(idv, b, len), Tensor.of(m, b, len));
    }

    private static void inferenceMatchesRecorded(BertConfig config, Tensor ids, Tensor mask) {
        BertEncoder e = BertEncoder.random(config, 5);
        Tensor types = Tensor.ofInts(new int[(int) ids.numel()], ids.shape());
        AdamW opt = AdamW.bertDefaults(e.namedParameters());
        for (int step = 0; step < 2; step++) {
            Tensor recorded = e.forward(ids, types, mask, null);
            assertTrue(recorded.requiresGrad());
            float[] inference;
            try (var g = Autograd.noGrad()) {
                inference = e.forward(ids, types, mask, null).toFloatArray();
            }
            float[] r = recorded.toFloatArray();
            for (int i = 0; i < r.length; i++) {
                if (Math.abs(r[i] - inference[i]) > 1e-5 + 1e-5 * Math.abs(r[i])) fail("step " + step + " index " + i + ": " + r[i] + " vs " + inference[i]);
            }
            recorded.sum().backward();
            opt.step(0.05f);
            opt.zeroGrad();
        }
    }

    @Test
    void encoderGradientsMatchFiniteDifferences() {
        BertEncoder e = BertEncoder.random(TINY, 3);
        // larger weights than BERT's 0.02 so the attention and GELU are far from linear
        Random rng = new Random(4);
        for (Tensor p : e.namedParameters().values()) {
            try (var g = Autograd.noGrad()) {
                p.copyFrom(p.add(Tensor.randn(rng, 0.3f, p.shape())));
            }
        }
        Tensor ids = Tensor.ofInts(new int[] {1, 5, 7, 2, 0, 1, 9, 2}, 2, 4);
        Tensor types = Tensor.ofInts(new int[] {0, 0, 1, 1, 0, 0, 0, 0}, 2, 4);
        Tensor mask = Tensor.of(new float[] {1, 1, 1, 1, 1, 1, 1, 0}, 2, 4);
        float[] w = new float[2 * 4 * 8];
        for (int i = 0; i < w.length; i++) w[i] = (float) rng.nextGaussian();
        Tensor out = e.forward(ids, types, mask, null);
        out.mul(Tensor.of(w, 2, 4, 8)).sum().backward();
        Map<String, Tensor> params = e.namedParameters();
        List<String> checked = List.of("embeddings.word_embeddings.weight", "embeddings.position_embeddings.weight",
                "embeddings.token_type_embeddings.weight", "embeddings.LayerNorm.weight", "encoder.layer.0.attention.self.query.weight",
                "encoder.layer.0.attention.self.key.bias", "encoder.layer.0.attention.self.value.weight",
                "encoder.layer.1.attention.output.LayerNorm.weight", "encoder.layer.1.intermediate.dense.weight",
                "encoder.layer.1.output.dense.bias");
        // f32 forward, double difference quotient: tolerance as in the tensor module's GradCheck
        for (String name : checked) {
            Tensor p = params.get(name);
            float[] g = p.grad().toFloatArray();
            long n = p.numel();
            for (int c = 0; c < 6; c++) {
                long flat = (long) (rng.nextDouble() * n);
                long[] idx = new long[p.rank()];
                long rem = flat;
                for (int d = p.rank() - 1; d >= 0; d--) {
                    idx[d] = rem % p.size(d);
                    rem /= p.size(d);
                }
                float orig = p.get(idx);
                float h = 1e-2f * Math.max(1f, Math.abs(orig));
                double lp, lm;
                try (var gg = Autograd.noGrad()) {
                    p.set(orig + h, idx);
                    lp = loss(e, ids, types, mask, w);
                    p.set(orig - h, idx);
                    lm = loss(e, ids, types, mask, w);
                    p.set(orig, idx);
                }
                double numeric = (lp - lm) / ((double) (orig + h) - (double) (orig - h));
                double analytic = g[(int) flat];
                if (!(Math.abs(analytic - numeric) <= 5e-3 + 3e-2 * Math.abs(numeric))) {
                    fail(name + java.util.Arrays.toString(idx) + ": analytic " + analytic + " numeric " + numeric);
                }
            }
        }
    }

    @Test
    void tinyMaskedLanguageModelOverfits() {
        BertConfig c = new BertConfig(30, 32, 2, 4, 64, 16, 2, 1e-12f, "gelu", 0.1f);
        BertEncoder e = BertEncoder.random(c, 11);
        MaskedLanguageModelHead head = new MaskedLanguageModelHead(e, 12);
        Map<String, Tensor> params = new LinkedHashMap<>(e.namedParameters());
        head.collectParameters("", params);
        // four 8-token "sentences"; the model must recover the masked positions (id 3 = [MASK])
        int[][] sentences = {{1, 10, 11, 12, 13, 14, 15, 2}, {1, 16, 17, 18, 19, 20, 21, 2}, {1, 22, 23, 10, 24, 25, 26, 2}, {1, 27, 28, 29, 11, 16, 22, 2}};
        int[] masked = {2, 5, 3, 6};
        int b = sentences.length, len = 8;
        int[] ids = new int[b * len], targets = new int[b * len];
        java.util.Arrays.fill(targets, -100);
        for (int i = 0; i < b; i++) {
            for (int j = 0; j < len; j++) ids[i * len + j] = sentences[i][j];
            ids[i * len + masked[i]] = 3;
            targets[i * len + masked[i]] = sentences[i][masked[i]];
        }
        Tensor idsT = Tensor.ofInts(ids, b, len), types = Tensor.ofInts(new int[b * len], b, len), mask = Tensor.ones(b, len);
        Tensor tgt = Tensor.ofInts(targets);
        AdamW opt = AdamW.bertDefaults(params);
        SplittableRandom dropout = new SplittableRandom(5);
        float first = 0, last = 0;
        for (int step = 0; step < 150; step++) {
            opt.zeroGrad();
            Tensor hidden = e.forward(idsT, types, mask, dropout).reshape(b * len, c.hiddenSize());
            Tensor loss = Ops.crossEntropy(head.logits(hidden), tgt, -100, 0f);
            loss.backward();
            opt.step(3e-3f);
            if (step == 0) first = loss.item();
            last = loss.item();
        }
        System.out.printf("tiny MLM: loss %.3f -> %.3f in 150 steps%n", first, last);
        // ln(30) = 3.4 at chance; memorising 4 masked tokens must get far below
        assertTrue(first > 2.5 && last < 0.3f, "MLM loss should fall from ~ln(vocab) to below 0.3: " + first + " -> " + last);
    }
}
