package org.realmjava.mips;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.zip.CRC32C;
import org.realmjava.tensor.parallel.Parallel;

/**
 * An exact maximum-inner-product index over one memory-mapped generation file. Opening maps the
 * file without copying it (an index larger than RAM pages in as it is scanned). Searches are
 * exact: every stored vector is scored.
 *
 * <p>Two regimes, chosen by batch size ({@link #TILED_MIN_QUERIES}):
 * <ul>
 *   <li><b>streaming</b> (few queries, bandwidth-bound): the database is split into one shard per
 *       thread, and each shard is streamed once per group of 8 queries;</li>
 *   <li><b>tiled</b> (many queries, compute-bound): each shard is cut into tiles that fit in L2,
 *       and every query group runs over a tile while it is cached.</li>
 * </ul>
 * Each shard keeps its own collectors; they are merged at the end by the total order
 * (score, then lower row), so results are identical for any thread count.
 */
public final class FlatIndex implements AutoCloseable {
    /** From this many queries on, the tiled regime runs (GEMM-like reuse of cached tiles). */
    public static final int TILED_MIN_QUERIES = 32;
    /**
     * Bytes of block data per tile in the tiled regime: about half of a 1 MB L2; {@code -Drealm.mips.tile_kb=N}
     * for experiments. On a Zen 1 (512 KB L2), 1,024 queries over 1M x 128 on two threads: 256 and 512 KB
     * tiles level (177-196 queries/s each), 128 KB 182-186, 64 KB 158-166.
     */
    static final long TILE_BYTES = Long.getLong("realm.mips.tile_kb", 512) * 1024;

    private final Path file;
    private final Arena arena;
    private final IndexHeader header;
    private final BlockScan.Data data;
    private final MemorySegment ids;

    private FlatIndex(Path file, Arena arena, IndexHeader header, MemorySegment seg) {
        this.file = file;
        this.arena = arena;
        this.header = header;
        MemorySegment scales = header.scalesBytes() > 0 ? seg.asSlice(header.scalesOffset(), header.scalesBytes()) : null;
        this.data = new BlockScan.Data(seg.asSlice(header.dataOffset(), header.dataBytes()), scales, header.dtype(), header.dim(), header.count());
        this.ids = header.idsBytes() > 0 ? seg.asSlice(header.idsOffset(), header.idsBytes()) : null;
    }

    /**
     * Opens the live generation of an index directory (or an index file). With verify, the data
     * checksum is checked first (reads the whole file once).
     */
    /** The scan kernel this JVM runs ("simd512", "simd256", "simd128" or "scalar"), chosen once by vector width. */
    public static String scanKernel() {
        return BlockScan.path();
    }

    public static FlatIndex open(Path dirOrFile, boolean verify) {
        Path f = IndexDirectory.currentFile(dirOrFile);
        Arena arena = Arena.ofShared();
        try {
            MemorySegment seg;
            try (FileChannel ch = FileChannel.open(f, StandardOpenOption.READ)) {
                seg = ch.map(FileChannel.MapMode.READ_ONLY, 0, ch.size(), arena);
            } catch (IOException e) {
                throw new IndexFormatException(f, "cannot map: " + e.getMessage(), e);
            }
            IndexHeader h = IndexHeader.decode(f, seg);
            if (verify) {
                CRC32C crc = new CRC32C();
                long end = h.fileSize();
                for (long pos = IndexHeader.SIZE; pos < end; pos += 1 << 26) {
                    crc.update(seg.asSlice(pos, Math.min(1 << 26, end - pos)).asByteBuffer());
                }
                if (crc.getValue() != h.checksum()) throw new IndexFormatException(f, "data checksum mismatch (corrupt or partly written file)");
            }
            return new FlatIndex(f, arena, h, seg);
        } catch (RuntimeException e) {
            arena.close();
            throw e;
        }
    }

    public Path file() {
        return file;
    }

    public int dim() {
        return header.dim();
    }

    public long count() {
        return header.count();
    }

    public VectorDType dtype() {
        return header.dtype();
    }

    /** Bytes of vector data (what one full scan reads). */
    public long dataBytes() {
        return header.dataBytes() + header.scalesBytes();
    }

