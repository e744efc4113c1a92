package org.realmjava.mips;

import java.util.BitSet;

/**
 * Filters REALM needs. excludeIds[q] (or -1) is a row that query q must not return: the block the
 * query was cut from ("no trivial retrievals"). subset, when set, limits every query to those rows.
 */
public record SearchOptions(long[] excludeIds, BitSet subset) {
    public static final SearchOptions NONE = new SearchOptions(null, null);

    public long excluded(int query) {
        return excludeIds == null ? -1 : excludeIds[query];
    }

    public boolean allowed(long row) {
        return subset == null || (row <= Integer.MAX_VALUE && subset.get((int) row));
    }
}
