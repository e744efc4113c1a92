package org.realmjava.bench;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.Random;
import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.Warmup;
import org.realmjava.tensor.kernels.Kernels;
import org.realmjava.tensor.kernels.ScalarKernels;
import org.realmjava.tensor.kernels.UnaryOp;
import org.realmjava.tensor.simd.SimdKernels;

/**
 * Softmax, layer norm and GELU over [rows, cols] f32, Vector API against the scalar reference.
 * Each call reads rows*cols*4 bytes and writes as many; GB/s below counts bytes read + written
 * per call, to compare with the ~51 GB/s read bandwidth of the 2-core machine. Attention scores
 * (B=32, H=12, L=128: 49152 rows of 128) and hidden states (4096 rows of 384, 1536).
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MICROSECONDS)
@Fork(value = 1, jvmArgsAppend = {"--add-modules", "jdk.incubator.vector", "--enable-native-access=ALL-UNNAMED", "-XX:-UseProfiledLoopPredicate"})
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 5, time = 1)
public class RowKernelsBenchmark {
    @Param({"49152x128", "4096x384", "4096x1536"})
    public String shape;

    @Param({"simd", "scalar"})
    public String impl;

    long rows, cols;
    MemorySegment x, y, gamma, beta, mean, rstd;
    Kernels k;

    @Setup
    public void setup() {
        String[] p = shape.split("x");
        rows = Long.parseLong(p[0]);
        cols = Long.parseLong(p[1]);
        Random rng = new Random(1);
        x = seg(rows * cols, rng);
        y = seg(rows * cols, rng);
        gamma = seg(cols, rng);
        beta = seg(cols, rng);
        mean = seg(rows, rng);
        rstd = seg(rows, rng);
        k = impl.equals("simd") ? new SimdKernels() : new ScalarKernels();
    }

    private static MemorySegment seg(long n, Random rng) {
        MemorySegment s = Arena.ofAuto().allocate(n * 4, 64);
        for (long i = 0; i < n; i++) s.setAtIndex(ValueLayout.JAVA_FLOAT, i, rng.nextFloat() * 4 - 2);
        return s;
    }

    @Benchmark
    public MemorySegment softmax() {
        k.softmaxRows(x, y, rows, cols);
        return y;
    }

    @Benchmark
    public MemorySegment layerNorm() {
        k.layerNormRows(x, gamma, beta, y, mean, rstd, rows, cols, 1e-12f);
        return y;
    }

    @Benchmark
    public MemorySegment gelu() {
        k.unary(UnaryOp.GELU_ERF, x, y, rows * cols);
        return y;
    }

    /** The pass after an intermediate GEMM in inference: bias added, then GELU, row by row. */
    @Benchmark
    public MemorySegment biasGelu() {
        k.biasUnaryRows(UnaryOp.GELU_ERF, x, gamma, y, rows, cols);
        return y;
    }
}