    /** The stored vector of a row, widened to f32 (for int8: scale * code). */
    public float[] vector(long row) {
        if (row < 0 || row >= count()) throw new IndexOutOfBoundsException("row " + row + " of " + count());
        float[] v = new float[dim()];
        long b = row / IndexHeader.BLOCK;
        int lane = (int) (row % IndexHeader.BLOCK);
        float scale = header.dtype() == VectorDType.INT8 ? data.scales().get(ValueLayout.JAVA_FLOAT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN), row * 4) : 1f;
        for (int j = 0; j < dim(); j++) v[j] = BlockScan.element(data, b, j, lane) * scale;
        return v;
    }

    /** The id reported for a row: the stored id, or the row number. */
    public long idOf(long row) {
        return ids == null ? row : ids.get(ValueLayout.JAVA_LONG_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN), row * 8);
    }

    public SearchResult search(FloatMatrix queries, int k) {
        return search(queries, k, SearchOptions.NONE);
    }

    /** Exact top-k by inner product for every query row. */
    public SearchResult search(FloatMatrix queries, int k, SearchOptions options) {
        if (k <= 0) throw new IllegalArgumentException("search: k must be positive, got " + k);
        if (queries.dim() != dim()) {
            throw new IllegalArgumentException("search: queries have dimension " + queries.dim() + ", the index " + dim() + " (" + file + ")");
        }
        for (int i = 0; i < queries.data().length; i++) {
            if (!Float.isFinite(queries.data()[i])) {
                throw new IllegalArgumentException("search: query " + i / dim() + " has " + queries.data()[i] + " at dimension " + i % dim());
            }
        }
        if (options.excludeIds() != null && options.excludeIds().length != queries.rows()) {
            throw new IllegalArgumentException("search: " + options.excludeIds().length + " excluded ids for " + queries.rows() + " queries");
        }
        int nq = queries.rows(), kk = (int) Math.min(k, count());
        int groups = nq == 1 ? 1 : (nq + BlockScan.GROUP - 1) / BlockScan.GROUP;
        float[][] groupQueries = new float[groups][];
        for (int g = 0; g < groups; g++) {
            int size = nq == 1 ? 1 : BlockScan.GROUP;
            groupQueries[g] = new float[size * dim()];
            int take = Math.min(size, nq - g * BlockScan.GROUP);
            System.arraycopy(queries.data(), g * BlockScan.GROUP * dim(), groupQueries[g], 0, take * dim());
            if (nq > 1) groupQueries[g] = BlockScan.groupLayout(groupQueries[g], dim());
        }
        long blocks = header.blocks();
        boolean tiled = nq >= TILED_MIN_QUERIES;
        long tileBlocks = Math.max(1, TILE_BYTES / header.blockBytes());
        List<TopKCollector[]> shards = Collections.synchronizedList(new ArrayList<>());
        Parallel.forRange(blocks, 64, (from, to) -> {
            TopKCollector[] mine = new TopKCollector[nq];
            for (int i = 0; i < nq; i++) mine[i] = new TopKCollector(kk);
            if (tiled) {
                float[] tile = new float[(int) (tileBlocks * dim() * IndexHeader.BLOCK)];
                // one scratch for the shard's groups, which run one after another (a tile pass allocates nothing)
                float[] scores = new float[2 * BlockScan.GROUP * IndexHeader.BLOCK], thresholds = new float[BlockScan.GROUP];
                BlockScan.Sink[] sinks = new BlockScan.Sink[groups];
                for (int g = 0; g < groups; g++) sinks[g] = sink(g, nq, mine, options, scores, thresholds);
                for (long t = from; t < to; t += tileBlocks) {
                    int count = (int) Math.min(tileBlocks, to - t);
                    BlockScan.widen(data, t, count, tile);
                    for (int g = 0; g < groups; g++) BlockScan.scanTile8(data, tile, t, count, groupQueries[g], sinks[g]);
                }
            } else {
                for (int g = 0; g < groups; g++) scanGroup(g, nq, from, to, groupQueries[g], mine, options);
            }
            shards.add(mine);
        });
        long[] outIds = new long[nq * kk];
        float[] outScores = new float[nq * kk];
        int[] counts = new int[nq];
        long[] rows = new long[nq * kk];
        for (int q = 0; q < nq; q++) {
            TopKCollector all = new TopKCollector(kk);
            for (TopKCollector[] s : shards) all.merge(s[q]);
            counts[q] = all.drainSorted(rows, outScores, q * kk);
            for (int r = 0; r < counts[q]; r++) outIds[q * kk + r] = idOf(rows[q * kk + r]);
        }
        return new SearchResult(nq, kk, outIds, outScores, counts);
    }

    private void scanGroup(int g, int nq, long from, long to, float[] qs, TopKCollector[] mine, SearchOptions options) {
        if (nq == 1) {
            BlockScan.scan1(data, from, to, qs, 0, new BlockScan.Sink(new TopKCollector[] {mine[0]}, new long[] {options.excluded(0)}, options));
            return;
        }
        BlockScan.scan8(data, from, to, qs, sink(g, nq, mine, options));
    }

    /** The collectors and exclusions of query group g (null collectors pad the last group). */
    private static BlockScan.Sink sink(int g, int nq, TopKCollector[] mine, SearchOptions options) {
        return sink(g, nq, mine, options, new float[2 * BlockScan.GROUP * IndexHeader.BLOCK], new float[BlockScan.GROUP]);
    }

    /** The same, scoring into the given scratch. */
    private static BlockScan.Sink sink(int g, int nq, TopKCollector[] mine, SearchOptions options, float[] scores, float[] thresholds) {
        TopKCollector[] c = new TopKCollector[BlockScan.GROUP];
        long[] ex = new long[BlockScan.GROUP];
        for (int i = 0; i < BlockScan.GROUP; i++) {
            int q = g * BlockScan.GROUP + i;
            c[i] = q < nq ? mine[q] : null;
            ex[i] = q < nq ? options.excluded(q) : -1;
        }
        return new BlockScan.Sink(c, ex, options, scores, thresholds);
    }

    /** Unmaps the file. Searches must not run on this index any more (see {@link RefreshableIndex}). */
    @Override
    public void close() {
        arena.close();
    }
}
