package org.realmjava.tensor.simd;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.VectorMask;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;
import org.realmjava.tensor.kernels.BinaryOp;
import org.realmjava.tensor.kernels.Kernels;
import org.realmjava.tensor.kernels.ScalarKernels;
import org.realmjava.tensor.kernels.UnaryOp;
import org.realmjava.tensor.parallel.Parallel;

/**
 * Vector API kernels, parallel over the fixed pool. The only package that imports
 * {@code jdk.incubator.vector}.
 *
 * <p>Each kernel: a guard, a vector body over whole vectors, and a scalar tail that calls the
 * reference ({@link ScalarKernels}) on the remaining elements, so tails are exact by construction.
 * Ops not optimised here are handed to the reference explicitly (see {@link #maxAxis}).
 */
public class SimdKernels implements Kernels {
    /** The species, fixed at class load (see {@link SimdSpecies}); a constant, so C2 intrinsifies. */
    static final VectorSpecies<Float> S = SimdSpecies.FLOAT;
    static final int L = S.length();
    static final ByteOrder NATIVE = ByteOrder.nativeOrder();
    static final ValueLayout.OfFloat F32 = ValueLayout.JAVA_FLOAT;
    /** Element-wise work below this many elements per thread stays on one thread. */
    static final long ELEMENTWISE_GRAIN = 1 << 15;

    private final ScalarKernels reference = new ScalarKernels();
    private final GemmKernel gemm;

    public SimdKernels(GemmKernel gemm) {
        this.gemm = gemm;
    }

    public SimdKernels() {
        this(new SimdGemm());
    }

    @Override
    public String name() {
        return "simd" + S.vectorBitSize() + "+" + gemm.name();
    }

    static FloatVector load(MemorySegment s, long i) {
        return FloatVector.fromMemorySegment(S, s, i << 2, NATIVE);
    }

    static void store(FloatVector v, MemorySegment s, long i) {
        v.intoMemorySegment(s, i << 2, NATIVE);
    }

    /**
     * dst[off ..+n] = src[from ..+n] (float indices) with vector loads. For short runs this beats
     * MemorySegment.copy into a heap array, which makes a native call per copy (~15 ns).
     */
    static void copyToArray(MemorySegment src, long from, float[] dst, int off, int n) {
        int i = 0;
        for (; i <= n - L; i += L) load(src, from + i).intoArray(dst, off + i);
        for (; i < n; i++) dst[off + i] = src.getAtIndex(F32, from + i);
    }

    /** dst[to ..+n] = src[off ..+n] (float indices): the store-side twin of {@link #copyToArray}. */
    static void copyFromArray(float[] src, int off, MemorySegment dst, long to, int n) {
        int i = 0;
        for (; i <= n - L; i += L) store(FloatVector.fromArray(S, src, off + i), dst, to + i);
        for (; i < n; i++) dst.setAtIndex(F32, to + i, src[off + i]);
    }

    private static MemorySegment tail(MemorySegment s, long from) {
        return s.asSlice(from << 2);
    }

    // ---------------------------------------------------------------- element-wise

    @Override
    public void unary(UnaryOp op, MemorySegment x, MemorySegment y, long n) {
        Parallel.forRange(n, ELEMENTWISE_GRAIN, (s, e) -> unaryRange(op, x, y, s, e));
    }

    private void unaryRange(UnaryOp op, MemorySegment x, MemorySegment y, long start, long end) {
        long i = start;
        long bound = start + S.loopBound(end - start);
        // GELU and exp get loops of their own: with the op switch inside the loop, C2 compiled the
        // training step's GELU without inlining the vector code (boxed vectors: 28% of the Java
        // samples of an MLM step went to apply and load)
        switch (op) {
            case GELU_ERF -> {
                for (; i < bound; i += L) {
                    FloatVector v = load(x, i);
                    store(v.mul(0.5f).mul(erf(v.mul(INV_SQRT_2)).add(1f)), y, i);
                }
            }
            case EXP -> {
                for (; i < bound; i += L) store(SimdMath.exp(load(x, i)), y, i);
            }
            default -> {
                for (; i < bound; i += L) store(apply(op, load(x, i)), y, i);
            }
        }
        if (i < end) reference.unary(op, tail(x, i), tail(y, i), end - i);
    }

    static final float SQRT_2_OVER_PI = (float) Math.sqrt(2.0 / Math.PI);
    static final float INV_SQRT_2 = (float) (1.0 / Math.sqrt(2.0));
    static final float INV_SQRT_2PI = (float) (1.0 / Math.sqrt(2.0 * Math.PI));

    static FloatVector apply(UnaryOp op, FloatVector x) {
        return switch (op) {
            case EXP -> SimdMath.exp(x);
            case LOG -> SimdMath.log(x);
            case SQRT -> x.sqrt();
            case TANH -> SimdMath.tanh(x);
            case RELU -> x.max(0f);
            case GELU_ERF -> x.mul(0.5f).mul(erf(x.mul(INV_SQRT_2)).add(1f));
            case GELU_TANH -> x.mul(0.5f).mul(SimdMath.tanh(tanhArg(x)).add(1f));
        };
    }

    /** sqrt(2/pi) * (x + 0.044715 x^3). */
    private static FloatVector tanhArg(FloatVector x) {
        return x.mul(x).mul(0.044715f).fma(x, x).mul(SQRT_2_OVER_PI);
    }

    /**
     * erf by Abramowitz and Stegun 7.1.28 (absolute error below 3e-7, under the f32 resolution of
     * the GELU output): erf(|x|) = 1 - 1 / (1 + a1 |x| + ... + a6 |x|^6)^16. One division and no
     * exp: 7.1.26, used before, needed an exp per vector and ran at half the speed (measured on
     * 6.3M elements: 0.75 -> see docs/benchmarks.md core section). Large |x| overflow the 16th power
     * to infinity, which gives exactly 1.
     */
    static FloatVector erf(FloatVector x) {
        FloatVector ax = x.abs();
        FloatVector p = ax.fma(0.0000430638f, 0.0002765672f)
                .fma(ax, FloatVector.broadcast(S, 0.0001520143f))
                .fma(ax, FloatVector.broadcast(S, 0.0092705272f))
                .fma(ax, FloatVector.broadcast(S, 0.0422820123f))
                .fma(ax, FloatVector.broadcast(S, 0.0705230784f))
                .fma(ax, FloatVector.broadcast(S, 1f));
        FloatVector p2 = p.mul(p), p4 = p2.mul(p2), p8 = p4.mul(p4), p16 = p8.mul(p8);
        FloatVector r = FloatVector.broadcast(S, 1f).sub(FloatVector.broadcast(S, 1f).div(p16));
        return r.blend(r.neg(), x.compare(VectorOperators.LT, 0f));
    }

