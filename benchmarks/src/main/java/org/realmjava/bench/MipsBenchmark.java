package org.realmjava.bench;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Random;
import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Warmup;
import org.realmjava.mips.BruteForceSearch;
import org.realmjava.mips.FlatIndex;
import org.realmjava.mips.FloatMatrix;
import org.realmjava.mips.IndexWriter;
import org.realmjava.mips.SearchOptions;
import org.realmjava.mips.SearchResult;
import org.realmjava.mips.VectorDType;
import org.realmjava.mips.VectorSource;

/**
 * Exact top-k inner-product search: one call searches Q queries over N x d vectors. Napkin math
 * for the 2-core machine: one scan of 1M x 128 f32 reads 512 MB (bandwidth-bound for small Q);
 * Q queries cost 2*N*d*Q FLOPs (compute-bound for large Q). queries/s = Q / (seconds per call).
 * Setup checks the first query's top-k against the brute-force reference on a sample.
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MILLISECONDS)
@Fork(value = 1, jvmArgsAppend = {"--add-modules", "jdk.incubator.vector", "--enable-native-access=ALL-UNNAMED", "-XX:-UseProfiledLoopPredicate", "-Xmx8g"})
@Warmup(iterations = 3, time = 2)
@Measurement(iterations = 5, time = 2)
public class MipsBenchmark {
    @Param({"1000000"})
    public int n;

    @Param({"128"})
    public int d;

    @Param({"10"})
    public int k;

    @Param({"1", "16", "256", "1024"})
    public int q;

    @Param({"f32", "bf16"})
    public String dtype;

    Path dir;
    FlatIndex index;
    FloatMatrix queries;

    @Setup(Level.Trial)
    public void setup() throws Exception {
        Random rng = new Random(0);
        int chunk = 65536;
        VectorSource gaussian = new VectorSource() {
            @Override
            public int dim() {
                return d;
            }

            @Override
            public long count() {
                return n;
            }

            @Override
            public void read(long start, int rows, float[] dst) {
                Random r = new Random(start); // rows are a function of their position: reproducible
                for (int i = 0; i < rows * d; i++) dst[i] = (float) r.nextGaussian();
            }
        };
        dir = Files.createTempDirectory("mips-bench");
        IndexWriter.build(dir, gaussian, VectorDType.parse(dtype), null, IndexWriter.Progress.NONE);
        index = FlatIndex.open(dir, false);
        float[] qs = new float[q * d];
        for (int i = 0; i < qs.length; i++) qs[i] = (float) rng.nextGaussian();
        queries = new FloatMatrix(qs, q, d);
        // check against the reference on the first chunk of rows (a full brute force would take minutes)
        int sample = Math.min(n, chunk);
        float[] db = new float[sample * d];
        for (int r = 0; r < sample; r++) System.arraycopy(index.vector(r), 0, db, r * d, d);
        if (dtype.equals("f32")) {
            FloatMatrix first = new FloatMatrix(java.util.Arrays.copyOf(qs, d), 1, d);
            SearchResult ref = BruteForceSearch.search(new FloatMatrix(db, sample, d), null, first, k, SearchOptions.NONE);
            SearchResult got = index.search(first, k, new SearchOptions(null, sampleSet(sample)));
            for (int i = 0; i < ref.count(0); i++) {
                if (ref.id(0, i) != got.id(0, i)) throw new IllegalStateException("search differs from the reference at rank " + i);
            }
        }
    }

    private static java.util.BitSet sampleSet(int sample) {
        java.util.BitSet b = new java.util.BitSet();
        b.set(0, sample);
        return b;
    }

    @TearDown(Level.Trial)
    public void tearDown() throws Exception {
        index.close();
        try (var s = Files.walk(dir)) {
            for (Path p : s.sorted(java.util.Comparator.reverseOrder()).toList()) Files.deleteIfExists(p);
        }
    }

    @Benchmark
    public SearchResult search() {
        return index.search(queries, k);
    }
}
