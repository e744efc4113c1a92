package org.realmjava.trainer.retrieval;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.List;
import java.util.function.LongConsumer;
import org.realmjava.tensor.Autograd;
import org.realmjava.trainer.model.RealmModel;
import org.realmjava.trainer.model.RetrieverSpec;
import org.realmjava.transformer.bert.BertEncoder;

/**
 * Embeds every block with a document tower, without a graph, in batches of similar length (sorted
 * by length: less padding); rows come back in block order. The result for a block does not depend
 * on the thread that runs it (the pool's split depends only on sizes) and, within one batch size,
 * not on the batches beside it (padding keys get exactly zero attention).
 */
public final class DocumentEmbedder {
    private DocumentEmbedder() {}

    /** [blocks, projectionDim] row-major. progress gets the number of blocks done. */
    public static float[] embed(RealmModel.DocumentTower tower, BlockInputs blocks, int padId, int sepId, int batchSize, LongConsumer progress) {
        return run(blocks, padId, sepId, batchSize, progress, tower.spec().projectionDim(), b -> tower.embed(b.ids(), b.types(), b.mask()).toFloatArray());
    }

    /** Pooled (pre-projection) vectors [blocks, hidden]: the input of the corpus PCA. */
    public static float[] pooled(RetrieverSpec spec, BertEncoder tower, BlockInputs blocks, int padId, int sepId, int batchSize, LongConsumer progress) {
        return run(blocks, padId, sepId, batchSize, progress, tower.config.hiddenSize(),
                b -> RealmModel.pool(spec, tower, b.ids(), b.types(), b.mask(), null).toFloatArray());
    }

    private interface BatchFn {
        float[] apply(Batches b);
    }

    private static float[] run(BlockInputs blocks, int padId, int sepId, int batchSize, LongConsumer progress, int dim, BatchFn fn) {
        int n = blocks.size();
        Integer[] order = new Integer[n];
        for (int i = 0; i < n; i++) order[i] = i;
        Arrays.sort(order, Comparator.comparingInt(i -> blocks.ids(i).length));
        float[] out = new float[n * dim];
        try (var g = Autograd.noGrad()) {
            for (int start = 0; start < n; start += batchSize) {
                int m = Math.min(batchSize, n - start);
                List<int[]> ids = new ArrayList<>(m), types = new ArrayList<>(m);
                for (int i = 0; i < m; i++) {
                    int[] s = blocks.ids(order[start + i]);
                    ids.add(s);
                    types.add(BlockInputs.typeIds(s, sepId));
                }
                float[] rows = fn.apply(Batches.pad(ids, types, padId));
                for (int i = 0; i < m; i++) System.arraycopy(rows, i * dim, out, order[start + i] * dim, dim);
                if (progress != null) progress.accept(start + m);
            }
        }
        return out;
    }
}
