package org.realmjava.mips;

import java.util.ArrayList;
import java.util.List;

/**
 * The reference: score every (query, row) pair, sort, keep k. Scores use the same arithmetic as
 * the fast kernels (one FMA chain over j in order, then the int8 scale), so for the same stored
 * values the two agree bit for bit; ties go to the lower row.
 */
public final class BruteForceSearch {
    private BruteForceSearch() {}

    /** db: N x d stored values (already rounded to the storage type); scales: per-row int8 scale or null. */
    public static SearchResult search(FloatMatrix db, float[] scales, FloatMatrix queries, int k, SearchOptions options) {
        int n = db.rows(), d = db.dim(), nq = queries.rows(), kk = Math.min(k, n);
        long[] ids = new long[nq * kk];
        float[] scores = new float[nq * kk];
        int[] counts = new int[nq];
        for (int q = 0; q < nq; q++) {
            List<float[]> all = new ArrayList<>(); // {score, row}
            for (int r = 0; r < n; r++) {
                if (r == options.excluded(q) || !options.allowed(r)) continue;
                float acc = 0f;
                for (int j = 0; j < d; j++) acc = Math.fma(db.get(r, j), queries.get(q, j), acc);
                if (scales != null) acc *= scales[r];
                all.add(new float[] {acc, r});
            }
            all.sort((a, b) -> a[0] != b[0] ? Float.compare(b[0], a[0]) : Float.compare(a[1], b[1]));
            counts[q] = Math.min(kk, all.size());
            for (int i = 0; i < counts[q]; i++) {
                scores[q * kk + i] = all.get(i)[0];
                ids[q * kk + i] = (long) all.get(i)[1];
            }
        }
        return new SearchResult(nq, kk, ids, scores, counts);
    }
}
