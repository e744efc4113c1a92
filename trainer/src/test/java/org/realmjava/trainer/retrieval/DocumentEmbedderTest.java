package org.realmjava.trainer.retrieval;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.realmjava.tensor.Autograd;
import org.realmjava.trainer.config.InitConfig;
import org.realmjava.trainer.corpus.BlockSplitter;
import org.realmjava.trainer.corpus.CorpusFormat;
import org.realmjava.trainer.corpus.CorpusReader;
import org.realmjava.trainer.model.ModelInit;
import org.realmjava.trainer.model.RealmModel;

/** The refresh's passes (sorted, bounded by blocks and wordpieces) and its unpadded vectors against the padded tower's. */
class DocumentEmbedderTest {
    private static final ModelInit.Result INIT = ModelInit.create(
            new InitConfig(null, null, null, new InitConfig.RandomBert(2, 64, 4, 128), null, null), 32, false, 3);
    private static final BlockInputs BLOCKS = new BlockInputs(
            new BlockSplitter(INIT.tokenizer(), 64).split(CorpusReader.read(null, CorpusFormat.WORDNET, 300)), INIT.tokenizer(), 64);

    @Test
    void passesAreSortedAndBoundedAndCoverEveryBlockOnce() {
        for (int[] limits : new int[][] {{256, 4096}, {32, 100_000}, {7, 150}, {1000, 1}}) {
            int[][] passes = DocumentEmbedder.batches(BLOCKS, limits[0], limits[1]);
            boolean[] seen = new boolean[BLOCKS.size()];
            int last = 0;
            for (int[] pass : passes) {
                int tokens = 0;
                assertTrue(pass.length >= 1 && pass.length <= limits[0], "pass of " + pass.length + " blocks, limit " + limits[0]);
                for (int b : pass) {
                    assertTrue(!seen[b], "block " + b + " twice");
                    seen[b] = true;
                    int len = BLOCKS.ids(b).length;
                    assertTrue(len >= last, "not sorted by length");
                    last = len;
                    tokens += len;
                }
                // over the budget only as a pass of one block
                assertTrue(tokens <= limits[1] || pass.length == 1, tokens + " wordpieces in a pass of " + pass.length + ", budget " + limits[1]);
            }
            for (int b = 0; b < seen.length; b++) assertTrue(seen[b], "block " + b + " in no pass");
        }
        assertEquals(BLOCKS.size(), DocumentEmbedder.batches(BLOCKS, 1000, 1).length); // every block alone
        assertThrows(IllegalArgumentException.class, () -> DocumentEmbedder.batches(BLOCKS, 0, 10));
    }

    @Test
    void unpaddedVectorsEqualThePaddedTowers() {
        RealmModel.DocumentTower tower = INIT.model().documentTower();
        int sep = INIT.tokenizer().sepId(), pad = INIT.tokenizer().padId(), dim = tower.spec().projectionDim();
        float[] refresh = DocumentEmbedder.embed(tower, BLOCKS, sep, 256, null);
        // the same blocks through the padded forward, 32 at a time in sorted order (the earlier refresh)
        float[] padded = new float[refresh.length];
        try (var g = Autograd.noGrad()) {
            for (int[] pass : DocumentEmbedder.batches(BLOCKS, 32, Integer.MAX_VALUE)) {
                List<int[]> ids = new ArrayList<>(), types = new ArrayList<>();
                for (int b : pass) {
                    ids.add(BLOCKS.ids(b));
                    types.add(BlockInputs.typeIds(BLOCKS.ids(b), sep));
                }
                Batches bt = Batches.pad(ids, types, pad);
                float[] rows = tower.embed(bt.ids(), bt.types(), bt.mask()).toFloatArray();
                for (int i = 0; i < pass.length; i++) System.arraycopy(rows, i * dim, padded, pass[i] * dim, dim);
            }
        }
        assertArrayEquals(padded, refresh);
    }
}