    @Override
    public void unaryBackward(UnaryOp op, MemorySegment x, MemorySegment y, MemorySegment dy, MemorySegment dx, long n) {
        if (op == UnaryOp.GELU_ERF) {
            // its own loop: inside the all-ops switch below it ran at 1.6 ns per element, 3.5x its forward
            Parallel.forRange(n, ELEMENTWISE_GRAIN, (s, e) -> geluErfBackwardRange(x, dy, dx, s, e));
            return;
        }
        Parallel.forRange(n, ELEMENTWISE_GRAIN, (s, e) -> {
            long i = s;
            long bound = s + S.loopBound(e - s);
            for (; i < bound; i += L) {
                FloatVector xv = load(x, i), yv = load(y, i);
                FloatVector d = switch (op) {
                    case EXP -> yv;
                    case LOG -> FloatVector.broadcast(S, 1f).div(xv);
                    case SQRT -> FloatVector.broadcast(S, 0.5f).div(yv);
                    case TANH -> yv.mul(yv).neg().add(1f);
                    case RELU -> FloatVector.zero(S).blend(1f, xv.compare(VectorOperators.GT, 0f));
                    case GELU_ERF -> erf(xv.mul(INV_SQRT_2)).add(1f).mul(0.5f)
                            .add(SimdMath.exp(xv.mul(xv).mul(-0.5f)).mul(xv).mul(INV_SQRT_2PI));
                    case GELU_TANH -> {
                        FloatVector th = SimdMath.tanh(tanhArg(xv));
                        FloatVector inner = xv.mul(xv).mul(3f * 0.044715f).add(1f).mul(SQRT_2_OVER_PI);
                        yield th.add(1f).mul(0.5f).add(xv.mul(0.5f).mul(th.mul(th).neg().add(1f)).mul(inner));
                    }
                };
                store(load(dy, i).fma(d, load(dx, i)), dx, i);
            }
            if (i < e) reference.unaryBackward(op, tail(x, i), tail(y, i), tail(dy, i), tail(dx, i), e - i);
        });
    }

    /** dx += dy * (Phi(x) + x phi(x)) over [start, end): the exact GELU's derivative. */
    private void geluErfBackwardRange(MemorySegment x, MemorySegment dy, MemorySegment dx, long start, long end) {
        long i = start;
        long bound = start + S.loopBound(end - start);
        for (; i < bound; i += L) {
            FloatVector xv = load(x, i);
            FloatVector d = erf(xv.mul(INV_SQRT_2)).add(1f).mul(0.5f)
                    .add(SimdMath.exp(xv.mul(xv).mul(-0.5f)).mul(xv).mul(INV_SQRT_2PI));
            store(load(dy, i).fma(d, load(dx, i)), dx, i);
        }
        if (i < end) reference.unaryBackward(UnaryOp.GELU_ERF, tail(x, i), tail(x, i), tail(dy, i), tail(dx, i), end - i);
    }

    static FloatVector apply(BinaryOp op, FloatVector a, FloatVector b) {
        return switch (op) {
            case ADD -> a.add(b);
            case SUB -> a.sub(b);
            case MUL -> a.mul(b);
            case DIV -> a.div(b);
        };
    }

    @Override
    public void binary(BinaryOp op, MemorySegment a, MemorySegment b, MemorySegment c, long n) {
        Parallel.forRange(n, ELEMENTWISE_GRAIN, (s, e) -> {
            long i = s;
            long bound = s + S.loopBound(e - s);
            for (; i < bound; i += L) store(apply(op, load(a, i), load(b, i)), c, i);
            if (i < e) reference.binary(op, tail(a, i), tail(b, i), tail(c, i), e - i);
        });
    }

    @Override
    public void binaryRow(BinaryOp op, MemorySegment a, MemorySegment b, MemorySegment c, long rows, long cols) {
        Parallel.forRange(rows, Math.max(1, ELEMENTWISE_GRAIN / Math.max(1, cols)), (rs, re) -> {
            for (long r = rs; r < re; r++) {
                long base = r * cols;
                long j = 0;
                long bound = S.loopBound(cols);
                for (; j < bound; j += L) store(apply(op, load(a, base + j), load(b, j)), c, base + j);
                if (j < cols) reference.binaryRow(op, tail(a, base + j), tail(b, j), tail(c, base + j), 1, cols - j);
            }
        });
    }

    @Override
    public void biasUnaryRows(UnaryOp op, MemorySegment x, MemorySegment bias, MemorySegment y, long rows, long cols) {
        Parallel.forRange(rows, Math.max(1, ELEMENTWISE_GRAIN / Math.max(1, cols)), (rs, re) -> {
            for (long r = rs; r < re; r++) biasUnaryColumns(op, x, bias, y, r * cols, 0, cols, S.loopBound(cols));
        });
    }

    /**
     * y[base + j] = op(x[base + j] + bias[j]) (op null: x + bias) for j in [j0, j1) of a row whose
     * whole vectors end at bound: vectors below bound (j0 a multiple of the lane count), the
     * reference past it, as biasUnaryRows and binaryRow split a row, so any column range gives
     * their bits.
     */
    private void biasUnaryColumns(UnaryOp op, MemorySegment x, MemorySegment bias, MemorySegment y, long base, long j0, long j1, long bound) {
        long j = biasUnaryRange(op, x, bias, y, base, j0, Math.min(j1, bound));
        if (j < j1) {
            if (op == null) reference.binaryRow(BinaryOp.ADD, tail(x, base + j), tail(bias, j), tail(y, base + j), 1, j1 - j);
            else reference.biasUnaryRows(op, tail(x, base + j), tail(bias, j), tail(y, base + j), 1, j1 - j);
        }
    }

