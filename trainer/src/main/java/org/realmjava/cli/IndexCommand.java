package org.realmjava.cli;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.Callable;
import org.realmjava.mips.AtomicFiles;
import org.realmjava.mips.FlatIndex;
import org.realmjava.mips.FloatMatrix;
import org.realmjava.mips.IndexWriter;
import org.realmjava.mips.SearchOptions;
import org.realmjava.mips.SearchResult;
import org.realmjava.mips.VectorDType;
import org.realmjava.mips.VectorFiles;
import org.realmjava.mips.VectorSource;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/** {@code realm index build|search}: exact maximum-inner-product search over vector files. */
@Command(name = "index", description = "Build and search exact inner-product indexes.",
        subcommands = {IndexCommand.Build.class, IndexCommand.Search.class})
final class IndexCommand implements Callable<Integer> {
    @Override
    public Integer call() {
        System.err.println("realm index: choose build or search (see realm index --help)");
        return 2;
    }

    @Command(name = "build", description = "Build an index directory from .npy or .fvecs vectors (a new generation if it exists).")
    static final class Build implements Callable<Integer> {
        @Option(names = "--vectors", required = true, description = "vectors: .npy (float32/float64, N x d) or .fvecs")
        Path vectors;

        @Option(names = "--dtype", defaultValue = "f32", description = "storage: f32, bf16 or int8 (default ${DEFAULT-VALUE})")
        String dtype;

        @Option(names = "--out", required = true, description = "index directory")
        Path out;

        @Override
        public Integer call() throws IOException {
            VectorDType dt = VectorDType.parse(dtype);
            if (Files.isDirectory(vectors)) throw new IllegalArgumentException(vectors + ": is a directory, not a vector file");
            if (Files.exists(out) && !Files.isDirectory(out)) throw new IllegalArgumentException("--out " + out + ": is a file, not an index directory");
            long t0 = System.nanoTime();
            try (VectorSource src = VectorFiles.open(vectors); Progress bar = new Progress("index build", src.count(), "vectors")) {
                Path file = IndexWriter.build(out, src, dt, null, (done, total) -> bar.stepTo(done));
                double s = (System.nanoTime() - t0) / 1e9;
                System.err.printf(Locale.ROOT, "built %s: %d vectors x %d dims, %s, %.1f MB in %.2f s%n", file, src.count(), src.dim(),
                        dt.name().toLowerCase(), Files.size(file) / 1e6, s);
            }
            return 0;
        }
    }

    @Command(name = "search", description = "Exact top-k inner-product search; writes query_no, rank, id, score as TSV.")
    static final class Search implements Callable<Integer> {
        @Option(names = "--index", required = true, description = "index directory")
        Path index;

        @Option(names = "--queries", required = true, description = "queries: .npy or .fvecs, Q x d")
        Path queries;

        @Option(names = "--k", required = true, description = "results per query")
        int k;

        @Option(names = "--batch", description = "queries per search call (default: all at once; 1 = single-query regime)")
        Integer batch;

        @Option(names = "--threads", description = "worker threads (default: all cores)")
        Integer threads;

        @Option(names = "--exclude", description = "text file, one line per query: the id that query must not return (-1 or empty: none)")
        Path exclude;

        @Option(names = "--no-verify", description = "skip the data checksum check when opening")
        boolean noVerify;

        @Option(names = "--out", required = true, description = "result TSV: query_no<TAB>rank<TAB>id<TAB>score")
        Path out;

        @Override
        public Integer call() throws IOException {
            if (k <= 0) throw new IllegalArgumentException("--k must be positive, got " + k);
            if (batch != null && batch <= 0) throw new IllegalArgumentException("--batch must be positive, got " + batch);
            if (threads != null) {
                if (threads <= 0) throw new IllegalArgumentException("--threads must be positive, got " + threads);
                System.setProperty("realm.threads", threads.toString()); // read once, when the pool is created
            }
            for (Path p : new Path[] {queries, exclude}) {
                if (p != null && Files.isDirectory(p)) throw new IllegalArgumentException(p + ": is a directory, not a file");
            }
            if (Files.isDirectory(out)) throw new IllegalArgumentException("--out " + out + ": is a directory, not a file");
            FloatMatrix q = VectorFiles.readAll(queries);
            long[] excluded = exclude == null ? null : readExcluded(exclude, q.rows());
            try (FlatIndex ix = FlatIndex.open(index, !noVerify); Progress bar = new Progress("index search", q.rows(), "queries")) {
                if (q.dim() != ix.dim()) {
                    throw new IllegalArgumentException("queries " + queries + " have dimension " + q.dim() + ", index " + index + " has " + ix.dim());
                }
                if (k > ix.count()) {
                    System.err.println("realm index search: --k " + k + " exceeds the index's " + ix.count() + " vectors; clamped to " + ix.count());
                    k = (int) ix.count();
                }
                int b = batch == null ? q.rows() : batch;
                StringBuilder tsv = new StringBuilder();
                long t0 = System.nanoTime();
                for (int start = 0; start < q.rows(); start += b) {
                    int n = Math.min(b, q.rows() - start);
                    float[] part = new float[n * q.dim()];
                    System.arraycopy(q.data(), start * q.dim(), part, 0, part.length);
                    long[] ex = null;
                    if (excluded != null) {
                        ex = new long[n];
                        System.arraycopy(excluded, start, ex, 0, n);
                    }
                    SearchResult r = ix.search(new FloatMatrix(part, n, q.dim()), k, new SearchOptions(ex, null));
                    for (int i = 0; i < n; i++) {
                        for (int rank = 0; rank < r.count(i); rank++) {
                            tsv.append(start + i).append('\t').append(rank + 1).append('\t').append(r.id(i, rank)).append('\t')
                                    .append(r.score(i, rank)).append('\n');
                        }
                    }
                    bar.stepTo(start + n);
                }
                double s = (System.nanoTime() - t0) / 1e9;
                AtomicFiles.write(out, ByteBuffer.wrap(tsv.toString().getBytes(StandardCharsets.UTF_8)));
                bar.close();
                System.err.printf(Locale.ROOT, "searched %d queries, k=%d, over %d vectors (%s, %s scan) in %.3f s: %.1f queries/s%n",
                        q.rows(), k, ix.count(), ix.dtype().name().toLowerCase(), FlatIndex.scanKernel(), s, q.rows() / s);
            }
            return 0;
        }

        private static long[] readExcluded(Path file, int queries) throws IOException {
            if (!Files.exists(file)) throw new IllegalArgumentException(file + ": no such file");
            List<String> lines = Files.readAllLines(file);
            if (lines.size() != queries) {
                throw new IllegalArgumentException(file + ": " + lines.size() + " lines for " + queries + " queries (one id per query, -1 for none)");
            }
            long[] ids = new long[queries];
            for (int i = 0; i < queries; i++) {
                String s = lines.get(i).trim();
                try {
                    ids[i] = s.isEmpty() ? -1 : Long.parseLong(s);
                } catch (NumberFormatException e) {
                    throw new IllegalArgumentException(file + ": line " + (i + 1) + " is not an id: '" + s + "'");
                }
            }
            return ids;
        }
    }
}
