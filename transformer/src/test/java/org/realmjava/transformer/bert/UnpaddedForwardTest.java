package org.realmjava.transformer.bert;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.realmjava.tensor.Autograd;
import org.realmjava.tensor.Ops;
import org.realmjava.tensor.Tensor;

/**
 * BertEncoder.forwardUnpadded (the token rows of all sequences as one activation, attention kept
 * within each sequence) against the padded forward: every real row has the same bits, and the
 * segment mean equals the masked mean of the padded batch.
 */
class UnpaddedForwardTest {
    private static List<int[]> sequences(Random rng, int vocab, int... lens) {
        List<int[]> out = new ArrayList<>();
        for (int len : lens) {
            int[] s = new int[len];
            for (int i = 0; i < len; i++) s[i] = 1 + rng.nextInt(vocab - 1);
            out.add(s);
        }
        return out;
    }

    private static List<int[]> types(List<int[]> ids) {
        List<int[]> out = new ArrayList<>();
        for (int[] s : ids) {
            int[] t = new int[s.length];
            for (int i = s.length / 2; i < s.length; i++) t[i] = 1;
            out.add(t);
        }
        return out;
    }

    @Test
    void everyRealRowHasThePaddedBatchsBits() {
        // a BERT-base-like head layout (4 x 32) and a tiny one; lengths with 8-row and 16-lane tails, one token, a long one
        BertConfig[] configs = {BertConfig.tiny(60, 128, 2, 4, 256, 80), new BertConfig(30, 8, 2, 2, 16, 64, 2, 1e-5f, "gelu_new", 0.1f)};
        int[][] lengths = {{21, 1, 7, 33, 64, 24}, {5}, {17, 16, 9}};
        for (BertConfig c : configs) {
            BertEncoder e = BertEncoder.random(c, 3);
            for (int[] lens : lengths) {
                Random rng = new Random(Arrays.hashCode(lens));
                List<int[]> ids = sequences(rng, c.vocabSize(), lens), types = types(ids);
                int n = lens.length, max = Arrays.stream(lens).max().orElseThrow();
                int[] pid = new int[n * max], ptype = new int[n * max];
                float[] mask = new float[n * max];
                for (int s = 0; s < n; s++) {
                    System.arraycopy(ids.get(s), 0, pid, s * max, lens[s]);
                    System.arraycopy(types.get(s), 0, ptype, s * max, lens[s]);
                    Arrays.fill(mask, s * max, s * max + lens[s], 1f);
                }
                try (var g = Autograd.noGrad()) {
                    Tensor padMask = Tensor.of(mask, n, max);
                    Tensor padded = e.forward(Tensor.ofInts(pid, n, max), Tensor.ofInts(ptype, n, max), padMask, null);
                    BertEncoder.Unpadded u = e.forwardUnpadded(ids, types);
                    int h = c.hiddenSize();
                    float[] p = padded.toFloatArray(), q = u.hidden().toFloatArray();
                    assertTrue(Arrays.equals(u.lens(), lens) && u.hidden().size(1) == Arrays.stream(lens).sum());
                    for (int s = 0; s < n; s++) {
                        for (int i = 0; i < lens[s]; i++) {
                            float[] want = Arrays.copyOfRange(p, (s * max + i) * h, (s * max + i + 1) * h);
                            float[] got = Arrays.copyOfRange(q, (u.starts()[s] + i) * h, (u.starts()[s] + i + 1) * h);
                            assertArrayEquals(want, got, "hidden " + c.hiddenSize() + " lengths " + Arrays.toString(lens) + ": sequence " + s + " row " + i);
                        }
                    }
                    assertArrayEquals(BertEncoder.poolMean(padded, padMask).toFloatArray(), Ops.segmentMean(u.hidden(), u.starts(), u.lens()).toFloatArray(),
                            "mean pooling, lengths " + Arrays.toString(lens));
                }
            }
        }
    }

    @Test
    void refusesToRecordAGraphAndBadSequences() {
        BertEncoder e = BertEncoder.random(BertConfig.tiny(30, 8, 1, 2, 16, 10), 1);
        e.namedParameters().values().forEach(t -> t.requiresGrad(true));
        List<int[]> ids = List.of(new int[] {1, 2, 3});
        IllegalArgumentException graph = assertThrows(IllegalArgumentException.class, () -> e.forwardUnpadded(ids, List.of(new int[3])));
        assertTrue(graph.getMessage().contains("inference"), graph.getMessage());
        try (var g = Autograd.noGrad()) {
            assertTrue(assertThrows(IllegalArgumentException.class, () -> e.forwardUnpadded(List.of(new int[11]), List.of(new int[11])))
                    .getMessage().contains("max_position_embeddings"));
            assertTrue(assertThrows(IllegalArgumentException.class, () -> e.forwardUnpadded(List.of(new int[0]), List.of(new int[0])))
                    .getMessage().contains("empty"));
            assertTrue(assertThrows(IllegalArgumentException.class, () -> e.forwardUnpadded(ids, List.of(new int[2])))
                    .getMessage().contains("type ids"));
            BertEncoder.Unpadded none = e.forwardUnpadded(List.of(), List.of());
            assertTrue(none.hidden().size(1) == 0 && none.starts().length == 0, "no sequences: no rows");
        }
    }
}
