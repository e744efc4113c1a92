package org.realmjava.tensor.simd;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.VectorMask;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorShuffle;
import jdk.incubator.vector.VectorSpecies;

/**
 * Vector math whose results do not depend on the JIT: exp as a polynomial, tanh from it, a lane
 * sum in a fixed tree order, log lane by lane through Math.log.
 *
 * <p>Why: the Vector API's own EXP/LOG/TANH run as SVML stubs once C2 has compiled a loop and as a
 * per-lane Java fallback before that, and reduceLanes(ADD) adds the lanes in a different order in
 * the two; the results differ in the last bits (measured: softmax, layer norm and attention gave
 * different outputs for the same input in 2,000+ of 3,000 repeats from a cold JVM). Training then
 * depended on how warm the JVM was, and a resumed run (a cold JVM at step N) could not repeat the
 * uninterrupted one. The operations used here (add, mul, fma, compare, blend, int shifts,
 * rearrange) are exactly specified, so every tier computes the same bits.
 */
public final class SimdMath {
    private static final VectorSpecies<Float> S = SimdSpecies.FLOAT;
    private static final VectorSpecies<Integer> I = VectorSpecies.of(int.class, S.vectorShape());
    private static final int L = S.length();

    // exp: x = n ln2 + r, |r| <= ln2 / 2; e^r by Cephes expf's degree-6 polynomial (< 2 ulp)
    private static final float LOG2E = 1.44269504088896341f;
    private static final float LN2_HI = 0.693359375f, LN2_LO = -2.12194440e-4f;
    private static final float P0 = 1.9875691500e-4f, P1 = 1.3981999507e-3f, P2 = 8.3334519073e-3f, P3 = 4.1665795894e-2f,
            P4 = 1.6666665459e-1f, P5 = 5.0000001201e-1f;
    /** Adding then subtracting 1.5 * 2^23 rounds to the nearest integer (ties to even) for |v| < 2^22. */
    private static final float ROUNDER = 12582912f;
    private static final int ROUNDER_BITS = Float.floatToRawIntBits(ROUNDER);
    /** Above: e^x overflows to +inf; below: it is 0 in f32 (the smallest subnormal is e^-103.28). */
    private static final float HI = 88.72283935f, LO = -103.972084f;

    /**
     * Shuffles that move lane i + step to lane i, for the fixed-order sum; null where step is not
     * below the lane count. One static final field per step: read from an array in a loop, C2 did
     * not intrinsify the sum (its adds ran in the Java fallback, 5% of a refresh's samples).
     */
    private static final VectorShuffle<Float> FOLD8 = fold(8), FOLD4 = fold(4), FOLD2 = fold(2), FOLD1 = fold(1);

    private SimdMath() {}

    private static VectorShuffle<Float> fold(int step) {
        if (step >= L) return null;
        int[] idx = new int[L];
        for (int i = 0; i < L; i++) idx[i] = (i + step) % L;
        return VectorShuffle.fromArray(S, idx, 0);
    }

    /** e^x per lane, the same bits in every JIT tier; -inf gives 0, +inf gives +inf, NaN gives NaN. */
    public static FloatVector exp(FloatVector x) {
        // Lanes outside [LO, HI] get their result from the blends at the end and are computed from 0
        // meanwhile: from LO (x = -inf in a masked softmax) the product 2^n came out subnormal, and
        // on this Zen 4 such a vector took twice as long as a normal one. Masks and blends, not
        // min/max, and n's integer from t's bits, not convert(F2I): Java's NaN and -0 rules compile
        // each of those to the instruction plus a compare-and-fix-up sequence.
        VectorMask<Float> under = x.compare(VectorOperators.LT, LO), over = x.compare(VectorOperators.GT, HI);
        FloatVector c = x.blend(0f, under.or(over));
        // t = c log2(e) + 1.5 * 2^23 keeps round(c log2(e)) as an integer in its low mantissa bits
        FloatVector t = c.fma(LOG2E, ROUNDER);
        FloatVector n = t.sub(ROUNDER);
        // LN2_HI has 9 significant bits: n * LN2_HI is exact, so the first step needs no fma
        FloatVector r = c.sub(n.mul(LN2_HI));
        r = n.fma(FloatVector.broadcast(S, -LN2_LO), r);
        FloatVector p = r.fma(P0, P1).fma(r, FloatVector.broadcast(S, P2)).fma(r, FloatVector.broadcast(S, P3)).fma(r, FloatVector.broadcast(S, P4))
                .fma(r, FloatVector.broadcast(S, P5));
        FloatVector er = p.mul(r).fma(r, r).add(1f); // 1 + r + r^2 P(r)
        // 2^n as two factors, so that n down to -150 (subnormal results) stays exact
        IntVector ni = t.reinterpretAsInts().sub(ROUNDER_BITS);
        IntVector half = ni.lanewise(VectorOperators.ASHR, 1);
        FloatVector s1 = half.add(127).lanewise(VectorOperators.LSHL, 23).reinterpretAsFloats();
        FloatVector s2 = ni.sub(half).add(127).lanewise(VectorOperators.LSHL, 23).reinterpretAsFloats();
        FloatVector y = er.mul(s1).mul(s2);
        y = y.blend(0f, under);
        return y.blend(Float.POSITIVE_INFINITY, over);
    }

    /** tanh(x) = sign(x) (1 - 2 / (e^{2|x|} + 1)); absolute error ~1e-7 near 0. */
    public static FloatVector tanh(FloatVector x) {
        FloatVector a = x.abs();
        FloatVector t = FloatVector.broadcast(S, 1f).sub(FloatVector.broadcast(S, 2f).div(exp(a.mul(2f)).add(1f)));
        return t.blend(t.neg(), x.compare(VectorOperators.LT, 0f));
    }

    /** The sum of the lanes in a fixed tree order (lane i + L/2 onto lane i, then L/4, ...). */
    public static float sum(FloatVector v) {
        if (L > 8) v = v.add(v.rearrange(FOLD8));
        if (L > 4) v = v.add(v.rearrange(FOLD4));
        if (L > 2) v = v.add(v.rearrange(FOLD2));
        if (L > 1) v = v.add(v.rearrange(FOLD1));
        return v.lane(0);
    }

    /** Natural log per lane through Math.log (which every tier computes alike). */
    public static FloatVector log(FloatVector x) {
        float[] a = x.toArray();
        for (int i = 0; i < a.length; i++) a[i] = (float) Math.log(a[i]);
        return FloatVector.fromArray(S, a, 0);
    }
}