    /**
     * y[base + j] = op(x[base + j] + bias[j]) (op null: the sum) over the whole vectors in
     * [from, bound); returns where they end. GELU gets a loop of its own, as in unaryRange: with apply's switch inside the loop
     * the refresh's bias + GELU pass ran at 0.75 ns per element against 0.18 ns in isolation
     * (apply compiled on its own and not inlined: boxed vectors).
     */
    private static long biasUnaryRange(UnaryOp op, MemorySegment x, MemorySegment bias, MemorySegment y, long base, long from, long bound) {
        long j = from;
        if (op == null) {
            for (; j < bound; j += L) store(load(x, base + j).add(load(bias, j)), y, base + j);
            return j;
        }
        switch (op) {
            case GELU_ERF -> {
                for (; j < bound; j += L) {
                    FloatVector v = load(x, base + j).add(load(bias, j));
                    store(v.mul(0.5f).mul(erf(v.mul(INV_SQRT_2)).add(1f)), y, base + j);
                }
            }
            case GELU_TANH -> {
                for (; j < bound; j += L) {
                    FloatVector v = load(x, base + j).add(load(bias, j));
                    store(v.mul(0.5f).mul(SimdMath.tanh(tanhArg(v)).add(1f)), y, base + j);
                }
            }
            default -> {
                for (; j < bound; j += L) store(apply(op, load(x, base + j).add(load(bias, j))), y, base + j);
            }
        }
        return j;
    }

    private static final VectorSpecies<Integer> INTS = VectorSpecies.of(int.class, S.vectorShape());
    private static final IntVector IOTA = IntVector.zero(INTS).addIndex(1);

    @Override
    public boolean allFinite(MemorySegment x, long n) {
        // x - x is 0 for a finite x and NaN for NaN or an infinity; NaNs propagate through the sum
        java.util.concurrent.atomic.AtomicBoolean finite = new java.util.concurrent.atomic.AtomicBoolean(true);
        Parallel.forRange(n, ELEMENTWISE_GRAIN, (s, e) -> {
            FloatVector acc = FloatVector.zero(S);
            long i = s;
            for (long bound = s + S.loopBound(e - s); i < bound; i += L) {
                FloatVector v = load(x, i);
                acc = acc.add(v.sub(v));
            }
            float tail = 0f;
            for (; i < e; i++) {
                float v = x.getAtIndex(F32, i);
                tail += v - v;
            }
            if (acc.reduceLanes(VectorOperators.ADD) + tail != 0f) finite.set(false);
        });
        return finite.get();
    }

    @Override
    public void dropout(MemorySegment x, MemorySegment y, long n, long seed, int threshold, float scale) {
        Parallel.forRange(n, ELEMENTWISE_GRAIN, (s, e) -> {
            long i = s;
            long bound = s + S.loopBound(e - s);
            for (; i < bound; i += L) {
                if ((i >>> 32) != ((i + L - 1) >>> 32)) break; // a vector across a 2^32 boundary: the tail handles it
                store(FloatVector.zero(S).blend(load(x, i).mul(scale), keepMask(seed, i, threshold)), y, i);
            }
            for (; i < e; i++) {
                y.setAtIndex(F32, i, Integer.compareUnsigned(ScalarKernels.dropoutBits(seed, i), threshold) >= 0 ? x.getAtIndex(F32, i) * scale : 0f);
            }
        });
    }

    /**
     * Dropout in place on a heap row: a[off + j] = keep(seed, first + j) ? a[off + j] * scale : 0 for
     * j < n, the same mask as {@link #dropout} gives element first + j of a tensor.
     */
    static void dropoutRow(float[] a, int off, int n, long seed, long first, int threshold, float scale) {
        int j = 0;
        for (; j <= n - L; j += L) {
            long i = first + j;
            if ((i >>> 32) != ((i + L - 1) >>> 32)) break;
            FloatVector.zero(S).blend(FloatVector.fromArray(S, a, off + j).mul(scale), keepMask(seed, i, threshold)).intoArray(a, off + j);
        }
        for (; j < n; j++) a[off + j] = Integer.compareUnsigned(ScalarKernels.dropoutBits(seed, first + j), threshold) >= 0 ? a[off + j] * scale : 0f;
    }

    /** Lanes i .. i+L-1 kept by the dropout mask ({@link ScalarKernels#dropoutBits}); the L indices share i's high word. */
    private static VectorMask<Float> keepMask(long seed, long i, int threshold) {
        IntVector h = IOTA.add((int) i).lanewise(VectorOperators.XOR, ScalarKernels.dropoutKey(seed, i >>> 32));
        h = lowbias32(h).lanewise(VectorOperators.XOR, (int) (seed >>> 32));
        return lowbias32(h).compare(VectorOperators.UGE, threshold).cast(S);
    }

    private static IntVector lowbias32(IntVector h) {
        h = h.lanewise(VectorOperators.XOR, h.lanewise(VectorOperators.LSHR, 16)).mul(0x7feb352d);
        h = h.lanewise(VectorOperators.XOR, h.lanewise(VectorOperators.LSHR, 15)).mul(0x846ca68b);
        return h.lanewise(VectorOperators.XOR, h.lanewise(VectorOperators.LSHR, 16));
    }

    @Override
    public void scale(MemorySegment x, float s, MemorySegment y, long n) {
        Parallel.forRange(n, ELEMENTWISE_GRAIN, (st, e) -> {
            long i = st;
            long bound = st + S.loopBound(e - st);
            for (; i < bound; i += L) store(load(x, i).mul(s), y, i);
            if (i < e) reference.scale(tail(x, i), s, tail(y, i), e - i);
        });
    }

