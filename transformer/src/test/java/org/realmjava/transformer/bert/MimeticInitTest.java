package org.realmjava.transformer.bert;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Map;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.realmjava.tensor.Autograd;
import org.realmjava.tensor.Tensor;

/** Mimetic initialisation: W_q = W_k, W_o W_v ~ gain I, the MLM head's dense = gain I, and the forward pass sees it. */
class MimeticInitTest {
    private static final int H = 64;
    private static final BertConfig CONFIG = BertConfig.tiny(50, H, 2, 2, 128, 16, 0f);

    /** Mean of the diagonal and root mean square of the off-diagonal of W_o W_v (both [H, H], y = W x). */
    private static double[] ovStats(Map<String, Tensor> p, int layer) {
        float[] v = p.get("encoder.layer." + layer + ".attention.self.value.weight").toFloatArray();
        float[] o = p.get("encoder.layer." + layer + ".attention.output.dense.weight").toFloatArray();
        double diag = 0, off = 0;
        for (int i = 0; i < H; i++) {
            for (int j = 0; j < H; j++) {
                double s = 0;
                for (int m = 0; m < H; m++) s += (double) o[i * H + m] * v[m * H + j];
                if (i == j) diag += s;
                else off += s * s;
            }
        }
        return new double[] {diag / H, Math.sqrt(off / (H * (H - 1)))};
    }

    @Test
    void attentionAndHeadWeightsTakeTheMimeticStructure() {
        BertEncoder plain = BertEncoder.random(CONFIG, 3), mimetic = BertEncoder.random(CONFIG, 3);
        MimeticInit.apply(mimetic, new Random(4), 0.05f, 1.5f);
        Map<String, Tensor> p = mimetic.namedParameters(), q = plain.namedParameters();
        for (int l = 0; l < CONFIG.layers(); l++) {
            String n = "encoder.layer." + l + ".attention.self.";
            assertArrayEquals(p.get(n + "query.weight").toFloatArray(), p.get(n + "key.weight").toFloatArray());
            float[] w = p.get(n + "query.weight").toFloatArray();
            double ss = 0;
            for (float x : w) ss += (double) x * x;
            assertEquals(0.05, Math.sqrt(ss / w.length), 0.005, "W_q's scale");
            double[] ov = ovStats(p, l), plainOv = ovStats(q, l);
            // Wishart with as many rows as columns: diagonal 1 +- sqrt(2/H), off-diagonal ~ 1/sqrt(H), times the gain
            assertEquals(1.5, ov[0], 0.15, "mean of diag(W_o W_v)");
            assertTrue(ov[1] < 0.35 * 1.5, "off-diagonal rms " + ov[1]);
            assertTrue(Math.abs(plainOv[0]) < 0.01, "BERT's own init has no such structure: " + plainOv[0]);
        }
        MaskedLanguageModelHead head = new MaskedLanguageModelHead(mimetic, 5);
        MimeticInit.apply(head, 2f);
        float[] dense = head.transform.weight.toFloatArray();
        for (int i = 0; i < H; i++) for (int j = 0; j < H; j++) assertEquals(i == j ? 2f : 0f, dense[i * H + j]);
    }

    /** The rewrite reaches the fused query/key/value storage that inference reads, and the recorded path agrees with it. */
    @Test
    void theForwardPassReadsTheRewrittenWeights() {
        BertEncoder e = BertEncoder.random(CONFIG, 3);
        Tensor ids = Tensor.ofInts(new int[] {1, 5, 7, 9, 2, 1, 9, 2}, 2, 4), types = Tensor.ofInts(new int[8], 2, 4);
        Tensor mask = Tensor.of(new float[] {1, 1, 1, 1, 1, 1, 1, 1}, 2, 4);
        float[] before;
        try (var g = Autograd.noGrad()) {
            before = e.forward(ids, types, mask, null).toFloatArray();
        }
        MimeticInit.apply(e, new Random(4), 0.05f, 1f);
        float[] inference, recorded = e.forward(ids, types, mask, null).toFloatArray();
        try (var g = Autograd.noGrad()) {
            inference = e.forward(ids, types, mask, null).toFloatArray();
        }
        double changed = 0;
        for (int i = 0; i < before.length; i++) {
            changed = Math.max(changed, Math.abs(inference[i] - before[i]));
            assertEquals(recorded[i], inference[i], 1e-4f);
        }
        assertTrue(changed > 0.01, "the forward pass did not change: " + changed);
    }
}
