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
 * by length, so that a batch's products have rows of similar work); rows come back in block order.
 * A batch runs unpadded (BertEncoder.forwardUnpadded: the blocks' token rows one after another,
 * each block attending to itself), so no work goes into padding. The result for a block does not
 * depend on the thread that runs it (the pool's split depends only on sizes) and, within one batch
 * size, not on the batches beside it except through which GEMM path the batch's row count picks.
 */
public final class DocumentEmbedder {
    private DocumentEmbedder() {}

    /** [blocks, projectionDim] row-major. progress gets the number of blocks done. */
    public static float[] embed(RealmModel.DocumentTower tower, BlockInputs blocks, int sepId, int batchSize, LongConsumer progress) {
        return run(blocks, sepId, batchSize, progress, tower.spec().projectionDim(), (ids, types) -> tower.embedUnpadded(ids, types).toFloatArray());
    }

    /** Pooled (pre-projection) vectors [blocks, hidden]: the input of the corpus PCA. */
    public static float[] pooled(RetrieverSpec spec, BertEncoder tower, BlockInputs blocks, int sepId, int batchSize, LongConsumer progress) {
        return run(blocks, sepId, batchSize, progress, tower.config.hiddenSize(),
                (ids, types) -> RealmModel.poolUnpadded(spec, tower, ids, types).toFloatArray());
    }

    private interface BatchFn {
        float[] apply(List<int[]> ids, List<int[]> types);
    }

    private static float[] run(BlockInputs blocks, int sepId, int batchSize, LongConsumer progress, int dim, BatchFn fn) {
        float[] out = new float[blocks.size() * dim];
        long done = 0;
        try (var g = Autograd.noGrad()) {
            for (int[] batch : batches(blocks, batchSize, MAX_BATCH_TOKENS)) {
                List<int[]> ids = new ArrayList<>(batch.length), types = new ArrayList<>(batch.length);
                for (int b : batch) {
                    ids.add(blocks.ids(b));
                    types.add(BlockInputs.typeIds(blocks.ids(b), sepId));
                }
                float[] rows = fn.apply(ids, types);
                for (int i = 0; i < batch.length; i++) System.arraycopy(rows, i * dim, out, batch[i] * dim, dim);
                done += batch.length;
                if (progress != null) progress.accept(done);
            }
        }
        return out;
    }

    /**
     * Wordpieces per forward pass at most (a single longer block still gets a pass of its own;
     * -Drealm.refresh.maxTokens sets it):
     * every product of the pass then has at most 2,048 rows and stays on the packed-weight GEMM
     * path (whose limit stays at 2,048 rows: docs/architecture.md, "GEMM choice"). Measured
     * (RefreshBatchings, passes in rotation in one JVM): WordNet glosses ran 349-363 blocks/s at
     * 640 to 4,096 wordpieces a pass (flat); 412 SQuAD blocks 43.7 at 2,048 and 45.6 at 4,096
     * (packed GEMM for both, the limit raised for that run) against 40.1 in passes of 32 blocks
     * (5,000+ rows: the generic GEMM).
     */
    public static final int MAX_BATCH_TOKENS = Integer.getInteger("realm.refresh.maxTokens", 2048);

    /**
     * The forward passes of an embedding run: block indices sorted by length (ties in block order),
     * cut into runs of at most maxBlocks blocks and maxTokens wordpieces. Short blocks share a pass
     * by the hundred and long ones by the dozen, so each pass's products have rows enough to keep
     * both cores busy and few enough to stay on the fastest GEMM path.
     */
    public static int[][] batches(BlockInputs blocks, int maxBlocks, int maxTokens) {
        if (maxBlocks < 1 || maxTokens < 1) throw new IllegalArgumentException("batches: maxBlocks and maxTokens must be at least 1, got " + maxBlocks + ", " + maxTokens);
        int n = blocks.size();
        Integer[] order = new Integer[n];
        for (int i = 0; i < n; i++) order[i] = i;
        Arrays.sort(order, Comparator.comparingInt(i -> blocks.ids(i).length));
        List<int[]> out = new ArrayList<>();
        for (int start = 0; start < n; ) {
            int end = start, tokens = 0;
            while (end < n && end - start < maxBlocks && (end == start || tokens + blocks.ids(order[end]).length <= maxTokens)) {
                tokens += blocks.ids(order[end]).length;
                end++;
            }
            int[] batch = new int[end - start];
            for (int i = 0; i < batch.length; i++) batch[i] = order[start + i];
            out.add(batch);
            start = end;
        }
        return out.toArray(new int[0][]);
    }
}
