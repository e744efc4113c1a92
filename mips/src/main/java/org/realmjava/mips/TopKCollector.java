package org.realmjava.mips;

import java.util.Arrays;

/**
 * Keeps the k best (score, row) pairs seen so far for one query. "Better" means a higher score,
 * and on equal scores the lower row number, so the result is one total order and does not depend
 * on the order in which rows arrive (thread count, shard split). A binary heap with the worst
 * kept pair on top; {@link #threshold()} lets scan kernels skip rows that cannot enter.
 */
public final class TopKCollector {
    private final int k;
    private final float[] scores;
    private final long[] rows;
    private int size;

    public TopKCollector(int k) {
        if (k <= 0) throw new IllegalArgumentException("top-k: k must be positive, got " + k);
        this.k = k;
        this.scores = new float[k];
        this.rows = new long[k];
    }

    /** True when (s1, r1) ranks before (s2, r2). */
    static boolean better(float s1, long r1, float s2, long r2) {
        return s1 > s2 || (s1 == s2 && r1 < r2);
    }

    /** A score that a new row must exceed to enter (ties at it are decided by row, see {@link #offer}). */
    public float threshold() {
        return size < k ? Float.NEGATIVE_INFINITY : scores[0];
    }

    public int size() {
        return size;
    }

    public void offer(float score, long row) {
        if (size < k) {
            scores[size] = score;
            rows[size] = row;
            siftUp(size++);
        } else if (better(score, row, scores[0], rows[0])) {
            scores[0] = score;
            rows[0] = row;
            siftDown(0);
        }
    }

    /** Offers everything another collector holds. */
    public void merge(TopKCollector other) {
        for (int i = 0; i < other.size; i++) offer(other.scores[i], other.rows[i]);
    }

    private void siftUp(int i) {
        while (i > 0) {
            int parent = (i - 1) >>> 1;
            if (!better(scores[parent], rows[parent], scores[i], rows[i])) break;
            swap(i, parent);
            i = parent;
        }
    }

    private void siftDown(int i) {
        while (true) {
            int l = 2 * i + 1, r = l + 1, worst = i;
            if (l < size && better(scores[worst], rows[worst], scores[l], rows[l])) worst = l;
            if (r < size && better(scores[worst], rows[worst], scores[r], rows[r])) worst = r;
            if (worst == i) return;
            swap(i, worst);
            i = worst;
        }
    }

    private void swap(int a, int b) {
        float s = scores[a];
        scores[a] = scores[b];
        scores[b] = s;
        long r = rows[a];
        rows[a] = rows[b];
        rows[b] = r;
    }

    /** Writes the kept pairs best first into rowsOut/scoresOut at offset; returns how many. */
    public int drainSorted(long[] rowsOut, float[] scoresOut, int offset) {
        Integer[] order = new Integer[size];
        for (int i = 0; i < size; i++) order[i] = i;
        Arrays.sort(order, (a, b) -> better(scores[a], rows[a], scores[b], rows[b]) ? -1 : (a.equals(b) ? 0 : 1));
        for (int i = 0; i < size; i++) {
            rowsOut[offset + i] = rows[order[i]];
            scoresOut[offset + i] = scores[order[i]];
        }
        return size;
    }
}
