package org.realmjava.mips;

import static org.realmjava.mips.BlockScan.B;
import static org.realmjava.mips.BlockScan.GROUP;
import static org.realmjava.mips.BlockScan.LE;

import java.lang.foreign.MemorySegment;
import jdk.incubator.vector.ByteVector;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.ShortVector;
import jdk.incubator.vector.VectorMask;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorShape;
import jdk.incubator.vector.VectorSpecies;
import org.realmjava.mips.BlockScan.Data;
import org.realmjava.mips.BlockScan.Sink;
import org.realmjava.tensor.simd.SimdSpecies;

/**
 * The scans with vectors narrower than a block: 256 bits (AVX2: a block's 16 rows are two 8-lane
 * parts) or 128 bits (four parts). The row layout is the same as {@link Scan512}'s; each part of
 * a block is its own FMA chain over the dimensions, so a row's score has the reference's bits.
 *
 * <p>Register budget: AVX2 has 16 vector registers, so the 512-bit kernels' 16 accumulators do
 * not fit. Every kernel here keeps 4 or 8 accumulators:
 * <ul>
 * <li>{@link #scan1}: two blocks x two parts in flight (4 chains), the query's broadcast shared.
 * <li>{@link #scan8} and {@link #scanTile8}: a micro-tile of 4 queries x 2 parts (8 accumulators,
 *     per dimension 2 loads and 4 broadcasts for 8 FMAs), run for each pair of parts and each half
 *     of the group; the block is read from L1 again by the later passes.
 * </ul>
 */
final class ScanNarrow implements BlockScan.Kernel {
    static final VectorSpecies<Float> S = SimdSpecies.FLOAT;
    static final int L = S.length();
    /** Vectors per block row of 16 values. */
    static final int P = B / L;
    private static final VectorSpecies<Short> SH = VectorSpecies.of(short.class, VectorShape.forBitSize(L * 16));
    private static final VectorSpecies<Integer> I = VectorSpecies.of(int.class, S.vectorShape());
    private static final VectorSpecies<Byte> BY = ByteVector.SPECIES_64;
    /** Queries per micro-tile. */
    private static final int QT = 4;

    ScanNarrow() {
        if (L > 8 || B % L != 0) throw new IllegalStateException("ScanNarrow needs 2 to 8 float lanes, the JVM offers " + L);
    }

    @Override
    public String name() {
        return "simd" + S.vectorBitSize();
    }

    /** Part p (rows p*L ..+L) of dimension j of the block at element offset blockBase, widened to f32. */
    private static FloatVector load(Data data, long blockBase, int j, int p) {
        MemorySegment s = data.blocks();
        VectorDType t = data.dtype();
        long e = blockBase + (long) j * B + p * L;
        if (t == VectorDType.F32) return FloatVector.fromMemorySegment(S, s, e * 4, LE);
        if (t == VectorDType.BF16) {
            return ((IntVector) ShortVector.fromMemorySegment(SH, s, e * 2, LE).convertShape(VectorOperators.S2I, I, 0))
                    .lanewise(VectorOperators.LSHL, 16).reinterpretAsFloats();
        }
        // 8 bytes at a time (the narrowest byte vector): with 4 lanes, part p is half of the load at e rounded down to 8
        long at = e & ~7L;
        return (FloatVector) ByteVector.fromMemorySegment(BY, s, at, LE).convertShape(VectorOperators.B2F, S, (int) (e - at) / L);
    }

    @Override
    public void scan1(Data data, long from, long to, float[] q, int qOff, Sink sink) {
        int d = data.dim();
        TopKCollector c = sink.collectors()[0];
        float[] s0 = new float[B], s1 = new float[B];
        float threshold = c.threshold();
        long b = from;
        for (; b + 1 < to; b += 2) {
            long base0 = b * d * B, base1 = base0 + (long) d * B;
            for (int p = 0; p < P; p += 2) pair(data, base0, base1, p, q, qOff, s0, s1);
            threshold = harvest(data, b, s0, 0, threshold, c, 0, sink);
            threshold = harvest(data, b + 1, s1, 0, threshold, c, 0, sink);
        }
        if (b < to) {
            // the odd last block of the shard: the pair kernel with the block as both of its blocks (s1 is discarded)
            long base0 = b * d * B;
            for (int p = 0; p < P; p += 2) pair(data, base0, base0, p, q, qOff, s0, s1);
            harvest(data, b, s0, 0, threshold, c, 0, sink);
        }
    }

