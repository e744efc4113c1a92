package org.realmjava.mips;

/**
 * Top-k results for a batch of queries, best first: for query q, entries [q*k, q*k + count(q))
 * of ids and scores. count(q) is below k only when fewer rows qualify (k > N, or filters).
 */
public record SearchResult(int queries, int k, long[] ids, float[] scores, int[] counts) {
    public long id(int query, int rank) {
        check(query, rank);
        return ids[query * k + rank];
    }

    public float score(int query, int rank) {
        check(query, rank);
        return scores[query * k + rank];
    }

    public int count(int query) {
        return counts[query];
    }

    private void check(int query, int rank) {
        if (query < 0 || query >= queries || rank < 0 || rank >= counts[query]) {
            throw new IndexOutOfBoundsException("result: query " + query + " rank " + rank + " (" + (query >= 0 && query < queries ? counts[query] : 0) + " results)");
        }
    }
}
