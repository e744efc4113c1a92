package org.realmjava.trainer.train;

import java.util.SplittableRandom;

/**
 * Every random choice of a training run is a function of (the config's seed, a named stream, a
 * counter): which query or question comes at a position, how a query is masked, the dropout masks
 * of a micro-batch. Nothing depends on what ran before, so a run resumed from step s draws exactly
 * what the uninterrupted run drew. The salts are the streams' names in ASCII, and fixed: changing
 * one changes every run's data.
 */
public final class Seeds {
    private Seeds() {}

    /** A named stream of seeds: {@code at(seed, i)} is the seed of its i-th draw. */
    public enum Stream {
        /** Dropout masks of micro-batch (step * accumulate + micro); shared by every objective. */
        DROPOUT(0x64726f70L), // "drop"
        /** The order of pre-training queries, per epoch (salt 0: it predates the named streams). */
        QUERY_ORDER(0L),
        /** The masking of the pre-training query at a stream position. */
        MASKING(0x6d61736bL), // "mask"
        /** The masking of held-out query i. */
        HELDOUT_MASKING(0x68656c64L), // "held"
        /** The order of ICT examples (blocks of 2+ sentences), per epoch. */
        ICT_ORDER(0x696374L), // "ict"
        /** Which sentence of its block an ICT example asks with, and whether it is removed. */
        ICT_SENTENCE(0x73656e74L), // "sent"
        /** The order of fine-tuning questions, per epoch. */
        QA_ORDER(0x71615f6fL), // "qa_o"
        /** The span head's starting weights (one draw). */
        SPAN_HEAD_INIT(0x7370616eL); // "span"

        private final long salt;

        Stream(long salt) {
            this.salt = salt;
        }

        /** The seed of draw i. */
        public long at(long seed, long i) {
            return mix(seed ^ salt, i);
        }

        /** A generator for draw i. */
        public SplittableRandom random(long seed, long i) {
            return new SplittableRandom(at(seed, i));
        }

        /** The seed of a stream drawn from once (an initialisation). */
        public long once(long seed) {
            return mix(seed, salt);
        }
    }

    /**
     * Positions of an endless stream over n items, shuffled afresh each epoch by a permutation that
     * depends only on (seed, stream, epoch); the current epoch's permutation is kept.
     */
    public static final class EpochOrder {
        private final int n;
        private final long seed;
        private final Stream stream;
        private long cachedEpoch = Long.MIN_VALUE;
        private int[] cached;

        public EpochOrder(int n, long seed, Stream stream) {
            if (n <= 0) throw new IllegalArgumentException("an epoch order needs at least one item");
            this.n = n;
            this.seed = seed;
            this.stream = stream;
        }

        /** The item at a position of the stream. */
        public synchronized int at(long position) {
            long epoch = position / n;
            if (epoch != cachedEpoch) {
                cached = permutation(n, stream.at(seed, epoch));
                cachedEpoch = epoch;
            }
            return cached[(int) (position % n)];
        }
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