    @Override
    public void axpy(float alpha, MemorySegment x, MemorySegment y, long n) {
        Parallel.forRange(n, ELEMENTWISE_GRAIN, (st, e) -> {
            long i = st;
            long bound = st + S.loopBound(e - st);
            FloatVector av = FloatVector.broadcast(S, alpha);
            for (; i < bound; i += L) store(load(x, i).fma(av, load(y, i)), y, i);
            if (i < e) reference.axpy(alpha, tail(x, i), tail(y, i), e - i);
        });
    }

    // ---------------------------------------------------------------- reductions

    /** Sum of x[base, base + n) with four independent accumulators (hides FMA latency). */
    static float sum(MemorySegment x, long base, long n) {
        FloatVector a0 = FloatVector.zero(S), a1 = a0, a2 = a0, a3 = a0;
        long j = 0;
        for (long bound4 = n - 4L * L; j <= bound4; j += 4L * L) {
            a0 = a0.add(load(x, base + j));
            a1 = a1.add(load(x, base + j + L));
            a2 = a2.add(load(x, base + j + 2L * L));
            a3 = a3.add(load(x, base + j + 3L * L));
        }
        for (long bound = S.loopBound(n); j < bound; j += L) a0 = a0.add(load(x, base + j));
        float s = SimdMath.sum(a0.add(a1).add(a2.add(a3)));
        for (; j < n; j++) s += x.getAtIndex(F32, base + j);
        return s;
    }

    static float max(MemorySegment x, long base, long n) {
        FloatVector a0 = FloatVector.broadcast(S, Float.NEGATIVE_INFINITY), a1 = a0;
        long j = 0;
        for (long bound2 = n - 2L * L; j <= bound2; j += 2L * L) {
            a0 = a0.max(load(x, base + j));
            a1 = a1.max(load(x, base + j + L));
        }
        for (long bound = S.loopBound(n); j < bound; j += L) a0 = a0.max(load(x, base + j));
        float m = a0.max(a1).reduceLanes(VectorOperators.MAX);
        for (; j < n; j++) m = Math.max(m, x.getAtIndex(F32, base + j));
        return m;
    }

    @Override
    public void sumAxis(MemorySegment x, MemorySegment y, long outer, long len, long inner) {
        if (inner == 1) {
            Parallel.forRange(outer, Math.max(1, ELEMENTWISE_GRAIN / Math.max(1, len)), (s, e) -> {
                for (long o = s; o < e; o++) y.setAtIndex(F32, o, sum(x, o * len, len));
            });
            return;
        }
        int in = Math.toIntExact(inner);
        if (len < 2 * SUM_CHUNK) {
            Parallel.forRange(outer, 1, (s, e) -> {
                float[] acc = new float[in];
                for (long o = s; o < e; o++) {
                    java.util.Arrays.fill(acc, 0f);
                    for (long a = 0; a < len; a++) addRow(x, (o * len + a) * inner, acc, in);
                    MemorySegment.copy(acc, 0, y, F32, (o * inner) << 2, in);
                }
            });
            return;
        }
        // long reductions (a bias gradient: 4096 rows): rows in fixed chunks summed in parallel, the
        // chunks' partial sums added in order, so the result does not depend on the thread count.
        // Rows are read whole (a column-vector walk down 4096 rows reread every cache line per vector)
        int chunks = (int) ((len + SUM_CHUNK - 1) / SUM_CHUNK);
        float[][] part = new float[chunks][in];
        for (long o = 0; o < outer; o++) {
            long o0 = o * len;
            for (float[] pc : part) java.util.Arrays.fill(pc, 0f);
            Parallel.forRange(chunks, 1, (s, e) -> {
                for (long c = s; c < e; c++) {
                    long a1 = Math.min(len, (c + 1) * SUM_CHUNK);
                    for (long a = c * SUM_CHUNK; a < a1; a++) addRow(x, (o0 + a) * inner, part[(int) c], in);
                }
            });
            for (int c = 1; c < chunks; c++) addArray(part[c], part[0], in);
            MemorySegment.copy(part[0], 0, y, F32, (o * inner) << 2, in);
        }
    }

    /** Rows per partial sum in {@link #sumAxis}. */
    static final long SUM_CHUNK = 256;

    /** acc[i] += x[off + i] for i < n. */
    private static void addRow(MemorySegment x, long off, float[] acc, int n) {
        int i = 0;
        for (; i <= n - L; i += L) FloatVector.fromArray(S, acc, i).add(load(x, off + i)).intoArray(acc, i);
        for (; i < n; i++) acc[i] += x.getAtIndex(F32, off + i);
    }

    /** acc[i] += src[i] for i < n. */
    private static void addArray(float[] src, float[] acc, int n) {
        int i = 0;
        for (; i <= n - L; i += L) FloatVector.fromArray(S, acc, i).add(FloatVector.fromArray(S, src, i)).intoArray(acc, i);
        for (; i < n; i++) acc[i] += src[i];
    }

    /** Not on any hot path yet: the reference, handed over explicitly. */
    @Override
    public void maxAxis(MemorySegment x, MemorySegment y, MemorySegment arg, long outer, long len, long inner) {
        reference.maxAxis(x, y, arg, outer, len, inner);
    }

    // ---------------------------------------------------------------- row-wise

    private static long rowGrain(long cols) {
        return Math.max(1, (1 << 14) / Math.max(1, cols));
    }

    @Override
    public void softmaxRows(MemorySegment x, MemorySegment y, long rows, long cols) {
        Parallel.forRange(rows, rowGrain(cols), (rs, re) -> {
            for (long r = rs; r < re; r++) {
                long base = r * cols;
                float m = max(x, base, cols);
                float sum = expShiftedSum(x, y, base, cols, m);
                float inv = 1f / sum;
                scaleInPlace(y, base, cols, inv);
            }
        });
    }

