package org.realmjava.mips;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import java.util.BitSet;
import java.util.Random;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * The fast scan against the brute-force reference: identical ids (ties resolved the same way) and
 * bit-identical scores, over awkward shapes: N = 1, N not a multiple of the 16-row block, k >= N,
 * d = 1, d odd, query counts around the group size (8) and the tiled threshold.
 */
class SearchParityTest {
    @TempDir
    Path tmp;

    static FloatMatrix random(Random rng, int rows, int dim, boolean integers) {
        float[] v = new float[rows * dim];
        // integer values in [-3, 3] make many exact ties, the case where ordering bugs hide
        for (int i = 0; i < v.length; i++) v[i] = integers ? rng.nextInt(7) - 3 : (float) rng.nextGaussian();
        return new FloatMatrix(v, rows, dim);
    }

    static Stream<Arguments> cases() {
        return Stream.of(
                Arguments.of(1, 1, 1, 1, false), Arguments.of(1, 5, 3, 2, false), Arguments.of(17, 1, 4, 3, true),
                Arguments.of(100, 13, 10, 1, false), Arguments.of(100, 13, 10, 9, true), Arguments.of(33, 128, 40, 8, false),
                Arguments.of(1000, 64, 7, 1, true), Arguments.of(1000, 64, 7, 40, true), Arguments.of(4097, 32, 100, 33, false),
                Arguments.of(300, 768, 5, 3, false), Arguments.of(50, 16, 2048, 2, false));
    }

    @ParameterizedTest(name = "N={0} d={1} k={2} Q={3} ties={4}")
    @MethodSource("cases")
    void f32MatchesBruteForceExactly(int n, int d, int k, int q, boolean ties) throws Exception {
        long seed = n * 31L + d * 7L + k + q;
        Random rng = new Random(seed);
        FloatMatrix db = random(rng, n, d, ties), queries = random(rng, q, d, ties);
        IndexWriter.build(tmp.resolve("ix"), db, VectorDType.F32);
        try (FlatIndex ix = FlatIndex.open(tmp.resolve("ix"), true)) {
            SearchResult fast = ix.search(queries, k);
            SearchResult ref = BruteForceSearch.search(db, null, queries, k, SearchOptions.NONE);
            assertSame("f32 seed " + seed, ref, fast);
        }
    }

    static void assertSame(String ctx, SearchResult ref, SearchResult fast) {
        assertEquals(ref.k(), fast.k(), ctx + " k");
        assertArrayEquals(ref.counts(), fast.counts(), ctx + " counts");
        for (int q = 0; q < ref.queries(); q++) {
            for (int r = 0; r < ref.count(q); r++) {
                assertEquals(ref.id(q, r), fast.id(q, r), ctx + " query " + q + " rank " + r + " id");
                assertEquals(Float.floatToIntBits(ref.score(q, r)), Float.floatToIntBits(fast.score(q, r)),
                        ctx + " query " + q + " rank " + r + " score " + ref.score(q, r) + " vs " + fast.score(q, r));
            }
        }
    }

    /** The build runs this class once per vector width: each fork must run that width's kernel, not fall back to the scalar one. */
    @Test
    void theScanRunsTheKernelOfThisJvmsVectorWidth() {
        String forced = System.getProperty("realm.vectorbits", "").trim();
        int bits = org.realmjava.tensor.simd.SimdSpecies.FLOAT.vectorBitSize();
        if (!forced.isEmpty() && !forced.equals("auto") && !forced.equals("none")) assertEquals(Integer.parseInt(forced), bits, "realm.vectorbits");
        String want = forced.equals("none") || "scalar".equals(System.getProperty("realm.mips.scan")) ? "scalar" : "simd" + bits;
        assertEquals(want, BlockScan.path());
        System.out.println("SearchParityTest: scan kernel " + BlockScan.path());
        assertEquals("scalar", BlockScan.choose("scalar", "", bits).name());
        assertEquals("scalar", BlockScan.choose("auto", "none", bits).name());
        assertEquals("simd512", BlockScan.choose("auto", "", 512).name());
        assertThrows(IllegalArgumentException.class, () -> BlockScan.choose("fast", "", bits));
    }

