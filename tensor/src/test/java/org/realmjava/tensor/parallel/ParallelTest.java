package org.realmjava.tensor.parallel;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLongArray;
import org.junit.jupiter.api.Test;

/** The worker hand-off: every index runs exactly once, under concurrent callers, nesting and failures. */
class ParallelTest {
    @Test
    void everyIndexRunsExactlyOnceWithConcurrentCallers() throws Exception {
        int callers = 4, rounds = 2000;
        ExecutorService pool = Executors.newFixedThreadPool(callers);
        try {
            List<Future<?>> futures = new ArrayList<>();
            for (int c = 0; c < callers; c++) {
                int seed = c;
                futures.add(pool.submit(() -> {
                    for (int r = 0; r < rounds; r++) {
                        int n = 32 + (r * 7919 + seed * 31) % 5000; // at least 2 chunks of 16
                        AtomicLongArray hits = new AtomicLongArray(n);
                        Parallel.forRange(n, 16, (s, e) -> {
                            for (long i = s; i < e; i++) hits.incrementAndGet((int) i);
                            // nested parallel loops run serially inside a chunk, on a worker or on a
                            // caller that found the workers busy
                            Parallel.forRange(64, 1, (s2, e2) -> assertTrue(Parallel.inWorker()));
                        });
                        for (int i = 0; i < n; i++) assertEquals(1, hits.get(i), "index " + i + " of " + n);
                    }
                    return null;
                }));
            }
            for (Future<?> f : futures) f.get(120, TimeUnit.SECONDS);
        } finally {
            pool.shutdownNow();
        }
    }

    @Test
    void aFailingChunkFailsTheCallAndTheWorkersRecover() {
        for (int round = 0; round < 50; round++) {
            IllegalStateException e = assertThrows(IllegalStateException.class, () -> Parallel.forRange(1000, 1, (s, en) -> {
                if (s > 0) throw new IllegalStateException("chunk at " + s);
            }));
            assertTrue(e.getMessage().startsWith("chunk at"), e.getMessage());
        }
        AtomicLongArray hits = new AtomicLongArray(1000);
        Parallel.forRange(1000, 1, (s, e) -> {
            for (long i = s; i < e; i++) hits.incrementAndGet((int) i);
        });
        for (int i = 0; i < 1000; i++) assertEquals(1, hits.get(i));
        assertTrue(!Parallel.inWorker(), "the caller is not left marked as a worker");
    }
}
