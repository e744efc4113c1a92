package org.realmjava.trainer.retrieval;

import java.util.List;
import org.realmjava.tensor.Tensor;

/** Padded id / type / mask tensors [n, len] for token sequences of different lengths ([PAD] = padId). */
public record Batches(Tensor ids, Tensor types, Tensor mask, int length, long realTokens) {
    public static Batches pad(List<int[]> ids, List<int[]> types, int padId) {
        int n = ids.size(), len = 0;
        for (int[] s : ids) len = Math.max(len, s.length);
        int[] flatIds = new int[n * len], flatTypes = new int[n * len];
        float[] mask = new float[n * len];
        long real = 0;
        for (int i = 0; i < n; i++) {
            int[] s = ids.get(i), t = types.get(i);
            java.util.Arrays.fill(flatIds, i * len, (i + 1) * len, padId);
            System.arraycopy(s, 0, flatIds, i * len, s.length);
            System.arraycopy(t, 0, flatTypes, i * len, t.length);
            for (int j = 0; j < s.length; j++) mask[i * len + j] = 1f;
            real += s.length;
        }
        return new Batches(Tensor.ofInts(flatIds, n, len), Tensor.ofInts(flatTypes, n, len), Tensor.of(mask, n, len), len, real);
    }
}
