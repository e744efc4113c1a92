package org.realmjava.trainer.pretrain;

import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import org.realmjava.trainer.corpus.Block;
import org.realmjava.trainer.corpus.Masking;
import org.realmjava.trainer.corpus.MaskedQuery;
import org.realmjava.trainer.train.Seeds;

/**
 * The stream of pre-training queries: every sentence of every training block that can make a
 * query, in an order shuffled per epoch, masked afresh each time it comes round. Everything is a
 * function of (seed, position in the stream), so the data position of a checkpoint is just its
 * step: a resumed run sees exactly the queries the uninterrupted one would have. Held-out blocks
 * (a fraction chosen by hash) give no training queries; their sentences are the held-out set.
 */
public final class PretrainData {
    private final List<Block> blocks;
    private final Masking masking;
    private final long seed;
    private final int[] trainBlock, trainSentence, heldBlock, heldSentence;
    private final Seeds.EpochOrder order;

    public PretrainData(List<Block> blocks, Masking masking, long seed, double heldoutFraction) {
        this.blocks = blocks;
        this.masking = masking;
        this.seed = seed;
        List<int[]> train = new ArrayList<>(), held = new ArrayList<>();
        SplittableRandom probe = new SplittableRandom(seed);
        for (Block b : blocks) {
            boolean heldOut = heldoutFraction > 0 && Long.remainderUnsigned(Seeds.mix(b.hash(), seed), 1_000_000) < heldoutFraction * 1_000_000;
            for (int s = 0; s < b.sentences(); s++) {
                if (masking.mask(b, s, probe) == null) continue; // too short to make a query
                (heldOut ? held : train).add(new int[] {b.index(), s});
            }
        }
        trainBlock = train.stream().mapToInt(p -> p[0]).toArray();
        trainSentence = train.stream().mapToInt(p -> p[1]).toArray();
        heldBlock = held.stream().mapToInt(p -> p[0]).toArray();
        heldSentence = held.stream().mapToInt(p -> p[1]).toArray();
        if (trainBlock.length == 0) throw new IllegalArgumentException("the corpus gives no training queries (no sentence of 4+ wordpieces outside the held-out blocks)");
        order = new Seeds.EpochOrder(trainBlock.length, seed, Seeds.Stream.QUERY_ORDER);
    }

    public int trainingQueries() {
        return trainBlock.length;
    }

    public int heldoutQueries() {
        return heldBlock.length;
    }

    public List<Block> blocks() {
        return blocks;
    }

    /** The query at a position of the training stream. */
    public MaskedQuery query(long position) {
        int i = order.at(position);
        return maskOrFail(trainBlock[i], trainSentence[i], Seeds.Stream.MASKING.at(seed, position));
    }

    /** Held-out query i, masked the same way every time it is asked for. */
    public MaskedQuery heldout(int i) {
        return maskOrFail(heldBlock[i], heldSentence[i], Seeds.Stream.HELDOUT_MASKING.at(seed, i));
    }

    private MaskedQuery maskOrFail(int block, int sentence, long rngSeed) {
        MaskedQuery q = masking.mask(blocks.get(block), sentence, new SplittableRandom(rngSeed));
        if (q == null) throw new IllegalStateException("sentence " + sentence + " of block " + block + " made no query");
        return q;
    }
}