    @Override
    public void scaledMaskedSoftmaxRows(MemorySegment x, float scale, MemorySegment mask, long rowsPerMask, MemorySegment y, long rows, long cols) {
        Parallel.forRange(rows, rowGrain(cols), (rs, re) -> {
            for (long r = rs; r < re; r++) {
                long base = r * cols, mbase = (r / rowsPerMask) * cols;
                // pass 1: z = scale * x + mask, written to y, and its max
                FloatVector mx = FloatVector.broadcast(S, Float.NEGATIVE_INFINITY);
                long j = 0;
                long bound = S.loopBound(cols);
                for (; j < bound; j += L) {
                    FloatVector z = load(x, base + j).mul(scale).add(load(mask, mbase + j));
                    store(z, y, base + j);
                    mx = mx.max(z);
                }
                float m = mx.reduceLanes(VectorOperators.MAX);
                for (; j < cols; j++) {
                    float z = scale * x.getAtIndex(F32, base + j) + mask.getAtIndex(F32, mbase + j);
                    y.setAtIndex(F32, base + j, z);
                    m = Math.max(m, z);
                }
                // pass 2: exp in place and its sum; pass 3: normalise
                float sum = expShiftedSum(y, y, base, cols, m);
                scaleInPlace(y, base, cols, 1f / sum);
            }
        });
    }

    /** y[j] = exp(x[j] - shift) for the row; returns their sum. */
    private static float expShiftedSum(MemorySegment x, MemorySegment y, long base, long cols, float shift) {
        FloatVector acc = FloatVector.zero(S);
        long j = 0;
        for (long bound = S.loopBound(cols); j < bound; j += L) {
            FloatVector e = SimdMath.exp(load(x, base + j).sub(shift));
            if (y != null) store(e, y, base + j);
            acc = acc.add(e);
        }
        float s = SimdMath.sum(acc);
        for (; j < cols; j++) {
            float e = (float) Math.exp(x.getAtIndex(F32, base + j) - shift);
            if (y != null) y.setAtIndex(F32, base + j, e);
            s += e;
        }
        return s;
    }

    private static void scaleInPlace(MemorySegment y, long base, long cols, float s) {
        long j = 0;
        for (long bound = S.loopBound(cols); j < bound; j += L) store(load(y, base + j).mul(s), y, base + j);
        for (; j < cols; j++) {
            y.setAtIndex(F32, base + j, y.getAtIndex(F32, base + j) * s);
        }
    }

    private static float dot(MemorySegment a, MemorySegment b, long base, long n) {
        FloatVector acc0 = FloatVector.zero(S), acc1 = acc0;
        long j = 0;
        for (long bound2 = n - 2L * L; j <= bound2; j += 2L * L) {
            acc0 = load(a, base + j).fma(load(b, base + j), acc0);
            acc1 = load(a, base + j + L).fma(load(b, base + j + L), acc1);
        }
        for (long bound = S.loopBound(n); j < bound; j += L) acc0 = load(a, base + j).fma(load(b, base + j), acc0);
        float s = SimdMath.sum(acc0.add(acc1));
        for (; j < n; j++) {
            s += a.getAtIndex(F32, base + j) * b.getAtIndex(F32, base + j);
        }
        return s;
    }

    @Override
    public void attention(MemorySegment q, int ldq, MemorySegment k, int ldk, MemorySegment v, int ldv, MemorySegment mask,
                          MemorySegment out, int ldo, int batch, int len, int heads, int headDim, float scale) {
        SimdAttention.forward(q, ldq, k, ldk, v, ldv, mask, out, ldo, batch, len, heads, headDim, scale, null);
    }

    @Override
    public void attentionVarlen(MemorySegment q, int ldq, MemorySegment k, int ldk, MemorySegment v, int ldv, MemorySegment out, int ldo,
                                int[] starts, int[] lens, int heads, int headDim, float scale) {
        SimdAttention.forwardVarlen(q, ldq, k, ldk, v, ldv, out, ldo, starts, lens, heads, headDim, scale);
    }

    @Override
    public void attentionTrainForward(MemorySegment q, int ldq, MemorySegment k, int ldk, MemorySegment v, int ldv, MemorySegment mask,
                                      MemorySegment out, int ldo, MemorySegment stats, MemorySegment probs, int batch, int len, int heads,
                                      int headDim, float scale, long seed, int threshold, float keepScale) {
        SimdAttention.forward(q, ldq, k, ldk, v, ldv, mask, out, ldo, batch, len, heads, headDim, scale,
                new SimdAttention.Train(stats, probs, seed, threshold, keepScale));
    }

    @Override
    public void attentionBackward(MemorySegment q, int ldq, MemorySegment k, int ldk, MemorySegment v, int ldv, MemorySegment mask,
                                  MemorySegment stats, MemorySegment probs, MemorySegment dOut, int ldd, MemorySegment dq, MemorySegment dk,
                                  MemorySegment dv, int ldg, int batch, int len, int heads, int headDim, float scale, long seed, int threshold,
                                  float keepScale) {
        SimdAttention.backward(q, ldq, k, ldk, v, ldv, mask, dOut, ldd, dq, dk, dv, ldg, batch, len, heads, headDim, scale,
                new SimdAttention.Train(stats, probs, seed, threshold, keepScale));
    }

    @Override
    public void softmaxRowsBackward(MemorySegment y, MemorySegment dy, MemorySegment dx, long rows, long cols) {
        Parallel.forRange(rows, rowGrain(cols), (rs, re) -> {
            for (long r = rs; r < re; r++) {
                long base = r * cols;
                float d = dot(dy, y, base, cols);
                long j = 0;
                for (long bound = S.loopBound(cols); j < bound; j += L) {
                    store(load(y, base + j).fma(load(dy, base + j).sub(d), load(dx, base + j)), dx, base + j);
                }
                for (; j < cols; j++) {
                    dx.setAtIndex(F32, base + j, dx.getAtIndex(F32, base + j) + y.getAtIndex(F32, base + j) * (dy.getAtIndex(F32, base + j) - d));
                }
            }
        });
    }

    @Override
    public void logSoftmaxRows(MemorySegment x, MemorySegment y, long rows, long cols) {
        Parallel.forRange(rows, rowGrain(cols), (rs, re) -> {
            for (long r = rs; r < re; r++) {
                long base = r * cols;
                float lse = logSumExp(x, base, cols);
                long j = 0;
                for (long bound = S.loopBound(cols); j < bound; j += L) store(load(x, base + j).sub(lse), y, base + j);
                for (; j < cols; j++) {
                    y.setAtIndex(F32, base + j, x.getAtIndex(F32, base + j) - lse);
                }
            }
        });
    }

