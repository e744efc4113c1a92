package org.realmjava.mips;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import org.realmjava.tensor.simd.SimdSpecies;

/**
 * The fused "dot products + running top-k" scan over the block layout (see {@link IndexHeader}):
 * for block b, dimension j of rows 16b..16b+15 is 16 consecutive values, so
 * {@code scores[16 rows] = sum_j q[j] * block[b][j][:]} is d vector FMAs with no horizontal sum,
 * and the scores are compared with the collector's threshold in vector compares; only rows that
 * beat it leave the registers. Never builds a Q x N score matrix.
 *
 * <p>Every row's score is one FMA chain over j = 0..d-1 in order, whatever the batch size, the
 * kernel, the vector width or the thread split, so scores are bit-identical to the scalar
 * reference here and to {@link BruteForceSearch}.
 *
 * <p>Entry points (FlatIndex picks one by batch size): {@link #scan1} (one query; bandwidth-bound),
 * {@link #scan8} (eight queries share each block read from the mapped file) and
 * {@link #scanTile8} (the tiled regime: eight queries over an L2-resident f32 tile, widened by
 * {@link #widen}; compute-bound). The implementation is chosen once per JVM, like the tensor
 * backend: {@link Scan512} where the JVM offers 512-bit vectors (a block's 16 rows are one vector),
 * {@link ScanNarrow} for 256- and 128-bit vectors (a block is 2 or 4 vectors: AVX2, NEON), and the
 * scalar reference in this class with {@code -Drealm.vectorbits=none} or
 * {@code -Drealm.mips.scan=scalar}. {@link #path()} says which one runs.
 */
final class BlockScan {
    static final int B = IndexHeader.BLOCK;
    static final int GROUP = 8;
    static final ByteOrder LE = ByteOrder.LITTLE_ENDIAN;
    static final ValueLayout.OfFloat F32_LE = ValueLayout.JAVA_FLOAT_UNALIGNED.withOrder(LE);
    static final ValueLayout.OfShort I16_LE = ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(LE);

    /** The data a scan reads: the mapped block region and, for int8, the per-row scales. */
    record Data(MemorySegment blocks, MemorySegment scales, VectorDType dtype, int dim, long count) {}

    /**
     * Where candidates go: per query of the group, a collector (null for padding) and an excluded row;
     * with the group scans' scratch (scores of two blocks, thresholds), which the groups of a shard
     * share, so that a scan called once per tile allocates nothing.
     */
    record Sink(TopKCollector[] collectors, long[] excluded, SearchOptions options, float[] scores, float[] thresholds) {
        Sink(TopKCollector[] collectors, long[] excluded, SearchOptions options) {
            this(collectors, excluded, options, new float[2 * GROUP * B], new float[GROUP]);
        }
    }

    /** One implementation of the four scans; every one gives the reference's bits. */
    interface Kernel {
        /** "simd512", "simd256", "simd128" or "scalar". */
        String name();

        /** Scores of blocks [from, to) for the single query q (d floats at qOff). */
        void scan1(Data data, long from, long to, float[] q, int qOff, Sink sink);

        /**
         * A group of 8 queries (8 x d floats, padding rows zero) in the layout this kernel's {@link #scan8}
         * and {@link #scanTile8} read; the search calls it once per group, not once per tile.
         */
        default float[] groupLayout(float[] qs, int d) {
            return qs;
        }

        /** Scores of blocks [from, to) for a group of 8 queries (qs as {@link #groupLayout} gave them), read from the mapped data. */
        void scan8(Data data, long from, long to, float[] qs, Sink sink);

        /** Elements [start, start + elems) of a bf16 or int8 block region (start and elems multiples of 16) widened into tile[0 ..]. */
        void widenCodes(Data data, long start, int elems, float[] tile);

        /** The tiled-regime scan: blocks [first, first + count) already widened into tile, 8 queries (as {@link #groupLayout} gave them). */
        void scanTile8(Data data, float[] tile, long first, int count, float[] qs, Sink sink);
    }

    /** The kernel of this JVM, chosen once (a static final, so C2 sees one implementation). */
    static final Kernel KERNEL = choose(System.getProperty("realm.mips.scan", "auto"), System.getProperty("realm.vectorbits", ""),
            SimdSpecies.FLOAT.vectorBitSize());

    private BlockScan() {}

    static Kernel choose(String wanted, String vectorBits, int bits) {
        return switch (wanted.trim()) {
            case "scalar" -> Scalar.INSTANCE;
            case "auto", "" -> "none".equals(vectorBits.trim()) ? Scalar.INSTANCE : bits >= 512 ? new Scan512() : new ScanNarrow();
            default -> throw new IllegalArgumentException("realm.mips.scan must be auto or scalar, not '" + wanted + "'");
        };
    }