    /** Parts p and p + 1 of the blocks at base0 and base1 for one query: 4 chains, into s0 and s1. */
    private static void pair(Data data, long base0, long base1, int p, float[] q, int qOff, float[] s0, float[] s1) {
        int d = data.dim();
        FloatVector a0 = FloatVector.zero(S), a1 = a0, c0 = a0, c1 = a0;
        for (int j = 0; j < d; j++) {
            FloatVector qj = FloatVector.broadcast(S, q[qOff + j]);
            a0 = load(data, base0, j, p).fma(qj, a0);
            a1 = load(data, base0, j, p + 1).fma(qj, a1);
            c0 = load(data, base1, j, p).fma(qj, c0);
            c1 = load(data, base1, j, p + 1).fma(qj, c1);
        }
        a0.intoArray(s0, p * L);
        a1.intoArray(s0, (p + 1) * L);
        c0.intoArray(s1, p * L);
        c1.intoArray(s1, (p + 1) * L);
    }

    /**
     * The group's 8 queries transposed: qt[j * 8 + i] = query i's dimension j (a micro-tile's 4 broadcasts then read one
     * 16-byte run). Once per group and search rather than once per tile and group; interleaved runs on a Zen 1
     * measured the two level (1,024 queries over 1M x 128: 100-111 queries/s on one thread either way).
     */
    @Override
    public float[] groupLayout(float[] qs, int d) {
        float[] qt = new float[GROUP * d];
        for (int i = 0; i < GROUP; i++) {
            for (int j = 0; j < d; j++) qt[j * GROUP + i] = qs[i * d + j];
        }
        return qt;
    }

    @Override
    public void scan8(Data data, long from, long to, float[] qt, Sink sink) {
        float[] scores = sink.scores();
        float[] th = BlockScan.thresholds(sink);
        int d = data.dim();
        for (long b = from; b < to; b++) {
            long base = b * d * B;
            for (int p = 0; p < P; p += 2) {
                for (int h = 0; h < GROUP; h += QT) dots4x2(data, base, p, qt, h, scores);
            }
            harvestGroup(data, b, scores, th, sink);
        }
    }

    /**
     * scores[(h + i) * 16 + part * L + lane] for queries h..h+3 (qt transposed) and parts p, p+1 of
     * the block at base, read from the mapped data. Only computes and stores (see Scan512.dots8 on why).
     */
    private static void dots4x2(Data data, long base, int p, float[] qt, int h, float[] scores) {
        int d = data.dim();
        FloatVector a0 = FloatVector.zero(S), a1 = a0, a2 = a0, a3 = a0, c0 = a0, c1 = a0, c2 = a0, c3 = a0;
        for (int j = 0; j < d; j++) {
            FloatVector v = load(data, base, j, p), w = load(data, base, j, p + 1), x;
            int q = j * GROUP + h;
            x = FloatVector.broadcast(S, qt[q]);
            a0 = v.fma(x, a0);
            c0 = w.fma(x, c0);
            x = FloatVector.broadcast(S, qt[q + 1]);
            a1 = v.fma(x, a1);
            c1 = w.fma(x, c1);
            x = FloatVector.broadcast(S, qt[q + 2]);
            a2 = v.fma(x, a2);
            c2 = w.fma(x, c2);
            x = FloatVector.broadcast(S, qt[q + 3]);
            a3 = v.fma(x, a3);
            c3 = w.fma(x, c3);
        }
        store(scores, h, p, a0, a1, a2, a3, c0, c1, c2, c3);
    }

    /**
     * The same micro-tile over a widened f32 tile (the block at element offset o). Queries read
     * transposed: 75 -> 81 GFLOP/s on one core in isolation (AVX2, d = 128, an L2-resident tile).
     */
    private static void dots4x2(float[] tile, int o, int d, int p, float[] qt, int h, float[] scores) {
        int ov = o + p * L, ow = ov + L;
        FloatVector a0 = FloatVector.zero(S), a1 = a0, a2 = a0, a3 = a0, c0 = a0, c1 = a0, c2 = a0, c3 = a0;
        for (int j = 0; j < d; j++) {
            FloatVector v = FloatVector.fromArray(S, tile, ov + j * B), w = FloatVector.fromArray(S, tile, ow + j * B), x;
            int q = j * GROUP + h;
            x = FloatVector.broadcast(S, qt[q]);
            a0 = v.fma(x, a0);
            c0 = w.fma(x, c0);
            x = FloatVector.broadcast(S, qt[q + 1]);
            a1 = v.fma(x, a1);
            c1 = w.fma(x, c1);
            x = FloatVector.broadcast(S, qt[q + 2]);
            a2 = v.fma(x, a2);
            c2 = w.fma(x, c2);
            x = FloatVector.broadcast(S, qt[q + 3]);
            a3 = v.fma(x, a3);
            c3 = w.fma(x, c3);
        }
        store(scores, h, p, a0, a1, a2, a3, c0, c1, c2, c3);
    }