    @Test
    void filtersExcludeAndSubset() throws Exception {
        Random rng = new Random(5);
        FloatMatrix db = random(rng, 500, 24, false), queries = random(rng, 12, 24, false);
        IndexWriter.build(tmp.resolve("ix"), db, VectorDType.F32);
        long[] exclude = new long[12];
        BitSet subset = new BitSet();
        for (int i = 0; i < 500; i += 3) subset.set(i);
        try (FlatIndex ix = FlatIndex.open(tmp.resolve("ix"), true)) {
            SearchResult plain = ix.search(queries, 1);
            for (int q = 0; q < 12; q++) exclude[q] = plain.id(q, 0); // exclude each query's own best hit
            SearchOptions opt = new SearchOptions(exclude, subset);
            SearchResult fast = ix.search(queries, 10, opt);
            assertSame("filters", BruteForceSearch.search(db, null, queries, 10, opt), fast);
            for (int q = 0; q < 12; q++) {
                for (int r = 0; r < fast.count(q); r++) {
                    assertTrue(fast.id(q, r) != exclude[q] && fast.id(q, r) % 3 == 0, "filter violated at query " + q);
                }
            }
        }
    }

    @Test
    void bf16AndInt8MatchTheReferenceOnStoredValuesAndKeepRecall() throws Exception {
        Random rng = new Random(9);
        int n = 3000, d = 64, k = 10;
        FloatMatrix db = random(rng, n, d, false), queries = random(rng, 50, d, false);
        SearchResult truth = BruteForceSearch.search(db, null, queries, k, SearchOptions.NONE);
        for (VectorDType dt : new VectorDType[] {VectorDType.BF16, VectorDType.INT8}) {
            Path dir = tmp.resolve(dt.name());
            IndexWriter.build(dir, db, dt);
            try (FlatIndex ix = FlatIndex.open(dir, true)) {
                // the stored values, widened, through the reference: must agree exactly
                float[] stored = new float[n * d];
                float[] scales = dt == VectorDType.INT8 ? new float[n] : null;
                for (int r = 0; r < n; r++) {
                    float[] v = ix.vector(r);
                    if (scales != null) {
                        float max = 0;
                        for (float x : db.row(r)) max = Math.max(max, Math.abs(x));
                        scales[r] = max / 127f;
                        for (int j = 0; j < d; j++) v[j] = Math.round(v[j] / scales[r]); // back to the integer codes
                    }
                    System.arraycopy(v, 0, stored, r * d, d);
                }
                // one query (scan1), a group from the mapped file (scan8), the tiled regime (widen + scanTile8)
                for (int nq : new int[] {1, 9, 50}) {
                    FloatMatrix some = new FloatMatrix(java.util.Arrays.copyOf(queries.data(), nq * d), nq, d);
                    assertSame(dt.name() + " Q=" + nq, BruteForceSearch.search(new FloatMatrix(stored, n, d), scales, some, k, SearchOptions.NONE),
                            ix.search(some, k));
                }
                SearchResult fast = ix.search(queries, k);
                double recall = recall(truth, fast);
                System.out.printf("%s recall@%d vs f32 (N=%d, d=%d, Gaussian): %.3f%n", dt, k, n, d, recall);
                // bf16 keeps 8 significant bits, int8 about 7: near neighbours swap, few fall out
                assertTrue(recall >= (dt == VectorDType.BF16 ? 0.95 : 0.85), dt + " recall " + recall);
            }
        }
    }

    static double recall(SearchResult truth, SearchResult got) {
        int hit = 0, total = 0;
        for (int q = 0; q < truth.queries(); q++) {
            java.util.Set<Long> t = new java.util.HashSet<>();
            for (int r = 0; r < truth.count(q); r++) t.add(truth.id(q, r));
            for (int r = 0; r < got.count(q); r++) if (t.contains(got.id(q, r))) hit++;
            total += truth.count(q);
        }
        return hit / (double) total;
    }

    @Test
    void collectorOrderDoesNotDependOnArrivalOrder() {
        Random rng = new Random(3);
        float[] s = new float[200];
        for (int i = 0; i < s.length; i++) s[i] = rng.nextInt(10); // many ties
        TopKCollector a = new TopKCollector(15), b1 = new TopKCollector(15), b2 = new TopKCollector(15);
        for (int i = 0; i < s.length; i++) a.offer(s[i], i);
        for (int i = s.length - 1; i >= 100; i--) b1.offer(s[i], i);
        for (int i = 0; i < 100; i++) b2.offer(s[i], i);
        TopKCollector merged = new TopKCollector(15);
        merged.merge(b1);
        merged.merge(b2);
        long[] ra = new long[15], rb = new long[15];
        float[] sa = new float[15], sb = new float[15];
        a.drainSorted(ra, sa, 0);
        merged.drainSorted(rb, sb, 0);
        assertArrayEquals(ra, rb);
        assertArrayEquals(sa, sb);
    }
}
