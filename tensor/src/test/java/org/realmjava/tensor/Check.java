package org.realmjava.tensor;

import static org.junit.jupiter.api.Assertions.fail;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.Random;

/**
 * Test helpers. Tolerances are |actual - expected| <= atol + rtol * |expected| (never purely
 * relative: that breaks at zero); callers scale them with the reduction length and say why.
 */
public final class Check {
    private Check() {}

    public static void close(String context, float[] expected, float[] actual, double atol, double rtol) {
        if (expected.length != actual.length) fail(context + ": length " + actual.length + ", expected " + expected.length);
        for (int i = 0; i < expected.length; i++) {
            double e = expected[i], a = actual[i];
            if (Double.isNaN(e) && Double.isNaN(a)) continue;
            if (e == a) continue; // covers equal infinities
            if (!(Math.abs(a - e) <= atol + rtol * Math.abs(e))) {
                fail(context + ": index " + i + " expected " + e + " actual " + a + " (|diff| " + Math.abs(a - e)
                        + " > atol " + atol + " + rtol " + rtol + " * |expected|)");
            }
        }
    }

    public static MemorySegment randomSegment(Random rng, long n, float lo, float hi) {
        MemorySegment s = Arena.ofAuto().allocate(Math.max(1, n) * 4, 64);
        for (long i = 0; i < n; i++) s.setAtIndex(ValueLayout.JAVA_FLOAT, i, lo + (hi - lo) * rng.nextFloat());
        return s;
    }

    public static MemorySegment copyOf(MemorySegment s) {
        MemorySegment c = Arena.ofAuto().allocate(s.byteSize(), 64);
        c.copyFrom(s);
        return c;
    }

    public static float[] floats(MemorySegment s, long n) {
        return s.asSlice(0, n * 4).toArray(ValueLayout.JAVA_FLOAT);
    }
}