    private static float logSumExp(MemorySegment x, long base, long cols) {
        float m = max(x, base, cols);
        if (m == Float.NEGATIVE_INFINITY) return m;
        return m + (float) Math.log(expShiftedSum(x, null, base, cols, m));
    }

    @Override
    public void logSoftmaxRowsBackward(MemorySegment y, MemorySegment dy, MemorySegment dx, long rows, long cols) {
        Parallel.forRange(rows, rowGrain(cols), (rs, re) -> {
            for (long r = rs; r < re; r++) {
                long base = r * cols;
                float s = sum(dy, base, cols);
                long j = 0;
                for (long bound = S.loopBound(cols); j < bound; j += L) {
                    FloatVector p = SimdMath.exp(load(y, base + j));
                    store(load(dx, base + j).add(load(dy, base + j)).sub(p.mul(s)), dx, base + j);
                }
                for (; j < cols; j++) {
                    dx.setAtIndex(F32, base + j, dx.getAtIndex(F32, base + j) + dy.getAtIndex(F32, base + j)
                            - (float) Math.exp(y.getAtIndex(F32, base + j)) * s);
                }
            }
        });
    }

    @Override
    public void logSumExpRows(MemorySegment x, MemorySegment y, long rows, long cols) {
        Parallel.forRange(rows, rowGrain(cols), (rs, re) -> {
            for (long r = rs; r < re; r++) y.setAtIndex(F32, r, logSumExp(x, r * cols, cols));
        });
    }

    @Override
    public void layerNormRows(MemorySegment x, MemorySegment gamma, MemorySegment beta, MemorySegment y,
                              MemorySegment mean, MemorySegment rstd, long rows, long cols, float eps) {
        Parallel.forRange(rows, rowGrain(cols), (rs, re) -> {
            for (long r = rs; r < re; r++) {
                long base = r * cols;
                float mu = sum(x, base, cols) / cols;
                float rsd = (float) (1.0 / Math.sqrt(centredSquares(x, base, cols, mu) / cols + eps));
                normalizeRow(x, y, base, cols, mu, rsd, gamma, beta);
                mean.setAtIndex(F32, r, mu);
                rstd.setAtIndex(F32, r, rsd);
            }
        });
    }

    @Override
    public void biasResidualLayerNormRows(MemorySegment x, MemorySegment bias, MemorySegment residual, MemorySegment gamma, MemorySegment beta,
                                          MemorySegment y, long rows, long cols, float eps) {
        Parallel.forRange(rows, rowGrain(cols), (rs, re) -> {
            for (long r = rs; r < re; r++) {
                long base = r * cols;
                // pass 1: s = x + bias + residual, stored into y (the row stays in L1), summed
                FloatVector acc = FloatVector.zero(S);
                long j = 0;
                long bound = S.loopBound(cols);
                for (; j < bound; j += L) {
                    FloatVector v = load(x, base + j).add(load(bias, j)).add(load(residual, base + j));
                    store(v, y, base + j);
                    acc = acc.add(v);
                }
                float total = SimdMath.sum(acc);
                for (; j < cols; j++) {
                    float v = x.getAtIndex(F32, base + j) + bias.getAtIndex(F32, j) + residual.getAtIndex(F32, base + j);
                    y.setAtIndex(F32, base + j, v);
                    total += v;
                }
                float mu = total / cols;
                float rsd = (float) (1.0 / Math.sqrt(centredSquares(y, base, cols, mu) / cols + eps));
                normalizeRow(y, y, base, cols, mu, rsd, gamma, beta); // pass 3, in place
            }
        });
    }

    /** sum_j (x[base + j] - mu)^2 over one row: the second pass of a layer norm, on centred values (no cancellation). */
    private static float centredSquares(MemorySegment x, long base, long cols, float mu) {
        FloatVector acc = FloatVector.zero(S);
        long j = 0;
        long bound = S.loopBound(cols);
        for (; j < bound; j += L) {
            FloatVector d = load(x, base + j).sub(mu);
            acc = d.fma(d, acc);
        }
        float var = SimdMath.sum(acc);
        for (; j < cols; j++) {
            float d = x.getAtIndex(F32, base + j) - mu;
            var += d * d;
        }
        return var;
    }

    /** y[base + j] = (x[base + j] - mu) * rsd * gamma[j] + beta[j] over one row (y may be x). */
    private static void normalizeRow(MemorySegment x, MemorySegment y, long base, long cols, float mu, float rsd, MemorySegment gamma, MemorySegment beta) {
        long j = 0;
        long bound = S.loopBound(cols);
        for (; j < bound; j += L) {
            store(load(x, base + j).sub(mu).mul(rsd).fma(load(gamma, j), load(beta, j)), y, base + j);
        }
        for (; j < cols; j++) {
            y.setAtIndex(F32, base + j, (x.getAtIndex(F32, base + j) - mu) * rsd * gamma.getAtIndex(F32, j) + beta.getAtIndex(F32, j));
        }
    }

