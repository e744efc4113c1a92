package org.realmjava.mips;

import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.Function;

/**
 * An index whose generation can be swapped while searches run (REALM refreshes its document
 * embeddings every few hundred steps). A search pins the generation it starts on and finishes on
 * it; searches that start after {@link #swap} see the new one; none mixes the two. A retired
 * generation is closed (unmapped) when its last search ends.
 */
public final class RefreshableIndex implements AutoCloseable {
    /** A generation with a count of users; the index itself holds one use until retired. */
    private static final class Generation {
        final FlatIndex index;
        final long number;
        final AtomicInteger uses = new AtomicInteger(1);

        Generation(FlatIndex index, long number) {
            this.index = index;
            this.number = number;
        }

        boolean tryAcquire() {
            while (true) {
                int u = uses.get();
                if (u == 0) return false; // already closed
                if (uses.compareAndSet(u, u + 1)) return true;
            }
        }

        void release() {
            if (uses.decrementAndGet() == 0) index.close();
        }
    }

    private final AtomicReference<Generation> current;
    private long swaps;

    public RefreshableIndex(FlatIndex first) {
        current = new AtomicReference<>(new Generation(first, 0));
    }

    /** Runs work on the live generation, keeping it open until work returns. */
    public <T> T withIndex(Function<FlatIndex, T> work) {
        Generation g = acquire();
        try {
            return work.apply(g.index);
        } finally {
            g.release();
        }
    }

    public SearchResult search(FloatMatrix queries, int k, SearchOptions options) {
        return withIndex(ix -> ix.search(queries, k, options));
    }

    /** Which generation is live (0 for the first, +1 per swap). */
    public long generation() {
        return current.get().number;
    }

    private Generation acquire() {
        while (true) {
            Generation g = current.get();
            if (g == null) throw new IllegalStateException("index is closed");
            if (g.tryAcquire()) return g;
            // lost a race with a swap that retired g: read the new generation
        }
    }

    /** Makes next live; the previous generation closes once its running searches end. */
    public synchronized void swap(FlatIndex next) {
        Generation old = current.getAndSet(new Generation(next, ++swaps));
        if (old != null) old.release();
    }

    @Override
    public synchronized void close() {
        Generation old = current.getAndSet(null);
        if (old != null) old.release();
    }
}