    /** The name of the scan implementation this JVM runs (see {@link Kernel#name()}). */
    static String path() {
        return KERNEL.name();
    }

    static void scan1(Data data, long from, long to, float[] q, int qOff, Sink sink) {
        KERNEL.scan1(data, from, to, q, qOff, sink);
    }

    /** A group of 8 queries (8 x d, padding rows zero) in the layout the kernel's group scans read. */
    static float[] groupLayout(float[] qs, int d) {
        return KERNEL.groupLayout(qs, d);
    }

    static void scan8(Data data, long from, long to, float[] qs, Sink sink) {
        KERNEL.scan8(data, from, to, qs, sink);
    }

    /** Blocks [from, from + count) widened into tile (f32, same block layout), for the tiled regime. */
    static void widen(Data data, long from, int count, float[] tile) {
        long start = from * data.dim * B;
        int elems = Math.toIntExact((long) count * data.dim * B);
        if (data.dtype == VectorDType.F32) MemorySegment.copy(data.blocks, F32_LE, start * 4, tile, 0, elems);
        else KERNEL.widenCodes(data, start, elems, tile);
    }

    static void scanTile8(Data data, float[] tile, long first, int count, float[] qs, Sink sink) {
        KERNEL.scanTile8(data, tile, first, count, qs, sink);
    }

    /** The collectors' current thresholds (+inf for padding queries), in the sink's scratch. */
    static float[] thresholds(Sink sink) {
        float[] t = sink.thresholds;
        for (int i = 0; i < GROUP; i++) t[i] = sink.collectors[i] == null ? Float.POSITIVE_INFINITY : sink.collectors[i].threshold();
        return t;
    }

    /** Offers row 16b + lane with score s unless it is padding, excluded or filtered out. */
    static void offer(Data data, long b, int lane, float s, TopKCollector c, int slot, Sink sink) {
        long row = b * B + lane;
        if (row >= data.count || row == sink.excluded[slot] || !sink.options.allowed(row)) return;
        c.offer(s, row);
    }

    /** The reference: the same arithmetic, one element at a time. */
    static final class Scalar implements Kernel {
        static final Scalar INSTANCE = new Scalar();

        @Override
        public String name() {
            return "scalar";
        }

        @Override
        public void scan1(Data data, long from, long to, float[] q, int qOff, Sink sink) {
            scan(data, from, to, q, qOff, 1, sink);
        }

        @Override
        public void scan8(Data data, long from, long to, float[] qs, Sink sink) {
            scan(data, from, to, qs, 0, GROUP, sink);
        }

        @Override
        public void widenCodes(Data data, long start, int elems, float[] tile) {
            for (int i = 0; i < elems; i++) {
                long e = start + i;
                tile[i] = data.dtype == VectorDType.BF16 ? org.realmjava.tensor.DType.fromBf16(data.blocks.get(I16_LE, e * 2))
                        : data.blocks.get(ValueLayout.JAVA_BYTE, e);
            }
        }

        @Override
        public void scanTile8(Data data, float[] tile, long first, int count, float[] qs, Sink sink) {
            scan(data, first, first + count, qs, 0, GROUP, sink);
        }

        private static void scan(Data data, long from, long to, float[] qs, int qOff, int g, Sink sink) {
            int d = data.dim;
            for (long b = from; b < to; b++) {
                for (int lane = 0; lane < B; lane++) {
                    long row = b * B + lane;
                    if (row >= data.count) break;
                    for (int i = 0; i < g; i++) {
                        TopKCollector c = sink.collectors[i];
                        if (c == null || row == sink.excluded[i] || !sink.options.allowed(row)) continue;
                        float acc = 0f;
                        for (int j = 0; j < d; j++) acc = Math.fma(element(data, b, j, lane), qs[qOff + i * d + j], acc);
                        if (data.dtype == VectorDType.INT8) acc *= data.scales.get(F32_LE, row * 4);
                        c.offer(acc, row);
                    }
                }
            }
        }
    }

    /** Element (row 16b + lane, dimension j), widened to f32. */
    static float element(Data data, long b, int j, int lane) {
        long e = (b * data.dim + j) * B + lane;
        return switch (data.dtype) {
            case F32 -> data.blocks.get(F32_LE, e * 4);
            case BF16 -> org.realmjava.tensor.DType.fromBf16(data.blocks.get(I16_LE, e * 2));
            case INT8 -> data.blocks.get(ValueLayout.JAVA_BYTE, e);
        };
    }
}
