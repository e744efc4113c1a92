package org.realmjava.tensor.simd;

import java.lang.foreign.MemorySegment;
import java.nio.ByteOrder;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorMask;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;
import org.realmjava.tensor.parallel.Parallel;

/**
 * REALM's marginal log-likelihood ({@code Kernels.marginalLogLikelihood} and its backward) with
 * the Vector API; the reference of the same name is in {@code ScalarKernels} (double precision).
 *
 * <p>Layout: ll is [batch, z, t] with the targets t contiguous, so vectors run across targets and
 * the short candidate axis (k + 1 = 9 in pre-training) is a scalar loop: for each block of L
 * targets, max over z of logPrior[z] + ll[z, block], then the shifted exp-sum. Tails use masked
 * loads and stores (the lanes past t are never read or written). One task per example.
 * -inf is handled where the reference handles it: a target no candidate produces (every ll -inf)
 * has its max shifted to 0, so exp gives 0, log gives -inf, and its gradient lanes are zeroed.
 */
final class SimdMarginal {
    private static final VectorSpecies<Float> S = SimdSpecies.FLOAT;
    private static final int L = S.length();
    private static final ByteOrder NATIVE = ByteOrder.nativeOrder();
    private static final float NEG_INF = Float.NEGATIVE_INFINITY;

    private SimdMarginal() {}

    private static FloatVector load(MemorySegment s, long i, VectorMask<Float> in) {
        return FloatVector.fromMemorySegment(S, s, i << 2, NATIVE, in);
    }

    /** log p(z|x) for the z scores of example b, in float, max-shifted. */
    private static void logPriors(MemorySegment f, int b, int z, float[] logPrior) {
        float max = NEG_INF;
        for (int c = 0; c < z; c++) max = Math.max(max, f.getAtIndex(SimdKernels.F32, (long) b * z + c));
        double sum = 0;
        for (int c = 0; c < z; c++) sum += Math.exp(f.getAtIndex(SimdKernels.F32, (long) b * z + c) - max);
        float lse = max + (float) Math.log(sum);
        for (int c = 0; c < z; c++) logPrior[c] = f.getAtIndex(SimdKernels.F32, (long) b * z + c) - lse;
    }

    /** logp[j ..+L) of example b: logsumexp_z (logPrior[z] + ll[b, z, j ..)), masked lanes in. */
    private static FloatVector block(MemorySegment ll, float[] logPrior, int b, int z, int t, int j, VectorMask<Float> in) {
        FloatVector max = FloatVector.broadcast(S, NEG_INF);
        for (int c = 0; c < z; c++) max = max.max(load(ll, (long) (b * z + c) * t + j, in).add(logPrior[c]));
        // where every candidate gives -inf, shift by 0 instead: the sum is then 0 and the log -inf
        FloatVector shift = max.blend(0f, max.compare(VectorOperators.EQ, NEG_INF));
        FloatVector sum = FloatVector.zero(S);
        for (int c = 0; c < z; c++) {
            sum = sum.add(SimdMath.exp(load(ll, (long) (b * z + c) * t + j, in).add(logPrior[c]).sub(shift)));
        }
        return shift.add(SimdMath.log(sum));
    }

    static void forward(MemorySegment f, MemorySegment ll, MemorySegment mask, MemorySegment logp, int batch, int z, int t) {
        Parallel.forRange(batch, 1, (bs, be) -> {
            float[] logPrior = new float[z];
            for (int b = (int) bs; b < be; b++) {
                logPriors(f, b, z, logPrior);
                for (int j = 0; j < t; j += L) {
                    VectorMask<Float> in = S.indexInRange(j, t);
                    FloatVector lp = block(ll, logPrior, b, z, t, j, in);
                    if (mask != null) lp = lp.blend(0f, load(mask, (long) b * t + j, in).compare(VectorOperators.EQ, 0f));
                    lp.intoMemorySegment(logp, ((long) b * t + j) << 2, NATIVE, in);
                }
            }
        });
    }

    static void backward(MemorySegment f, MemorySegment ll, MemorySegment mask, MemorySegment logp, MemorySegment g,
                         MemorySegment df, MemorySegment dll, int batch, int z, int t) {
        Parallel.forRange(batch, 1, (bs, be) -> {
            float[] logPrior = new float[z], prior = new float[z], dfAcc = new float[z];
            for (int b = (int) bs; b < be; b++) {
                logPriors(f, b, z, logPrior);
                for (int c = 0; c < z; c++) {
                    prior[c] = (float) Math.exp(logPrior[c]);
                    dfAcc[c] = 0f;
                }
                for (int j = 0; j < t; j += L) {
                    VectorMask<Float> in = S.indexInRange(j, t);
                    FloatVector lp = load(logp, (long) b * t + j, in);
                    VectorMask<Float> active = in.and(lp.compare(VectorOperators.NE, NEG_INF));
                    if (mask != null) active = active.and(load(mask, (long) b * t + j, in).compare(VectorOperators.NE, 0f));
                    FloatVector gv = FloatVector.zero(S).blend(load(g, (long) b * t + j, in), active);
                    FloatVector shift = FloatVector.zero(S).blend(lp, active);
                    for (int c = 0; c < z; c++) {
                        long at = (long) (b * z + c) * t + j;
                        FloatVector post = SimdMath.exp(load(ll, at, in).add(logPrior[c]).sub(shift));
                        post = FloatVector.zero(S).blend(post, active);
                        load(dll, at, in).add(gv.mul(post)).intoMemorySegment(dll, at << 2, NATIVE, in);
                        dfAcc[c] += SimdMath.sum(gv.mul(post.sub(prior[c])));
                    }
                }
                for (int c = 0; c < z; c++) {
                    long at = (long) b * z + c;
                    df.setAtIndex(SimdKernels.F32, at, df.getAtIndex(SimdKernels.F32, at) + dfAcc[c]);
                }
            }
        });
    }
}