    private static void store(float[] scores, int h, int p, FloatVector a0, FloatVector a1, FloatVector a2, FloatVector a3,
                              FloatVector c0, FloatVector c1, FloatVector c2, FloatVector c3) {
        int o = h * B + p * L;
        a0.intoArray(scores, o);
        c0.intoArray(scores, o + L);
        a1.intoArray(scores, o + B);
        c1.intoArray(scores, o + B + L);
        a2.intoArray(scores, o + 2 * B);
        c2.intoArray(scores, o + 2 * B + L);
        a3.intoArray(scores, o + 3 * B);
        c3.intoArray(scores, o + 3 * B + L);
    }

    @Override
    public void widenCodes(Data data, long start, int elems, float[] tile) {
        for (int i = 0; i < elems; i += B) {
            for (int p = 0; p < P; p++) load(data, start + i, 0, p).intoArray(tile, i + p * L);
        }
    }

    @Override
    public void scanTile8(Data data, float[] tile, long first, int count, float[] qt, Sink sink) {
        int d = data.dim(), stride = d * B;
        float[] scores = sink.scores();
        float[] th = BlockScan.thresholds(sink);
        for (int i = 0; i < count; i++) {
            for (int p = 0; p < P; p += 2) {
                for (int h = 0; h < GROUP; h += QT) dots4x2(tile, i * stride, d, p, qt, h, scores);
            }
            harvestGroup(data, first + i, scores, th, sink);
        }
    }

    /** For each of the 8 queries: the 16 scores of block b at scores[i * 16], checked against its threshold th[i] (updated). */
    private static void harvestGroup(Data data, long b, float[] scores, float[] th, Sink sink) {
        if (data.dtype() != VectorDType.INT8 && !anyCandidate(scores, th)) return;
        for (int i = 0; i < GROUP; i++) {
            TopKCollector c = sink.collectors()[i];
            if (c != null) th[i] = harvest(data, b, scores, i * B, th[i], c, i, sink);
        }
    }

    /**
     * Whether any of the group's 8 x 16 scores reaches its query's threshold; once the collectors are
     * full, almost no block has one, and this one pass of maxima and compares then replaces eight
     * calls of {@link #harvest} (unscaled scores: not for int8, whose scales apply in harvest). Zen 1,
     * 1,024 queries over 1M x 128, interleaved runs: one thread 120-126 -> 128-132 queries/s, two
     * threads level (203-213 either way); skipping the harvest altogether (wrong results) gave ~12%.
     */
    private static boolean anyCandidate(float[] scores, float[] th) {
        VectorMask<Float> any = S.maskAll(false);
        for (int i = 0; i < GROUP; i++) {
            FloatVector m = FloatVector.fromArray(S, scores, i * B);
            for (int p = 1; p < P; p++) m = m.max(FloatVector.fromArray(S, scores, i * B + p * L));
            any = any.or(m.compare(VectorOperators.GE, th[i]));
        }
        return any.anyTrue();
    }

    /**
     * Offers the rows of block b (scores at off ..+16, scaled here for int8) whose score is at least
     * threshold (ties may still enter: they go to the lower row); returns the new threshold.
     */
    private static float harvest(Data data, long b, float[] scores, int off, float threshold, TopKCollector c, int slot, Sink sink) {
        long bits = 0;
        boolean int8 = data.dtype() == VectorDType.INT8;
        for (int p = 0; p < P; p++) {
            FloatVector v = FloatVector.fromArray(S, scores, off + p * L);
            if (int8) {
                v = v.mul(FloatVector.fromMemorySegment(S, data.scales(), (b * B + p * L) * 4, LE));
                v.intoArray(scores, off + p * L);
            }
            bits |= v.compare(VectorOperators.GE, threshold).toLong() << (p * L);
        }
        if (bits == 0) return threshold;
        while (bits != 0) {
            int lane = Long.numberOfTrailingZeros(bits);
            bits &= bits - 1;
            BlockScan.offer(data, b, lane, scores[off + lane], c, slot, sink);
        }
        return c.threshold();
    }
}
