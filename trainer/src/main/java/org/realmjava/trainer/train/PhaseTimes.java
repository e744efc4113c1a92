package org.realmjava.trainer.train;

import java.util.LinkedHashMap;
import java.util.Map;

/** Seconds a step spent in each named phase (query, search, reader, backward, ...), in the order first seen. */
public final class PhaseTimes {
    private final Map<String, Double> seconds = new LinkedHashMap<>();

    /** A start time for {@link #add}. */
    public static long now() {
        return System.nanoTime();
    }

    /** Adds the time since {@code since} (a {@link #now}) to a phase. */
    public void add(String phase, long since) {
        seconds.merge(phase, (System.nanoTime() - since) / 1e9, Double::sum);
    }

    public Map<String, Double> seconds() {
        return seconds;
    }
}
