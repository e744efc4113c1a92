package org.realmjava.tensor.simd;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Random;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;
import org.junit.jupiter.api.Test;

/** SimdMath.exp over its whole range, its edges and the special values. */
class SimdMathTest {
    private static final VectorSpecies<Float> S = SimdSpecies.FLOAT;
    private static final float LO = -103.972084f, HI = 88.72283935f;

    /** Values from below LO to above HI, the edges and their neighbours, and the special values. */
    private static float[] inputs() {
        Random rng = new Random(7);
        float[] edges = {Float.NEGATIVE_INFINITY, Float.POSITIVE_INFINITY, Float.NaN, LO, Math.nextDown(LO), Math.nextUp(LO), HI, Math.nextDown(HI),
                Math.nextUp(HI), -87.33655f, -87.34f, -100f, -0f, 0f, Float.MIN_VALUE, -Float.MIN_VALUE, 1f, -1f, -Float.MAX_VALUE, Float.MAX_VALUE};
        int n = 20_000;
        float[] x = new float[n + edges.length + S.length()];
        System.arraycopy(edges, 0, x, 0, edges.length);
        for (int i = edges.length; i < x.length; i++) x[i] = -110f + 205f * rng.nextFloat();
        return x;
    }

    @Test
    void expMatchesMathExpWithinTwoUlpsAndGetsTheSpecialValuesRight() {
        float[] x = inputs(), y = new float[x.length];
        int L = S.length(), whole = x.length / L * L;
        for (int i = 0; i < whole; i += L) SimdMath.exp(FloatVector.fromArray(S, x, i)).intoArray(y, i);
        for (int i = 0; i < whole; i++) {
            float want = (float) Math.exp(x[i]);
            String at = "exp(" + x[i] + ") = " + y[i] + ", Math.exp " + want;
            if (Float.isNaN(x[i])) assertTrue(Float.isNaN(y[i]), at);
            else if (x[i] < LO) assertEquals(0f, y[i], at);
            else if (x[i] > HI) assertEquals(Float.POSITIVE_INFINITY, y[i], at);
            else if (want < Float.MIN_NORMAL) assertEquals(want, y[i], 2 * Float.MIN_VALUE, at); // subnormal: absolute
            else assertEquals(want, y[i], 2 * Math.ulp(want), at);
        }
    }

    /**
     * Lanes outside [LO, HI] are computed from 0 and n's integer is read from t's bits: the same
     * bits as the plain formulation (clamp with min/max, convert(F2I)), every lane.
     */
    @Test
    void expHasTheBitsOfTheClampAndConvertFormulation() {
        float[] x = inputs();
        int L = S.length();
        for (int i = 0; i + L <= x.length; i += L) {
            FloatVector v = FloatVector.fromArray(S, x, i);
            float[] got = SimdMath.exp(v).toArray(), want = clampAndConvert(v).toArray();
            for (int l = 0; l < L; l++) {
                assertTrue(Float.floatToRawIntBits(want[l]) == Float.floatToRawIntBits(got[l]) || (Float.isNaN(want[l]) && Float.isNaN(got[l])),
                        "exp(" + x[i + l] + "): " + got[l] + " against " + want[l]);
            }
        }
    }

    /** SimdMath.exp written with min/max and convert: slower (Java's NaN and -0 rules cost fix-ups), the same arithmetic on [LO, HI]. */
    private static FloatVector clampAndConvert(FloatVector x) {
        FloatVector c = x.max(LO).min(HI);
        FloatVector n = c.fma(1.44269504088896341f, 12582912f).sub(12582912f);
        FloatVector r = c.sub(n.mul(0.693359375f));
        r = n.fma(FloatVector.broadcast(S, 2.12194440e-4f), r);
        FloatVector p = r.fma(1.9875691500e-4f, 1.3981999507e-3f).fma(r, FloatVector.broadcast(S, 8.3334519073e-3f))
                .fma(r, FloatVector.broadcast(S, 4.1665795894e-2f)).fma(r, FloatVector.broadcast(S, 1.6666665459e-1f)).fma(r, FloatVector.broadcast(S, 5.0000001201e-1f));
        FloatVector er = p.mul(r).fma(r, r).add(1f);
        IntVector ni = (IntVector) n.convert(VectorOperators.F2I, 0);
        IntVector half = ni.lanewise(VectorOperators.ASHR, 1);
        FloatVector s1 = half.add(127).lanewise(VectorOperators.LSHL, 23).reinterpretAsFloats();
        FloatVector s2 = ni.sub(half).add(127).lanewise(VectorOperators.LSHL, 23).reinterpretAsFloats();
        FloatVector y = er.mul(s1).mul(s2);
        y = y.blend(0f, x.compare(VectorOperators.LT, LO));
        return y.blend(Float.POSITIVE_INFINITY, x.compare(VectorOperators.GT, HI));
    }
}
