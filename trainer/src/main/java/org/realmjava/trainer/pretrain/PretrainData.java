package org.realmjava.trainer.pretrain;

import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import org.realmjava.trainer.corpus.Block;
import org.realmjava.trainer.corpus.Masking;
import org.realmjava.trainer.corpus.MaskedQuery;

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
    private long cachedEpoch = -1;
    private int[] cachedOrder;

    public PretrainData(List<Block> blocks, Masking masking, long seed, double heldoutFraction) {
        this.blocks = blocks;
        this.masking = masking;
        this.seed = seed;
        List<int[]> train = new ArrayList<>(), held = new ArrayList<>();
        SplittableRandom probe = new SplittableRandom(seed);
        for (Block b : blocks) {
            boolean heldOut = heldoutFraction > 0 && Long.remainderUnsigned(mix(b.hash(), seed), 1_000_000) < heldoutFraction * 1_000_000;
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
    public synchronized MaskedQuery query(long position) {
        long epoch = position / trainBlock.length;
        if (epoch != cachedEpoch) {
            cachedOrder = permutation(trainBlock.length, mix(seed, epoch));
            cachedEpoch = epoch;
        }
        int i = cachedOrder[(int) (position % trainBlock.length)];
        return maskOrFail(trainBlock[i], trainSentence[i], mix(seed ^ 0x6d61736bL, position));
    }

    /** Held-out query i, masked the same way every time it is asked for. */
    public MaskedQuery heldout(int i) {
        return maskOrFail(heldBlock[i], heldSentence[i], mix(seed ^ 0x68656c64L, i));
    }

    private MaskedQuery maskOrFail(int block, int sentence, long rngSeed) {
        MaskedQuery q = masking.mask(blocks.get(block), sentence, new SplittableRandom(rngSeed));
        if (q == null) throw new IllegalStateException("sentence " + sentence + " of block " + block + " made no query");
        return q;
    }

    /** A permutation of 0..n-1 that depends only on seed (Fisher-Yates). */
    public static int[] permutation(int n, long seed) {
        int[] p = new int[n];
        for (int i = 0; i < n; i++) p[i] = i;
        SplittableRandom r = new SplittableRandom(seed);
        for (int i = n - 1; i > 0; i--) {
            int j = r.nextInt(i + 1), t = p[i];
            p[i] = p[j];
            p[j] = t;
        }
        return p;
    }

    /** SplitMix64 of a and b: independent-looking seeds from (seed, counter) pairs. */
    public static long mix(long a, long b) {
        long z = a * 0x9E3779B97F4A7C15L + b + 0x632BE59BD9B4E019L;
        z = (z ^ (z >>> 30)) * 0xBF58476D1CE4E5B9L;
        z = (z ^ (z >>> 27)) * 0x94D049BB133111EBL;
        return z ^ (z >>> 31);
    }
}
