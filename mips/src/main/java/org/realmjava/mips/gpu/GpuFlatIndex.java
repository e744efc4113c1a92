package org.realmjava.mips.gpu;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import org.realmjava.mips.FlatIndex;
import org.realmjava.mips.FloatMatrix;
import org.realmjava.mips.SearchResult;
import org.realmjava.mips.VectorDType;
import org.realmjava.nativebind.cuda.CudaContext;
import org.realmjava.nativebind.cuda.DeviceBuffer;

/**
 * Exact top-k inner-product search with the database resident on the GPU
 * ({@code kernels/mips_topk.cu}), row-major in f32 or bf16. Same contract as
 * {@link FlatIndex#search}: best first, ties to the lower row, an optional excluded row per query.
 *
 * <p>Two regimes: below {@link #TILED_MIN_QUERIES} queries a fused scan (dot + running top-k,
 * database read once per chunk, stage-2 merge); from there on, cuBLAS computes score tiles
 * (queries x {@code tileRows}; bf16 databases use tensor cores with the queries rounded to bf16) and
 * a selection kernel folds each tile into a running top-k per query. Scores are f32 throughout.
 */
public final class GpuFlatIndex implements AutoCloseable {
    public static final int MAX_K = 2048;
    public static final int TILED_MIN_QUERIES = 64;
    private static final String FAMILY = "mips_topk";
    private static final int THREADS = 256, ROUND_ROWS = 256;

    private final CudaContext ctx;
    private final DeviceBuffer data;
    private final long n;
    private final int d;
    private final boolean bf16;

    private GpuFlatIndex(CudaContext ctx, DeviceBuffer data, long n, int d, boolean bf16) {
        this.ctx = ctx;
        this.data = data;
        this.n = n;
        this.d = d;
        this.bf16 = bf16;
    }

    /** Uploads row-major vectors, stored on the GPU as f32 or (bf16) rounded to bf16. */
    public static GpuFlatIndex upload(CudaContext ctx, FloatMatrix db, boolean bf16) {
        long count = (long) db.rows() * db.dim();
        try (Arena a = Arena.ofConfined()) {
            MemorySegment s = a.allocate(count * (bf16 ? 2 : 4), 64);
            for (long i = 0; i < count; i++) {
                float v = db.data()[(int) i];
                if (bf16) s.setAtIndex(ValueLayout.JAVA_SHORT, i, org.realmjava.tensor.DType.toBf16(v));
                else s.setAtIndex(ValueLayout.JAVA_FLOAT, i, v);
            }
            return new GpuFlatIndex(ctx, ctx.upload(s), db.rows(), db.dim(), bf16);
        }
    }

    /**
     * Takes ownership of vectors already on the device (row-major n x d, f32 or bf16), e.g. made
     * there by a kernel; closing the index frees them.
     */
    public static GpuFlatIndex wrap(CudaContext ctx, DeviceBuffer data, long n, int d, boolean bf16) {
        if (data.bytes() < n * d * (bf16 ? 2L : 4L)) throw new IllegalArgumentException("device buffer of " + data.bytes() + " bytes is too small for " + n + " x " + d);
        return new GpuFlatIndex(ctx, data, n, d, bf16);
    }

    /** Uploads an index file's vectors (f32 or bf16 storage; int8 indexes are widened to f32). */
    public static GpuFlatIndex upload(CudaContext ctx, FlatIndex index) {
        boolean bf16 = index.dtype() == VectorDType.BF16;
        long n = index.count();
        int d = index.dim();
        int rowsPerSlab = Math.max(1, (int) ((64L << 20) / ((long) d * 4)));
        DeviceBuffer data = ctx.alloc(n * d * (bf16 ? 2 : 4));
        try (Arena a = Arena.ofConfined()) {
            MemorySegment slab = a.allocate((long) rowsPerSlab * d * 4, 64);
            for (long r0 = 0; r0 < n; r0 += rowsPerSlab) {
                int rows = (int) Math.min(rowsPerSlab, n - r0);
                for (int r = 0; r < rows; r++) {
                    float[] v = index.vector(r0 + r);
                    for (int j = 0; j < d; j++) {
                        long at = (long) r * d + j;
                        if (bf16) slab.setAtIndex(ValueLayout.JAVA_SHORT, at, org.realmjava.tensor.DType.toBf16(v[j]));
                        else slab.setAtIndex(ValueLayout.JAVA_FLOAT, at, v[j]);
                    }
                }
                long bytes = (long) rows * d * (bf16 ? 2 : 4);
                try (DeviceBuffer tmp = ctx.upload(slab.asSlice(0, bytes))) {
                    ctx.copy(data.address() + r0 * d * (bf16 ? 2 : 4), tmp.address(), bytes);
                }
            }
        }
        return new GpuFlatIndex(ctx, data, n, d, bf16);
    }

    public long count() {
        return n;
    }

    public int dim() {
        return d;
    }

    public boolean bf16() {
        return bf16;
    }

    private static int pow2AtLeast(int x) {
        return Integer.highestOneBit(Math.max(1, x - 1)) << 1;
    }