    @Override
    public void layerNormRowsBackward(MemorySegment x, MemorySegment gamma, MemorySegment mean, MemorySegment rstd,
                                      MemorySegment dy, MemorySegment dx, MemorySegment dgamma, MemorySegment dbeta,
                                      long rows, long cols) {
        // dx is row-parallel; dgamma/dbeta are sums over rows, so each thread keeps its own partial
        // sums and they are added in a fixed order afterwards (deterministic for a thread count).
        int threads = Parallel.threads();
        float[][] partialGamma = new float[threads][(int) cols];
        float[][] partialBeta = new float[threads][(int) cols];
        long chunk = (rows + threads - 1) / threads;
        Parallel.forRange(threads, 1, (ts, te) -> {
            for (long t = ts; t < te; t++) {
                float[] pg = partialGamma[(int) t], pb = partialBeta[(int) t];
                MemorySegment pgs = MemorySegment.ofArray(pg), pbs = MemorySegment.ofArray(pb);
                long r0 = t * chunk, r1 = Math.min(rows, r0 + chunk);
                for (long r = r0; r < r1; r++) {
                    long base = r * cols;
                    float mu = mean.getAtIndex(F32, r), rs = rstd.getAtIndex(F32, r);
                    FloatVector accG = FloatVector.zero(S), accGX = accG;
                    long j = 0;
                    long bound = S.loopBound(cols);
                    for (; j < bound; j += L) {
                        FloatVector xhat = load(x, base + j).sub(mu).mul(rs);
                        FloatVector dyv = load(dy, base + j);
                        FloatVector g = dyv.mul(load(gamma, j));
                        accG = accG.add(g);
                        accGX = g.fma(xhat, accGX);
                        store(dyv.fma(xhat, load(pgs, j)), pgs, j);
                        store(load(pbs, j).add(dyv), pbs, j);
                    }
                    float sg = SimdMath.sum(accG), sgx = SimdMath.sum(accGX);
                    for (; j < cols; j++) {
                        float xhat = (x.getAtIndex(F32, base + j) - mu) * rs;
                        float dyv = dy.getAtIndex(F32, base + j);
                        float g = dyv * gamma.getAtIndex(F32, j);
                        sg += g;
                        sgx += g * xhat;
                        pg[(int) j] += dyv * xhat;
                        pb[(int) j] += dyv;
                    }
                    float meanG = sg / cols, meanGX = sgx / cols;
                    for (j = 0; j < bound; j += L) {
                        FloatVector xhat = load(x, base + j).sub(mu).mul(rs);
                        FloatVector g = load(dy, base + j).mul(load(gamma, j));
                        FloatVector d = g.sub(meanG).sub(xhat.mul(meanGX)).mul(rs);
                        store(load(dx, base + j).add(d), dx, base + j);
                    }
                    for (; j < cols; j++) {
                        float xhat = (x.getAtIndex(F32, base + j) - mu) * rs;
                        float g = dy.getAtIndex(F32, base + j) * gamma.getAtIndex(F32, j);
                        dx.setAtIndex(F32, base + j, dx.getAtIndex(F32, base + j) + rs * (g - meanG - xhat * meanGX));
                    }
                }
            }
        });
        for (int t = 0; t < threads; t++) {
            axpy(1f, MemorySegment.ofArray(partialGamma[t]), dgamma, cols);
            axpy(1f, MemorySegment.ofArray(partialBeta[t]), dbeta, cols);
        }
    }

    // ---------------------------------------------------------------- GEMM

