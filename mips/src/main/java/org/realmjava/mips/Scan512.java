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
import jdk.incubator.vector.VectorSpecies;
import org.realmjava.mips.BlockScan.Data;
import org.realmjava.mips.BlockScan.Sink;

/**
 * The scans with 512-bit vectors (AVX-512): one vector holds dimension j of a block's 16 rows.
 * {@link #scan1} keeps two blocks in flight to cover FMA latency, {@link #scan8} shares each block
 * loaded from the mapped file between eight queries, and {@link #scanTile8} runs eight queries over
 * two blocks of the widened tile (16 accumulators: the FMA units set the pace).
 */
final class Scan512 implements BlockScan.Kernel {
    static final VectorSpecies<Float> F512 = FloatVector.SPECIES_512;

    @Override
    public String name() {
        return "simd512";
    }

    /** One dimension of 16 rows, widened to f32. dtype is loop-invariant, so C2 unswitches this. */
    private static FloatVector load(Data data, long blockBase, int j) {
        MemorySegment s = data.blocks();
        VectorDType t = data.dtype();
        if (t == VectorDType.F32) return FloatVector.fromMemorySegment(F512, s, (blockBase + (long) j * B) * 4, LE);
        if (t == VectorDType.BF16) {
            return ((IntVector) ShortVector.fromMemorySegment(ShortVector.SPECIES_256, s, (blockBase + (long) j * B) * 2, LE)
                    .convertShape(VectorOperators.S2I, IntVector.SPECIES_512, 0)).lanewise(VectorOperators.LSHL, 16).reinterpretAsFloats();
        }
        return (FloatVector) ByteVector.fromMemorySegment(ByteVector.SPECIES_128, s, blockBase + (long) j * B, LE)
                .convertShape(VectorOperators.B2F, F512, 0);
    }

    private static FloatVector scaled(Data data, long block, FloatVector acc) {
        if (data.dtype() != VectorDType.INT8) return acc;
        return acc.mul(FloatVector.fromMemorySegment(F512, data.scales(), block * B * 4, LE));
    }

    @Override
    public void scan1(Data data, long from, long to, float[] q, int qOff, Sink sink) {
        int d = data.dim();
        TopKCollector c = sink.collectors()[0];
        float[] lanes = new float[B];
        float threshold = c.threshold();
        long b = from;
        for (; b + 1 < to; b += 2) {
            long base0 = b * d * B, base1 = base0 + (long) d * B;
            FloatVector acc0 = FloatVector.zero(F512), acc1 = acc0;
            for (int j = 0; j < d; j++) {
                FloatVector qj = FloatVector.broadcast(F512, q[qOff + j]);
                acc0 = load(data, base0, j).fma(qj, acc0);
                acc1 = load(data, base1, j).fma(qj, acc1);
            }
            threshold = harvest(data, b, scaled(data, b, acc0), threshold, c, sink, lanes);
            threshold = harvest(data, b + 1, scaled(data, b + 1, acc1), threshold, c, sink, lanes);
        }
        if (b < to) {
            long base0 = b * d * B;
            FloatVector acc0 = FloatVector.zero(F512);
            for (int j = 0; j < d; j++) acc0 = load(data, base0, j).fma(FloatVector.broadcast(F512, q[qOff + j]), acc0);
            harvest(data, b, scaled(data, b, acc0), threshold, c, sink, lanes);
        }
    }

    @Override
    public void scan8(Data data, long from, long to, float[] qs, Sink sink) {
        float[] scores = sink.scores();
        float[] th = BlockScan.thresholds(sink);
        for (long b = from; b < to; b++) {
            dots8(data, b * data.dim() * B, qs, scores);
            harvestScores(data, b, scores, 0, th, sink);
        }
    }

    /**
     * scores[i*16 + lane] = dot(query i, row 16b + lane) for the block at base. The kernels only
     * compute and store; harvesting is a separate method. Kept apart, each loop stays small enough
     * for C2 to inline every vector op: past its node budget the accumulators are boxed inside the
     * loop, which was measured at 3-4x slower and made timings depend on JIT luck.
     */
    private static void dots8(Data data, long base, float[] qs, float[] scores) {
        int d = data.dim();
        FloatVector a0 = FloatVector.zero(F512), a1 = a0, a2 = a0, a3 = a0, a4 = a0, a5 = a0, a6 = a0, a7 = a0;
        for (int j = 0; j < d; j++) {
            FloatVector v = load(data, base, j);
            a0 = v.fma(FloatVector.broadcast(F512, qs[j]), a0);
            a1 = v.fma(FloatVector.broadcast(F512, qs[d + j]), a1);
            a2 = v.fma(FloatVector.broadcast(F512, qs[2 * d + j]), a2);
            a3 = v.fma(FloatVector.broadcast(F512, qs[3 * d + j]), a3);
            a4 = v.fma(FloatVector.broadcast(F512, qs[4 * d + j]), a4);
            a5 = v.fma(FloatVector.broadcast(F512, qs[5 * d + j]), a5);
            a6 = v.fma(FloatVector.broadcast(F512, qs[6 * d + j]), a6);
            a7 = v.fma(FloatVector.broadcast(F512, qs[7 * d + j]), a7);
        }
        a0.intoArray(scores, 0);
        a1.intoArray(scores, B);
        a2.intoArray(scores, 2 * B);
        a3.intoArray(scores, 3 * B);
        a4.intoArray(scores, 4 * B);
        a5.intoArray(scores, 5 * B);
        a6.intoArray(scores, 6 * B);
        a7.intoArray(scores, 7 * B);
    }