    /** Top-k per query; excludeRows (one per query, -1 for none) may be null. */
    public SearchResult search(FloatMatrix queries, int k, int[] excludeRows) {
        if (k <= 0) throw new IllegalArgumentException("k must be positive, got " + k);
        if (k > MAX_K) throw new IllegalArgumentException("k = " + k + " exceeds the GPU limit of " + MAX_K);
        if (queries.dim() != d) throw new IllegalArgumentException("queries have d = " + queries.dim() + ", the index has d = " + d);
        int nq = queries.rows();
        if (excludeRows != null && excludeRows.length != nq) throw new IllegalArgumentException("exclude: " + excludeRows.length + " ids for " + nq + " queries");
        int kk = (int) Math.min(k, n);
        if (nq == 0 || kk == 0) return new SearchResult(nq, kk, new long[0], new float[0], new int[nq]);
        int kp = pow2AtLeast(Math.max(kk, 32));
        try (DeviceBuffer q = ctx.upload(queries.data()); DeviceBuffer ex = excludeRows == null ? null : ctx.upload(excludeRows);
             DeviceBuffer state = ctx.alloc(8L * nq * kp).zero()) {
            if (nq < TILED_MIN_QUERIES) scan(q, nq, ex, kk, kp, state);
            else tiled(q, nq, ex, kk, kp, state);
            try (DeviceBuffer ids = ctx.alloc(4L * nq * kk); DeviceBuffer scores = ctx.alloc(4L * nq * kk)) {
                ctx.launch(ctx.kernel(FAMILY, "topk_decode"), (int) ((1L * nq * kk + THREADS - 1) / THREADS), 1, THREADS, 0, state, nq, kk, kp, ids, scores);
                int[] idv = ctx.downloadInts(ids, nq * kk);
                float[] sv = ctx.downloadFloats(scores, nq * kk);
                long[] out = new long[idv.length];
                int[] counts = new int[nq];
                for (int i = 0; i < idv.length; i++) {
                    out[i] = idv[i];
                    if (idv[i] >= 0) counts[i / kk]++;
                }
                return new SearchResult(nq, kk, out, sv, counts);
            }
        }
    }

    private void scan(DeviceBuffer q, int nq, DeviceBuffer ex, int k, int kp, DeviceBuffer state) {
        int sms = ctx.gpu().multiprocessors();
        long chunks = Math.max(1, Math.min((n + 4095) / 4096, Math.max(1, 4L * sms / nq)));
        long rowsPerChunk = (n + chunks - 1) / chunks;
        rowsPerChunk = (rowsPerChunk + ROUND_ROWS - 1) / ROUND_ROWS * ROUND_ROWS;
        chunks = (n + rowsPerChunk - 1) / rowsPerChunk;
        int p = pow2AtLeast(kp + 2 * ROUND_ROWS);
        int shared = ((d + 3) & ~3) * 4 + p * 8;
        CudaContext.Kernel scan = ctx.kernel(FAMILY, bf16 ? "mips_scan_bf16" : "mips_scan_f32");
        if (shared > 48 * 1024) ctx.allowSharedMemory(scan, shared);
        try (DeviceBuffer partial = ctx.alloc(8L * nq * chunks * kp)) {
            ctx.launch(scan, nq, (int) chunks, THREADS, shared, data, n, d, q, ex, k, kp, p, rowsPerChunk, partial);
            int pm = pow2AtLeast(kp + 2 * THREADS);
            CudaContext.Kernel merge = ctx.kernel(FAMILY, "topk_merge");
            if (pm * 8 > 48 * 1024) ctx.allowSharedMemory(merge, pm * 8);
            ctx.launch(merge, nq, 1, THREADS, pm * 8, partial, chunks * kp, k, kp, pm, state);
        }
    }

    private void tiled(DeviceBuffer q, int nq, DeviceBuffer ex, int k, int kp, DeviceBuffer state) {
        // score tile of at most 256 MB
        int tileRows = (int) Math.max(1024, Math.min(n, (256L << 20) / (4L * nq)));
        int p = pow2AtLeast(kp + 2 * THREADS);
        CudaContext.Kernel update = ctx.kernel(FAMILY, "topk_tile_update");
        if (p * 8 > 48 * 1024) ctx.allowSharedMemory(update, p * 8);
        var blas = ctx.cublas();
        DeviceBuffer q16 = null;
        if (bf16) {
            q16 = ctx.alloc(2L * nq * d);
            ctx.launch(ctx.kernel("elementwise", "cast_f32_bf16"), (int) ((1L * nq * d + 255) / 256), 1, 256, 0, q, q16, (long) nq * d);
        }
        try (DeviceBuffer tile = ctx.alloc(4L * nq * tileRows); DeviceBuffer q16c = q16) {
            for (long r0 = 0; r0 < n; r0 += tileRows) {
                int rows = (int) Math.min(tileRows, n - r0);
                long rowsAddr = data.address() + r0 * d * (bf16 ? 2 : 4);
                if (bf16) blas.gemmBf16(false, true, nq, rows, d, 1f, q16c.address(), d, rowsAddr, d, 0f, tile.address(), rows);
                else blas.sgemm(false, true, nq, rows, d, 1f, q.address(), d, rowsAddr, d, 0f, tile.address(), rows);
                ctx.launch(update, nq, 1, THREADS, p * 8, tile, (long) rows, r0, rows, ex, k, kp, p, state);
            }
        }
    }

    @Override
    public void close() {
        data.close();
    }
}
