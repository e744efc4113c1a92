package org.realmjava.tensor.kernels;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.Arrays;
import java.util.Random;
import java.util.function.Consumer;
import org.junit.jupiter.api.Test;
import org.realmjava.tensor.Check;
import org.realmjava.tensor.simd.SimdGemm;
import org.realmjava.tensor.simd.SimdKernels;

/**
 * The Vector API kernels give the same bits for the same input however warm the JVM is: each op
 * is called thousands of times, from its first call (interpreted, when this class runs first in
 * its fork, as with -Dtest=KernelDeterminismTest) through C1 and C2, and every output must equal the
 * first one exactly. With the Vector API's
 * own EXP and reduceLanes(ADD) they did not (SVML and a different lane order once compiled, see
 * SimdMath), and a resumed training run could not repeat an uninterrupted one.
 */
class KernelDeterminismTest {
    private static final int REPEATS = 3000;

    private static void sameEveryTime(String name, long n, Consumer<MemorySegment> op) {
        MemorySegment out = Arena.ofAuto().allocate(n * 4, 64);
        op.accept(out);
        float[] first = Check.floats(out, n);
        int differ = 0;
        for (int r = 0; r < REPEATS; r++) {
            op.accept(out);
            if (!Arrays.equals(first, Check.floats(out, n))) differ++;
        }
        assertEquals(0, differ, name + ": repeats whose output differs from the first call's");
    }

    @Test
    void kernelsWithTranscendentalsAndSumsAreBitwiseRepeatable() {
        Kernels k = new SimdKernels(new SimdGemm());
        Random rng = new Random(3);
        int rows = 64, cols = 96;
        long n = (long) rows * cols;
        MemorySegment x = Check.randomSegment(rng, n, -3, 3), g = Check.randomSegment(rng, cols, 0.5f, 1.5f), b = Check.randomSegment(rng, cols, -1, 1);
        MemorySegment mean = Arena.ofAuto().allocate(rows * 4L), rstd = Arena.ofAuto().allocate(rows * 4L);
        MemorySegment mask = Arena.ofAuto().allocate(2 * 32 * 4L);
        MemorySegment dy = Check.randomSegment(rng, n, -1, 1);
        sameEveryTime("exp", n, o -> k.unary(UnaryOp.EXP, x, o, n));
        sameEveryTime("tanh", n, o -> k.unary(UnaryOp.TANH, x, o, n));
        sameEveryTime("gelu tanh backward", n, o -> {
            o.fill((byte) 0);
            k.unaryBackward(UnaryOp.GELU_TANH, x, x, dy, o, n);
        });
        sameEveryTime("softmaxRows", n, o -> k.softmaxRows(x, o, rows, cols));
        sameEveryTime("logSoftmaxRows", n, o -> k.logSoftmaxRows(x, o, rows, cols));
        sameEveryTime("layerNormRows", n, o -> k.layerNormRows(x, g, b, o, mean, rstd, rows, cols, 1e-12f));
        sameEveryTime("attention", n, o -> k.attention(x, cols, x, cols, x, cols, mask, o, cols, 2, 32, 3, 32, 0.17f));
        MemorySegment ll = Check.randomSegment(rng, 4 * 9 * 20, -8, 0), f = Check.randomSegment(rng, 4 * 9, -2, 2);
        sameEveryTime("marginalLogLikelihood", 4 * 20, o -> k.marginalLogLikelihood(f, ll, null, o, 4, 9, 20));
    }
}
