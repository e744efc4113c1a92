package org.realmjava.transformer.bert;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;

import java.util.LinkedHashMap;
import java.util.Map;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;
import org.realmjava.tensor.Autograd;
import org.realmjava.tensor.Ops;
import org.realmjava.tensor.Tensor;
import org.realmjava.transformer.bert.BertEncoder.LayerMemory;

/**
 * Recomputing each layer in the backward (LayerMemory.RECOMPUTE) gives the bits of keeping its
 * activations: with dropout the same as SEEDED (the same per-layer seeds), without dropout the same
 * as KEEP; the gradients of every parameter and of a leaf feeding the encoder included.
 */
class LayerRecomputeTest {
    private static final int B = 3, LEN = 11;

    /** Loss = sum(hidden * w) + sum over the word-embedding rows used, so that a gradient also flows in from outside the encoder. */
    private static Map<String, float[]> gradients(BertConfig config, LayerMemory memory, long dropoutSeed) {
        BertEncoder e = BertEncoder.random(config, 7);
        int[] ids = new int[B * LEN];
        float[] mask = new float[B * LEN];
        for (int i = 0; i < ids.length; i++) {
            ids[i] = (i * 13 + 5) % config.vocabSize();
            mask[i] = i % LEN < LEN - 3 * (i / LEN) ? 1 : 0;
        }
        Tensor idT = Tensor.ofInts(ids, B, LEN), types = Tensor.ofInts(new int[B * LEN], B, LEN), maskT = Tensor.of(mask, B, LEN);
        SplittableRandom rng = new SplittableRandom(dropoutSeed);
        Tensor hidden = e.forward(idT, types, maskT, rng, memory);
        float[] w = new float[(int) hidden.numel()];
        SplittableRandom wr = new SplittableRandom(3);
        for (int i = 0; i < w.length; i++) w[i] = (float) (wr.nextDouble() * 2 - 1);
        hidden.mul(Tensor.of(w, hidden.shape())).sum().backward();
        Map<String, float[]> out = new LinkedHashMap<>();
        out.put("hidden", hidden.detach().toFloatArray());
        for (var p : e.namedParameters().entrySet()) {
            assertNotNull(p.getValue().grad(), memory + ": no gradient for " + p.getKey());
            out.put(p.getKey(), p.getValue().grad().toFloatArray());
        }
        return out;
    }

    private static void assertSameBits(Map<String, float[]> expected, Map<String, float[]> actual, String what) {
        assertEquals(expected.keySet(), actual.keySet());
        for (String k : expected.keySet()) assertArrayEquals(expected.get(k), actual.get(k), what + ": " + k);
    }

    @Test
    void recomputedLayersGiveTheKeptGradientsBitForBit() {
        BertConfig noDropout = new BertConfig(40, 32, 3, 4, 64, 16, 2, 1e-12f, "gelu", 0f);
        assertSameBits(gradients(noDropout, LayerMemory.KEEP, 1), gradients(noDropout, LayerMemory.RECOMPUTE, 1), "dropout 0, KEEP vs RECOMPUTE");
        BertConfig dropout = new BertConfig(40, 32, 3, 4, 64, 16, 2, 1e-12f, "gelu", 0.2f);
        Map<String, float[]> seeded = gradients(dropout, LayerMemory.SEEDED, 1);
        assertSameBits(seeded, gradients(dropout, LayerMemory.RECOMPUTE, 1), "dropout 0.2, SEEDED vs RECOMPUTE");
        // the dropout is real: another seed gives other gradients
        assertFalse(java.util.Arrays.equals(seeded.get("encoder.layer.1.intermediate.dense.weight"),
                gradients(dropout, LayerMemory.RECOMPUTE, 2).get("encoder.layer.1.intermediate.dense.weight")));
    }

    /** A recomputed layer inside a larger graph: the input's gradient reaches the leaf before it, added to its other uses. */
    @Test
    void gradientFlowsThroughARecomputedFunctionIntoTheGraphAround() {
        SplittableRandom r = new SplittableRandom(5);
        float[] xv = new float[12], wv = new float[12];
        for (int i = 0; i < 12; i++) {
            xv[i] = (float) r.nextDouble();
            wv[i] = (float) r.nextDouble();
        }
        Tensor[] grads = new Tensor[4];
        for (int pass = 0; pass < 2; pass++) {
            Tensor x = Tensor.of(xv, 3, 4).requiresGrad(true), w = Tensor.of(wv, 3, 4).requiresGrad(true);
            Tensor h = x.mul(x);
            java.util.function.UnaryOperator<Tensor> f = in -> Ops.dropout(in.mul(w).tanh(), 0f, null, false).exp();
            Tensor y = pass == 0 ? f.apply(h) : Autograd.recompute("test", h, f, java.util.List.of(w));
            y.add(h).sum().backward();
            grads[2 * pass] = x.grad();
            grads[2 * pass + 1] = w.grad();
        }
        assertArrayEquals(grads[0].toFloatArray(), grads[2].toFloatArray(), "x");
        assertArrayEquals(grads[1].toFloatArray(), grads[3].toFloatArray(), "w");
    }
}
