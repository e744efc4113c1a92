package org.realmjava.mips;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Concurrent searchers during repeated generation swaps: no query mixes generations; old ones close. */
class RefreshableIndexTest {
    @TempDir
    Path tmp;

    /** Generation g: ids g*1000 + row, so every hit tells which generation produced it. */
    private FlatIndex generation(int g) throws Exception {
        int n = 200, d = 8;
        FloatMatrix m = SearchParityTest.random(new java.util.Random(g), n, d, false);
        long[] ids = new long[n];
        for (int i = 0; i < n; i++) ids[i] = g * 1000L + i;
        Path dir = tmp.resolve("gen" + g);
        IndexWriter.build(dir, VectorSource.of(m), VectorDType.F32, ids, IndexWriter.Progress.NONE);
        return FlatIndex.open(dir, true);
    }

    @Test
    void searchesNeverMixGenerationsAndRetiredOnesClose() throws Exception {
        RefreshableIndex index = new RefreshableIndex(generation(0));
        FloatMatrix queries = SearchParityTest.random(new java.util.Random(99), 5, 8, false);
        AtomicBoolean stop = new AtomicBoolean();
        AtomicReference<Throwable> failure = new AtomicReference<>();
        AtomicInteger searches = new AtomicInteger();
        List<Thread> threads = new ArrayList<>();
        for (int t = 0; t < 3; t++) {
            Thread th = new Thread(() -> {
                try {
                    while (!stop.get()) {
                        SearchResult r = index.search(queries, 20, SearchOptions.NONE);
                        long gen = r.id(0, 0) / 1000;
                        for (int q = 0; q < r.queries(); q++) {
                            for (int k = 0; k < r.count(q); k++) {
                                if (r.id(q, k) / 1000 != gen) throw new AssertionError("mixed generations " + gen + " and " + r.id(q, k) / 1000);
                            }
                        }
                        searches.incrementAndGet();
                    }
                } catch (Throwable e) {
                    failure.compareAndSet(null, e);
                }
            });
            th.start();
            threads.add(th);
        }
        List<FlatIndex> retired = new ArrayList<>();
        for (int g = 1; g <= 15; g++) {
            FlatIndex next = generation(g);
            retired.add(index.withIndex(ix -> ix)); // the generation about to be replaced
            index.swap(next);
            Thread.sleep(5);
        }
        stop.set(true);
        for (Thread th : threads) th.join();
        if (failure.get() != null) throw new AssertionError(failure.get());
        assertTrue(searches.get() > 15, "searchers ran " + searches.get() + " times");
        assertEquals(15, index.generation());
        // every retired generation is unmapped once its searches ended: using it fails cleanly
        for (FlatIndex old : retired) {
            assertThrows(IllegalStateException.class, () -> old.search(queries, 1));
        }
        index.close();
    }
}
