package org.realmjava.mips.gpu;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import java.util.HashSet;
import java.util.Random;
import java.util.Set;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.realmjava.mips.BruteForceSearch;
import org.realmjava.mips.FloatMatrix;
import org.realmjava.mips.SearchOptions;
import org.realmjava.mips.SearchResult;
import org.realmjava.nativebind.cuda.Cuda;
import org.realmjava.nativebind.cuda.CudaContext;

/**
 * GPU top-k against the scalar brute-force reference, in both regimes (fused scan below 64
 * queries, cuBLAS tiles from 64), f32 and bf16 storage, with exclusions, k from 1 to 2048 and
 * k >= N. The GPU sums in a different order than the CPU, so ranks are compared by score: every
 * rank's score within 1e-5 relative, and each returned id's own exact score equal to it.
 */
@Tag("gpu")
class GpuSearchParityTest {
    static CudaContext ctx;

    @BeforeAll
    static void gpu() {
        if (!Cuda.available()) System.out.println("GpuSearchParityTest skipped: " + Cuda.status().reason());
        Assumptions.assumeTrue(Cuda.available(), () -> "no usable GPU: " + Cuda.status().reason());
        ctx = Cuda.context();
    }

    static FloatMatrix random(Random rng, int rows, int d, boolean bf16) {
        float[] a = new float[rows * d];
        for (int i = 0; i < a.length; i++) {
            float v = (float) rng.nextGaussian();
            a[i] = bf16 ? org.realmjava.tensor.DType.fromBf16(org.realmjava.tensor.DType.toBf16(v)) : v;
        }
        return new FloatMatrix(a, rows, d);
    }

    private static double exact(FloatMatrix db, FloatMatrix q, int row, int qi) {
        double s = 0;
        for (int j = 0; j < db.dim(); j++) s += (double) db.get(row, j) * q.get(qi, j);
        return s;
    }

    @ParameterizedTest
    @CsvSource({
        "1, 1, 1, 1, false", "1000, 128, 1, 10, false", "5000, 768, 3, 100, false", "20000, 128, 16, 1000, false",
        "3000, 17, 5, 2048, false", "100, 64, 2, 150, false", "70000, 128, 1, 10, true", "4000, 96, 7, 64, true",
        "10000, 128, 64, 10, false", "9000, 768, 100, 100, false", "3000, 33, 200, 2048, false", "50, 128, 128, 80, false",
        "10000, 128, 80, 10, true"})
    void matchesBruteForce(int n, int d, int nq, int k, boolean bf16) {
        Random rng = new Random(n * 31L + d * 7 + nq + k);
        FloatMatrix db = random(rng, n, d, bf16), q = random(rng, nq, d, false);
        int[] exclude = new int[nq];
        long[] excludeL = new long[nq];
        for (int i = 0; i < nq; i++) {
            exclude[i] = i % 3 == 0 ? -1 : rng.nextInt(n);
            excludeL[i] = exclude[i];
        }
        SearchResult ref = BruteForceSearch.search(db, null, q, k, new SearchOptions(excludeL, null));
        SearchResult got;
        try (GpuFlatIndex index = GpuFlatIndex.upload(ctx, db, bf16)) {
            got = index.search(q, k, exclude);
        }
        assertEquals(ref.k(), got.k());
        // the tiled regime rounds queries to bf16 for a bf16 database (tensor cores): compare by recall there
        boolean approx = bf16 && nq >= GpuFlatIndex.TILED_MIN_QUERIES;
        int hits = 0, total = 0;
        for (int qi = 0; qi < nq; qi++) {
            assertEquals(ref.count(qi), got.count(qi), "count of query " + qi);
            Set<Long> seen = new HashSet<>(), refIds = new HashSet<>();
            for (int r = 0; r < ref.count(qi); r++) refIds.add(ref.id(qi, r));
            for (int r = 0; r < got.count(qi); r++) {
                long id = got.id(qi, r);
                assertTrue(id >= 0 && id < n && seen.add(id), "query " + qi + " rank " + r + ": bad or repeated id " + id);
                assertTrue(id != exclude[qi], "query " + qi + ": excluded id " + id + " returned");
                if (r > 0) assertTrue(got.score(qi, r) <= got.score(qi, r - 1), "query " + qi + ": not sorted at rank " + r);
                if (refIds.contains(id)) hits++;
                total++;
                if (approx) continue;
                double want = ref.score(qi, r), own = exact(db, q, (int) id, qi);
                double tol = 1e-5 * Math.max(1, Math.abs(want)) + 1e-6 * Math.sqrt(d);
                if (Math.abs(got.score(qi, r) - want) > tol || Math.abs(own - want) > tol) {
                    fail("query " + qi + " rank " + r + ": gpu id " + id + " score " + got.score(qi, r) + " (exact " + own + "), reference id "
                            + ref.id(qi, r) + " score " + want);
                }
            }
        }
        double recall = total == 0 ? 1 : hits / (double) total;
        System.out.printf("gpu search n=%d d=%d q=%d k=%d %s: recall vs reference %.4f%n", n, d, nq, k, bf16 ? "bf16" : "f32", recall);
        assertTrue(recall >= (approx ? 0.95 : 0.999), "recall " + recall);
    }

    @Test
    void badArgumentsAreRejectedWithOneLine() {
        try (GpuFlatIndex index = GpuFlatIndex.upload(ctx, random(new Random(1), 10, 8, false), false)) {
            for (Runnable r : new Runnable[] {
                () -> index.search(random(new Random(2), 1, 8, false), 0, null),
                () -> index.search(random(new Random(2), 1, 8, false), 4096, null),
                () -> index.search(random(new Random(2), 1, 9, false), 3, null)}) {
                try {
                    r.run();
                    fail("expected a rejection");
                } catch (IllegalArgumentException e) {
                    assertEquals(1, e.getMessage().lines().count());
                }
            }
        }
    }
}
