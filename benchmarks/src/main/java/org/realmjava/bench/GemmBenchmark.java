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
import org.realmjava.nativebind.OpenBlas;
import org.realmjava.tensor.kernels.ScalarKernels;
import org.realmjava.tensor.simd.GemmKernel;
import org.realmjava.tensor.simd.OpenBlasGemm;
import org.realmjava.tensor.simd.SimdGemm;

/**
 * SGEMM C[m,n] = A[m,k] B[k,n] on BERT shapes, the Vector API kernel against OpenBLAS in the
 * same run. One call is 2*m*n*k FLOPs; GFLOP/s = 2mnk / (seconds per call) / 1e9. The 2-core
 * development machine's FMA peak is ~826 GFLOP/s (DESIGN.md). Setup checks a sample of the result
 * against the scalar reference once, so a fast wrong kernel cannot post a number.
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MILLISECONDS)
@Fork(value = 1, jvmArgsAppend = {"--add-modules", "jdk.incubator.vector", "--enable-native-access=ALL-UNNAMED", "-XX:-UseProfiledLoopPredicate"})
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 5, time = 1)
public class GemmBenchmark {
    /** m x n x k: attention projections, FFN up, weight gradient, and the classic square. */
    @Param({"4096x384x384", "4096x1536x384", "384x384x4096", "2048x2048x2048"})
    public String shape;

    @Param({"simd", "openblas"})
    public String impl;

    /** B stored [n, k] and read transposed, as a Linear layer's weight is (C = A W^T). */
    @Param({"false"})
    public boolean transB;

    int m, n, k;
    MemorySegment a, b, c;
    GemmKernel kernel;

    @Setup
    public void setup() {
        String[] p = shape.split("x");
        m = Integer.parseInt(p[0]);
        n = Integer.parseInt(p[1]);
        k = Integer.parseInt(p[2]);
        Random rng = new Random(1);
        a = random(rng, (long) m * k);
        b = random(rng, (long) k * n);
        c = Arena.ofAuto().allocate((long) m * n * 4, 64);
        if (impl.equals("openblas") && !OpenBlas.available()) throw new IllegalStateException("OpenBLAS not available: " + OpenBlas.loadError());
        kernel = impl.equals("simd") ? new SimdGemm() : new OpenBlasGemm();
        verify();
    }

    private static MemorySegment random(Random rng, long n) {
        MemorySegment s = Arena.ofAuto().allocate(n * 4, 64);
        for (long i = 0; i < n; i++) s.setAtIndex(ValueLayout.JAVA_FLOAT, i, rng.nextFloat() * 2 - 1);
        return s;
    }

    /** Checks 16 rows of C against the reference (a full scalar GEMM would take minutes). */
    private void verify() {
        kernel.gemm(false, transB, m, n, k, 1f, a, k, b, transB ? k : n, 0f, c, n);
        int rows = Math.min(16, m);
        MemorySegment ref = Arena.ofAuto().allocate((long) rows * n * 4, 64);
        new ScalarKernels().gemm(false, transB, rows, n, k, 1f, a, k, b, transB ? k : n, 0f, ref, n);
        for (long i = 0; i < (long) rows * n; i++) {
            float e = ref.getAtIndex(ValueLayout.JAVA_FLOAT, i), v = c.getAtIndex(ValueLayout.JAVA_FLOAT, i);
            if (Math.abs(e - v) > 1e-3 + 1e-4 * Math.abs(e)) {
                throw new IllegalStateException(impl + " gemm " + shape + " wrong at " + i + ": " + v + " vs " + e);
            }
        }
    }

    @Benchmark
    public MemorySegment gemm() {
        kernel.gemm(false, transB, m, n, k, 1f, a, k, b, transB ? k : n, 0f, c, n);
        return c;
    }
}