    /** For each of the 8 queries: the 16 scores of block b at scores[off + i*16], scaled (int8), checked against the threshold. */
    private static void harvestScores(Data data, long b, float[] scores, int off, float[] th, Sink sink) {
        FloatVector scale = data.dtype() == VectorDType.INT8 ? FloatVector.fromMemorySegment(F512, data.scales(), b * B * 4, LE) : null;
        for (int i = 0; i < GROUP; i++) {
            TopKCollector c = sink.collectors()[i];
            if (c == null) continue;
            FloatVector v = FloatVector.fromArray(F512, scores, off + i * B);
            if (scale != null) v = v.mul(scale);
            VectorMask<Float> m = v.compare(VectorOperators.GE, th[i]);
            if (!m.anyTrue()) continue;
            float[] lanes = new float[B];
            v.intoArray(lanes, 0);
            long bits = m.toLong();
            while (bits != 0) {
                int lane = Long.numberOfTrailingZeros(bits);
                bits &= bits - 1;
                BlockScan.offer(data, b, lane, lanes[lane], c, i, sink);
            }
            th[i] = c.threshold();
        }
    }

    @Override
    public void widenCodes(Data data, long start, int elems, float[] tile) {
        for (int i = 0; i < elems; i += B) load(data, start + i, 0).intoArray(tile, i);
    }

    @Override
    public void scanTile8(Data data, float[] tile, long first, int count, float[] qs, Sink sink) {
        int stride = data.dim() * B;
        float[] scores = sink.scores();
        float[] th = BlockScan.thresholds(sink);
        int i = 0;
        for (; i + 1 < count; i += 2) {
            dots2x8(tile, i * stride, data.dim(), qs, scores);
            harvestScores(data, first + i, scores, 0, th, sink);
            harvestScores(data, first + i + 1, scores, GROUP * B, th, sink);
        }
        if (i < count) {
            // the odd last block: the one-block kernel, reading the tile through a heap segment
            Data tileData = new Data(MemorySegment.ofArray(tile), null, VectorDType.F32, data.dim(), data.count());
            dots8(tileData, (long) i * stride, qs, scores);
            harvestScores(data, first + i, scores, 0, th, sink);
        }
    }

    /**
     * Two blocks x 8 queries from a widened tile: 16 accumulators; per dimension 2 loads and 8
     * broadcasts feed 16 FMAs, so the FMA units set the pace. scores[0..128) for the block at o0,
     * [128..256) for the next one.
     */
    private static void dots2x8(float[] tile, int o0, int d, float[] qs, float[] scores) {
        int o1 = o0 + d * B;
        FloatVector a0 = FloatVector.zero(F512), a1 = a0, a2 = a0, a3 = a0, a4 = a0, a5 = a0, a6 = a0, a7 = a0;
        FloatVector c0 = a0, c1 = a0, c2 = a0, c3 = a0, c4 = a0, c5 = a0, c6 = a0, c7 = a0;
        for (int j = 0; j < d; j++) {
            FloatVector v = FloatVector.fromArray(F512, tile, o0 + j * B), w = FloatVector.fromArray(F512, tile, o1 + j * B);
            FloatVector q;
            q = FloatVector.broadcast(F512, qs[j]);
            a0 = v.fma(q, a0);
            c0 = w.fma(q, c0);
            q = FloatVector.broadcast(F512, qs[d + j]);
            a1 = v.fma(q, a1);
            c1 = w.fma(q, c1);
            q = FloatVector.broadcast(F512, qs[2 * d + j]);
            a2 = v.fma(q, a2);
            c2 = w.fma(q, c2);
            q = FloatVector.broadcast(F512, qs[3 * d + j]);
            a3 = v.fma(q, a3);
            c3 = w.fma(q, c3);
            q = FloatVector.broadcast(F512, qs[4 * d + j]);
            a4 = v.fma(q, a4);
            c4 = w.fma(q, c4);
            q = FloatVector.broadcast(F512, qs[5 * d + j]);
            a5 = v.fma(q, a5);
            c5 = w.fma(q, c5);
            q = FloatVector.broadcast(F512, qs[6 * d + j]);
            a6 = v.fma(q, a6);
            c6 = w.fma(q, c6);
            q = FloatVector.broadcast(F512, qs[7 * d + j]);
            a7 = v.fma(q, a7);
            c7 = w.fma(q, c7);
        }
        a0.intoArray(scores, 0);
        a1.intoArray(scores, B);
        a2.intoArray(scores, 2 * B);
        a3.intoArray(scores, 3 * B);
        a4.intoArray(scores, 4 * B);
        a5.intoArray(scores, 5 * B);
        a6.intoArray(scores, 6 * B);
        a7.intoArray(scores, 7 * B);
        c0.intoArray(scores, 8 * B);
        c1.intoArray(scores, 9 * B);
        c2.intoArray(scores, 10 * B);
        c3.intoArray(scores, 11 * B);
        c4.intoArray(scores, 12 * B);
        c5.intoArray(scores, 13 * B);
        c6.intoArray(scores, 14 * B);
        c7.intoArray(scores, 15 * B);
    }

    /** Offers the rows of block b whose score beats threshold; returns the new threshold. */
    private static float harvest(Data data, long b, FloatVector scores, float threshold, TopKCollector c, Sink sink, float[] lanes) {
        // >= keeps rows tied with the threshold: a lower row number may still enter (ties go to the lower row)
        VectorMask<Float> m = scores.compare(VectorOperators.GE, threshold);
        if (!m.anyTrue()) return threshold;
        scores.intoArray(lanes, 0);
        long bits = m.toLong();
        while (bits != 0) {
            int lane = Long.numberOfTrailingZeros(bits);
            bits &= bits - 1;
            BlockScan.offer(data, b, lane, lanes[lane], c, 0, sink);
        }
        return c.threshold();
    }
}