    @Override
    public void gemm(boolean transA, boolean transB, int m, int n, int k, float alpha,
                     MemorySegment a, int lda, MemorySegment b, int ldb, float beta, MemorySegment c, int ldc) {
        gemm.gemm(transA, transB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
    }

    /** Always the Java GEMM: B is widened while it is packed, so the micro-kernel is the f32 one. */
    @Override
    public void gemmBf16B(boolean transA, boolean transB, int m, int n, int k, float alpha,
                          MemorySegment a, int lda, MemorySegment b, int ldb, float beta, MemorySegment c, int ldc) {
        SimdGemm.gemm(transA, transB, m, n, k, alpha, a, lda, b, true, ldb, beta, c, ldc);
    }

    /** W^T (bf16) packed as pairs of bf16 in the Java GEMM's panel layout (see {@link SimdGemm#packWeightBf16}). */
    @Override
    public Object packWeightBf16(MemorySegment w, int ldw, int n, int k) {
        return SimdGemm.packWeightBf16(w, ldw, n, k);
    }

    /** W^T packed in the Java GEMM's panel layout for all K blocks (see {@link SimdGemm#packWeight}). */
    @Override
    public Object packWeight(MemorySegment w, int ldw, int n, int k) {
        return SimdGemm.packWeight(w, ldw, n, k);
    }

    @Override
    public void gemmPackedWeight(int m, int n, int k, MemorySegment a, int lda, Object packedW, MemorySegment c, int ldc) {
        SimdGemm.gemmPackedWeight(m, n, k, a, lda, (SimdGemm.Packed) packedW, c, ldc);
    }

    /** The product with the bias and activation applied to each claim's columns as soon as they are done (SimdGemm's hook). */
    @Override
    public void gemmPackedWeightBias(int m, int n, int k, MemorySegment a, int lda, Object packedW, MemorySegment bias, UnaryOp act,
                                     MemorySegment c, int ldc) {
        long bound = S.loopBound(n);
        SimdGemm.gemmPackedWeight(m, n, k, a, lda, (SimdGemm.Packed) packedW, c, ldc, (c0, c1, r0, r1) -> {
            for (int r = r0; r < r1; r++) biasUnaryColumns(act, c, bias, c, (long) r * ldc, c0, c1, bound);
        });
    }

    /** The FFN's intermediate, per calling thread: written by the first product as the second one's packed A. */
    private static final ThreadLocal<float[]> FFN_MID = ThreadLocal.withInitial(() -> new float[0]);

    /**
     * The first product writes act(x Wi^T + bi) straight into the layout the second packs its A into
     * (SimdGemm.PackedRows: each 8 x 32 tile one contiguous 1 KB run, transposed in registers), its
     * bias and activation applied to each claim's columns as they finish; the second product reads
     * it as its A with no packing. Against the two products through a row-major intermediate:
     * the same tiles, sums and element-wise ops, so the same bits.
     */
    @Override
    public void feedForward(int m, int h, int inter, MemorySegment x, int ldx, Object packedWi, MemorySegment bi, UnaryOp act, Object packedWo,
                            MemorySegment out, int ldo) {
        if (m == 0) return;
        if (SimdGemm.KC % SimdGemm.NR != 0) { // a tile's columns must lie in one K block of the intermediate
            Kernels.super.feedForward(m, h, inter, x, ldx, packedWi, bi, act, packedWo, out, ldo);
            return;
        }
        SimdGemm.PackedRows mid = SimdGemm.PackedRows.allocate(FFN_MID.get(), m, inter);
        FFN_MID.set(mid.data());
        float[] bias8 = new float[inter * SimdGemm.MR8]; // bias[j] at 8 j .. 8 j + 7: one value per packed row of column j
        for (int j = 0; j < inter; j++) java.util.Arrays.fill(bias8, j * SimdGemm.MR8, (j + 1) * SimdGemm.MR8, bi.getAtIndex(F32, j));
        int vectorColumns = (int) S.loopBound(inter); // as biasUnaryRows splits a row: vectors below, the reference past
        SimdGemm.gemmPackedWeight(m, inter, h, x, ldx, null, (SimdGemm.Packed) packedWi, new SimdGemm.Target(null, 0, mid), (from, to, r0, r1) -> {
            // the block's columns, split where a K block of the intermediate ends (a block's panels are apart); its
            // row panels, the last block's with the padding rows its tiles wrote
            int g1 = r1 == m ? mid.mPad() : r1;
            for (int c0 = from, c1; c0 < to; c0 = c1) {
                c1 = Math.min(to, (c0 / SimdGemm.KC + 1) * SimdGemm.KC);
                biasActivatePacked(mid, bias8, bi, act, c0, c1, r0, g1, vectorColumns);
            }
        });
        SimdGemm.gemmPackedWeight(m, h, inter, null, 0, mid, (SimdGemm.Packed) packedWo, SimdGemm.Target.rows(out, ldo), null);
    }

    /**
     * act(x + bias) over columns [c0, c1) (one K block) of the row panels from row g0 to g1 (multiples of 8) of the
     * PackedRows mid: vectors below vectorColumns, the reference past.
     */
    private void biasActivatePacked(SimdGemm.PackedRows mid, float[] bias8, MemorySegment bi, UnaryOp act, int c0, int c1, int g0, int g1,
                                    int vectorColumns) {
        for (int g = g0; g < g1; g += SimdGemm.MR8) {
            int at = mid.offset(g, c0) - c0 * SimdGemm.MR8; // element (row g + r, column j) at at + 8 j + r
            int vEnd = Math.max(c0, Math.min(c1, vectorColumns));
            biasUnaryPacked(act, mid.data(), bias8, at, c0 * SimdGemm.MR8, vEnd * SimdGemm.MR8);
            for (int j = vEnd; j < c1; j++) {
                for (int r = 0; r < SimdGemm.MR8; r++) {
                    MemorySegment e = MemorySegment.ofArray(mid.data()).asSlice(4L * (at + j * SimdGemm.MR8 + r), 4);
                    if (act == null) reference.binaryRow(BinaryOp.ADD, e, tail(bi, j), e, 1, 1);
                    else reference.biasUnaryRows(act, e, tail(bi, j), e, 1, 1);
                }
            }
        }
    }

    /** x[base + j] = op(x[base + j] + bias[j]) (op null: the sum) for j in [from, bound) (multiples of L): biasUnaryRange on a heap array. */
    private static void biasUnaryPacked(UnaryOp op, float[] x, float[] bias, int base, int from, int bound) {
        int j = from;
        if (op == null) {
            for (; j < bound; j += L) FloatVector.fromArray(S, x, base + j).add(FloatVector.fromArray(S, bias, j)).intoArray(x, base + j);
            return;
        }
        switch (op) {
            case GELU_ERF -> {
                for (; j < bound; j += L) {
                    FloatVector v = FloatVector.fromArray(S, x, base + j).add(FloatVector.fromArray(S, bias, j));
                    v.mul(0.5f).mul(erf(v.mul(INV_SQRT_2)).add(1f)).intoArray(x, base + j);
                }
            }
            case GELU_TANH -> {
                for (; j < bound; j += L) {
                    FloatVector v = FloatVector.fromArray(S, x, base + j).add(FloatVector.fromArray(S, bias, j));
                    v.mul(0.5f).mul(SimdMath.tanh(tanhArg(v)).add(1f)).intoArray(x, base + j);
                }
            }
            default -> {
                for (; j < bound; j += L) apply(op, FloatVector.fromArray(S, x, base + j).add(FloatVector.fromArray(S, bias, j))).intoArray(x, base + j);
            }
        }
    }

    // ---------------------------------------------------------------- REALM marginal likelihood

    @Override
    public void marginalLogLikelihood(MemorySegment f, MemorySegment ll, MemorySegment mask, MemorySegment logp, int batch, int z, int t) {
        SimdMarginal.forward(f, ll, mask, logp, batch, z, t);
    }

    @Override
    public void marginalLogLikelihoodBackward(MemorySegment f, MemorySegment ll, MemorySegment mask, MemorySegment logp, MemorySegment g,
                                              MemorySegment df, MemorySegment dll, int batch, int z, int t) {
        SimdMarginal.backward(f, ll, mask, logp, g, df, dll, batch, z, t);
    }

    // ---------------------------------------------------------------- optimizer

    @Override
    public void adamw(MemorySegment param, MemorySegment grad, MemorySegment m, MemorySegment v, long n,
                      float lr, float beta1, float beta2, float eps, float weightDecay, float bc1, float bc2) {
        float invBc1 = 1f / bc1, invBc2 = 1f / bc2;
        Parallel.forRange(n, ELEMENTWISE_GRAIN, (s, e) -> {
            long i = s;
            long bound = s + S.loopBound(e - s);
            for (; i < bound; i += L) {
                FloatVector g = load(grad, i);
                FloatVector mv = load(m, i).mul(beta1).add(g.mul(1 - beta1));
                FloatVector vv = load(v, i).mul(beta2).add(g.mul(g).mul(1 - beta2));
                FloatVector p = load(param, i);
                FloatVector denom = vv.mul(invBc2).sqrt().add(eps);
                FloatVector update = mv.mul(invBc1).div(denom).add(p.mul(weightDecay));
                store(mv, m, i);
                store(vv, v, i);
                store(p.sub(update.mul(lr)), param, i);
            }
            if (i < e) {
                reference.adamw(tail(param, i), tail(grad, i), tail(m, i), tail(v, i), e - i,
                        lr, beta1, beta2, eps, weightDecay, bc1, bc2);
            }
        });
    }

    @Override
    public String toString() {
        return name();
    }
}
