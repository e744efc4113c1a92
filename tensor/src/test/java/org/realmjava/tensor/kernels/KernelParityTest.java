package org.realmjava.tensor.kernels;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.lang.foreign.MemorySegment;
import java.lang.reflect.Method;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Random;
import java.util.Set;
import java.util.TreeSet;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;
import org.realmjava.nativebind.OpenBlas;
import org.realmjava.tensor.Check;
import org.realmjava.tensor.simd.OpenBlasGemm;
import org.realmjava.tensor.simd.SimdGemm;
import org.realmjava.tensor.simd.SimdKernels;

/**
 * Every fast kernel against the scalar reference: backend x op x size. Sizes hit every code path:
 * below one vector (1, 3), tails (17, 127), several unrolled blocks plus a tail (4097), and a real
 * model width (384). Run once per vector width by the build (-Drealm.vectorbits).
 */
@org.junit.jupiter.api.Tag("gpu")
class KernelParityTest {
    static final long[] SIZES = {1, 3, 17, 127, 384, 4097};
    static final ScalarKernels REF = new ScalarKernels();
    static final Set<String> COVERED = new TreeSet<>();

    static Stream<Kernels> backends() {
        List<Kernels> list = new ArrayList<>();
        list.add(new SimdKernels(new SimdGemm()));
        if (OpenBlas.available()) list.add(new SimdKernels(new OpenBlasGemm()));
        // the GPU backend runs the same suite wherever a GPU is usable (the class is tagged gpu for the bundle)
        org.realmjava.tensor.Backend gpu = CUDA;
        if (gpu != null) list.add(gpu.kernels());
        return list.stream();
    }

    static final org.realmjava.tensor.Backend CUDA = cudaBackend();

    private static org.realmjava.tensor.Backend cudaBackend() {
        org.realmjava.tensor.Backend b = org.realmjava.tensor.Backend.cudaOrNull();
        System.out.println("KernelParityTest: " + (b != null ? "also on " + b.name()
                : "CUDA backend not tested here: " + org.realmjava.nativebind.cuda.Cuda.status().lines().get(0)));
        return b;
    }

    static Stream<Arguments> backendAndSize() {
        return backends().flatMap(k -> Arrays.stream(SIZES).mapToObj(n -> Arguments.of(k, n)));
    }

    private static String ctx(Kernels k, String op, Object size, long seed) {
        return k.name() + " " + op + " size " + size + " seed " + seed;
    }

    @ParameterizedTest
    @MethodSource("backendAndSize")
    void unaryForwardAndBackward(Kernels k, long n) {
        for (UnaryOp op : UnaryOp.values()) {
            long seed = 31 * n + op.ordinal();
            Random rng = new Random(seed);
            boolean positive = op == UnaryOp.LOG || op == UnaryOp.SQRT;
            MemorySegment x = Check.randomSegment(rng, n, positive ? 0.05f : -6f, positive ? 8f : 6f);
            MemorySegment y0 = Check.randomSegment(rng, n, 0, 1), y1 = Check.copyOf(y0);
            REF.unary(op, x, y0, n);
            k.unary(op, x, y1, n);
            // exp/tanh/log use the JDK's vector math (SVML, ~1 ulp); erf is the A&S polynomial (1.5e-7 abs)
            Check.close(ctx(k, "unary " + op, n, seed), Check.floats(y0, n), Check.floats(y1, n), 1e-6, 4e-6);
            MemorySegment dy = Check.randomSegment(rng, n, -1, 1);
            MemorySegment dx0 = Check.randomSegment(rng, n, -1, 1), dx1 = Check.copyOf(dx0);
            REF.unaryBackward(op, x, y0, dy, dx0, n);
            k.unaryBackward(op, x, y0, dy, dx1, n);
            Check.close(ctx(k, "unaryBackward " + op, n, seed), Check.floats(dx0, n), Check.floats(dx1, n), 2e-6, 4e-6);
        }
        COVERED.addAll(List.of("unary", "unaryBackward"));
    }

    @ParameterizedTest
    @MethodSource("backendAndSize")
    void binaryScaleAxpy(Kernels k, long n) {
        for (BinaryOp op : BinaryOp.values()) {
            long seed = 7 * n + op.ordinal();
            Random rng = new Random(seed);
            MemorySegment a = Check.randomSegment(rng, n, -3, 3), b = Check.randomSegment(rng, n, 0.5f, 3);
            MemorySegment c0 = Check.randomSegment(rng, n, 0, 1), c1 = Check.copyOf(c0);
            REF.binary(op, a, b, c0, n);
            k.binary(op, a, b, c1, n);
            // one correctly rounded f32 operation on each side: exact
            assertArrayEquals(Check.floats(c0, n), Check.floats(c1, n), ctx(k, "binary " + op, n, seed));
            long rows = 3, cols = n;
            MemorySegment ar = Check.randomSegment(rng, rows * cols, -3, 3);
            MemorySegment r0 = Check.randomSegment(rng, rows * cols, 0, 1), r1 = Check.copyOf(r0);
            REF.binaryRow(op, ar, b, r0, rows, cols);
            k.binaryRow(op, ar, b, r1, rows, cols);
            assertArrayEquals(Check.floats(r0, rows * cols), Check.floats(r1, rows * cols), ctx(k, "binaryRow " + op, n, seed));
        }
        Random rng = new Random(n);
        MemorySegment x = Check.randomSegment(rng, n, -3, 3);
        MemorySegment y0 = Check.randomSegment(rng, n, -1, 1), y1 = Check.copyOf(y0);
        REF.scale(x, 1.7f, y0, n);
        k.scale(x, 1.7f, y1, n);
        assertArrayEquals(Check.floats(y0, n), Check.floats(y1, n), ctx(k, "scale", n, n));
        REF.axpy(-0.3f, x, y0, n);
        k.axpy(-0.3f, x, y1, n);
        // the fast path fuses multiply and add (one rounding instead of two)
        Check.close(ctx(k, "axpy", n, n), Check.floats(y0, n), Check.floats(y1, n), 1e-6, 1e-6);
        COVERED.addAll(List.of("binary", "binaryRow", "scale", "axpy"));
    }

    /** allFinite agrees with the reference with no, one or several non-finite values anywhere (vector body and tail), and on huge finite ones. */
    @ParameterizedTest
    @MethodSource("backendAndSize")
    void allFinite(Kernels k, long n) {
        Random rng = new Random(n + 77);
        MemorySegment x = Check.randomSegment(rng, n, -1.5e38f, 1.5e38f);
        assertEquals(true, k.allFinite(x, n), ctx(k, "allFinite (huge finite values)", n, n));
        for (float bad : new float[] {Float.NaN, Float.POSITIVE_INFINITY, Float.NEGATIVE_INFINITY}) {
            for (long at : new long[] {0, n / 2, n - 1}) {
                if (n == 0) continue;
                float keep = x.getAtIndex(java.lang.foreign.ValueLayout.JAVA_FLOAT, at);
                x.setAtIndex(java.lang.foreign.ValueLayout.JAVA_FLOAT, at, bad);
                assertEquals(REF.allFinite(x, n), k.allFinite(x, n), ctx(k, "allFinite " + bad + " at " + at, n, n));
                assertEquals(false, k.allFinite(x, n), ctx(k, "allFinite " + bad + " at " + at, n, n));
                // a prefix without it is finite
                assertEquals(true, k.allFinite(x, at), ctx(k, "allFinite prefix before " + at, n, n));
                x.setAtIndex(java.lang.foreign.ValueLayout.JAVA_FLOAT, at, keep);
            }
        }
        COVERED.add("allFinite");
    }

    @ParameterizedTest
    @MethodSource("backendAndSize")
    void reductions(Kernels k, long n) {
        long seed = 11 * n;
        Random rng = new Random(seed);
        // {1, n, 17} and {2, n, 3} with n = 4097 take the chunked path (long reductions, partial sums in order)
        for (long[] oli : new long[][] {{1, n, 1}, {3, n, 1}, {2, 5, n}, {n, 3, 2}, {1, n, 17}, {2, n, 3}}) {
            long total = oli[0] * oli[1] * oli[2], outN = oli[0] * oli[2];
            MemorySegment x = Check.randomSegment(rng, total, -2, 2);
            MemorySegment y0 = Check.randomSegment(rng, outN, 0, 1), y1 = Check.copyOf(y0);
            REF.sumAxis(x, y0, oli[0], oli[1], oli[2]);
            k.sumAxis(x, y1, oli[0], oli[1], oli[2]);
            // f32 sums of len terms of size <= 2: error grows with len * eps
            Check.close(ctx(k, "sumAxis " + Arrays.toString(oli), n, seed), Check.floats(y0, outN), Check.floats(y1, outN),
                    4e-7 * oli[1] + 1e-6, 1e-6);
            MemorySegment m0 = Check.randomSegment(rng, outN, 0, 1), m1 = Check.copyOf(m0);
            MemorySegment a0 = Check.randomSegment(rng, outN, 0, 1), a1 = Check.copyOf(a0);
            REF.maxAxis(x, m0, a0, oli[0], oli[1], oli[2]);
            k.maxAxis(x, m1, a1, oli[0], oli[1], oli[2]);
            assertArrayEquals(Check.floats(m0, outN), Check.floats(m1, outN), ctx(k, "maxAxis", n, seed));
            assertArrayEquals(Check.floats(a0, outN), Check.floats(a1, outN), ctx(k, "maxAxis arg", n, seed));
        }
        COVERED.addAll(List.of("sumAxis", "maxAxis"));
    }

    @ParameterizedTest
    @MethodSource("backendAndSize")
    void rowOps(Kernels k, long cols) {
        long rows = 5, n = rows * cols, seed = 13 * cols;
        Random rng = new Random(seed);
        MemorySegment x = Check.randomSegment(rng, n, -8, 8);
        MemorySegment y0 = Check.randomSegment(rng, n, 0, 1), y1 = Check.copyOf(y0);
        REF.softmaxRows(x, y0, rows, cols);
        k.softmaxRows(x, y1, rows, cols);
        Check.close(ctx(k, "softmaxRows", cols, seed), Check.floats(y0, n), Check.floats(y1, n), 1e-7, 1e-5);
        MemorySegment dy = Check.randomSegment(rng, n, -1, 1);
        MemorySegment dx0 = Check.randomSegment(rng, n, -1, 1), dx1 = Check.copyOf(dx0);
        REF.softmaxRowsBackward(y0, dy, dx0, rows, cols);
        k.softmaxRowsBackward(y0, dy, dx1, rows, cols);
        Check.close(ctx(k, "softmaxRowsBackward", cols, seed), Check.floats(dx0, n), Check.floats(dx1, n), 1e-6, 1e-5);

        MemorySegment mask = Check.randomSegment(rng, cols, -3, 0); // one mask row for all 5 rows
        MemorySegment am0 = Check.randomSegment(rng, n, 0, 1), am1 = Check.copyOf(am0);
        REF.scaledMaskedSoftmaxRows(x, 0.35f, mask, rows, am0, rows, cols);
        k.scaledMaskedSoftmaxRows(x, 0.35f, mask, rows, am1, rows, cols);
        Check.close(ctx(k, "scaledMaskedSoftmaxRows", cols, seed), Check.floats(am0, n), Check.floats(am1, n), 1e-7, 1e-5);
        MemorySegment l0 = Check.randomSegment(rng, n, 0, 1), l1 = Check.copyOf(l0);
        REF.logSoftmaxRows(x, l0, rows, cols);
        k.logSoftmaxRows(x, l1, rows, cols);
        Check.close(ctx(k, "logSoftmaxRows", cols, seed), Check.floats(l0, n), Check.floats(l1, n), 1e-5, 1e-5);
        MemorySegment g0 = Check.randomSegment(rng, n, -1, 1), g1 = Check.copyOf(g0);
        REF.logSoftmaxRowsBackward(l0, dy, g0, rows, cols);
        k.logSoftmaxRowsBackward(l0, dy, g1, rows, cols);
        // sum of cols gradients enters every element
        Check.close(ctx(k, "logSoftmaxRowsBackward", cols, seed), Check.floats(g0, n), Check.floats(g1, n), 1e-6 * cols + 1e-6, 1e-5);
        MemorySegment s0 = Check.randomSegment(rng, rows, 0, 1), s1 = Check.copyOf(s0);
        REF.logSumExpRows(x, s0, rows, cols);
        k.logSumExpRows(x, s1, rows, cols);
        Check.close(ctx(k, "logSumExpRows", cols, seed), Check.floats(s0, rows), Check.floats(s1, rows), 1e-5, 1e-6);

        MemorySegment gamma = Check.randomSegment(rng, cols, 0.5f, 1.5f), beta = Check.randomSegment(rng, cols, -1, 1);
        MemorySegment ln0 = Check.randomSegment(rng, n, 0, 1), ln1 = Check.copyOf(ln0);
        MemorySegment mu0 = Check.randomSegment(rng, rows, 0, 1), mu1 = Check.copyOf(mu0);
        MemorySegment rs0 = Check.randomSegment(rng, rows, 0, 1), rs1 = Check.copyOf(rs0);
        REF.layerNormRows(x, gamma, beta, ln0, mu0, rs0, rows, cols, 1e-5f);
        k.layerNormRows(x, gamma, beta, ln1, mu1, rs1, rows, cols, 1e-5f);
        Check.close(ctx(k, "layerNormRows", cols, seed), Check.floats(ln0, n), Check.floats(ln1, n), 2e-5, 1e-5);
        Check.close(ctx(k, "layerNormRows mean", cols, seed), Check.floats(mu0, rows), Check.floats(mu1, rows), 1e-5, 1e-5);
        Check.close(ctx(k, "layerNormRows rstd", cols, seed), Check.floats(rs0, rows), Check.floats(rs1, rows), 1e-6, 1e-5);
        MemorySegment lx0 = Check.randomSegment(rng, n, -1, 1), lx1 = Check.copyOf(lx0);
        MemorySegment dg0 = Check.randomSegment(rng, cols, -1, 1), dg1 = Check.copyOf(dg0);
        MemorySegment db0 = Check.randomSegment(rng, cols, -1, 1), db1 = Check.copyOf(db0);
        REF.layerNormRowsBackward(x, gamma, mu0, rs0, dy, lx0, dg0, db0, rows, cols);
        k.layerNormRowsBackward(x, gamma, mu0, rs0, dy, lx1, dg1, db1, rows, cols);
        Check.close(ctx(k, "layerNormRowsBackward dx", cols, seed), Check.floats(lx0, n), Check.floats(lx1, n), 1e-5, 1e-4);
        Check.close(ctx(k, "layerNormRowsBackward dgamma", cols, seed), Check.floats(dg0, cols), Check.floats(dg1, cols), 1e-5, 1e-5);
        Check.close(ctx(k, "layerNormRowsBackward dbeta", cols, seed), Check.floats(db0, cols), Check.floats(db1, cols), 1e-6, 1e-6);
        COVERED.addAll(List.of("softmaxRows", "scaledMaskedSoftmaxRows", "softmaxRowsBackward", "logSoftmaxRows", "logSoftmaxRowsBackward", "logSumExpRows",
                "layerNormRows", "layerNormRowsBackward"));
    }

    @ParameterizedTest
    @MethodSource("backendAndSize")
    void biasResidualLayerNormRows(Kernels k, long cols) {
        long rows = 5, n = rows * cols, seed = 29 * cols;
        Random rng = new Random(seed);
        MemorySegment x = Check.randomSegment(rng, n, -3, 3), bias = Check.randomSegment(rng, cols, -1, 1), res = Check.randomSegment(rng, n, -2, 2);
        MemorySegment gamma = Check.randomSegment(rng, cols, 0.5f, 1.5f), beta = Check.randomSegment(rng, cols, -1, 1);
        MemorySegment y0 = Check.randomSegment(rng, n, 0, 1), y1 = Check.copyOf(y0), inPlace = Check.copyOf(x);
        REF.biasResidualLayerNormRows(x, bias, res, gamma, beta, y0, rows, cols, 1e-5f);
        k.biasResidualLayerNormRows(x, bias, res, gamma, beta, y1, rows, cols, 1e-5f);
        k.biasResidualLayerNormRows(inPlace, bias, res, gamma, beta, inPlace, rows, cols, 1e-5f);
        Check.close(ctx(k, "biasResidualLayerNormRows", cols, seed), Check.floats(y0, n), Check.floats(y1, n), 2e-5, 1e-5);
        Check.close(ctx(k, "biasResidualLayerNormRows in place", cols, seed), Check.floats(y0, n), Check.floats(inPlace, n), 2e-5, 1e-5);
        // the reference is the composed definition: bias row add, residual add, layer norm
        MemorySegment sum = Check.copyOf(x), ln = Check.randomSegment(rng, n, 0, 1);
        REF.binaryRow(BinaryOp.ADD, sum, bias, sum, rows, cols);
        REF.binary(BinaryOp.ADD, sum, res, sum, n);
        REF.layerNormRows(sum, gamma, beta, ln, Check.randomSegment(rng, rows, 0, 1), Check.randomSegment(rng, rows, 0, 1), rows, cols, 1e-5f);
        Check.close(ctx(k, "biasResidualLayerNormRows vs composed", cols, seed), Check.floats(ln, n), Check.floats(y0, n), 1e-6, 1e-6);
        COVERED.add("biasResidualLayerNormRows");
    }

    @ParameterizedTest
    @MethodSource("backendAndSize")
    void biasUnaryRows(Kernels k, long cols) {
        long rows = 3, n = rows * cols, seed = 23 * cols;
        Random rng = new Random(seed);
        MemorySegment x = Check.randomSegment(rng, n, -4, 4), bias = Check.randomSegment(rng, cols, -1, 1);
        for (UnaryOp op : new UnaryOp[] {UnaryOp.GELU_ERF, UnaryOp.GELU_TANH, UnaryOp.RELU, UnaryOp.TANH}) {
            MemorySegment y0 = Check.randomSegment(rng, n, 0, 1), y1 = Check.copyOf(y0), inPlace = Check.copyOf(x);
            REF.biasUnaryRows(op, x, bias, y0, rows, cols);
            k.biasUnaryRows(op, x, bias, y1, rows, cols);
            k.biasUnaryRows(op, inPlace, bias, inPlace, rows, cols);
            Check.close(ctx(k, "biasUnaryRows " + op, cols, seed), Check.floats(y0, n), Check.floats(y1, n), 1e-6, 1e-5);
            Check.close(ctx(k, "biasUnaryRows in place " + op, cols, seed), Check.floats(y0, n), Check.floats(inPlace, n), 1e-6, 1e-5);
        }
        COVERED.add("biasUnaryRows");
    }

    @ParameterizedTest
    @MethodSource("backendAndSize")
    void dropout(Kernels k, long n) {
        long seed = 0x5DEECE66DL * n + 11;
        MemorySegment x = Check.randomSegment(new Random(n), n, 0.5f, 1.5f);
        for (float p : new float[] {0.1f, 0.5f}) {
            int threshold = (int) Math.round(p * 4294967296.0);
            MemorySegment y0 = Check.randomSegment(new Random(1), n, -1, 1), y1 = Check.copyOf(y0);
            REF.dropout(x, y0, n, seed, threshold, 1f / (1 - p));
            k.dropout(x, y1, n, seed, threshold, 1f / (1 - p));
            // bit-identical: the mask is integer arithmetic and the kept values one f32 multiply
            assertArrayEquals(Check.floats(y0, n), Check.floats(y1, n), 0f, ctx(k, "dropout p=" + p, n, seed));
            if (n > 1000) {
                long dropped = 0;
                for (float v : Check.floats(y1, n)) if (v == 0f) dropped++;
                assertEquals(p, (double) dropped / n, 0.04, ctx(k, "dropout rate p=" + p, n, seed));
            }
        }
        COVERED.add("dropout");
    }

    static Stream<Arguments> attentionVarlenCases() {
        // {heads, headDim, sequence lengths...}: one token, an empty sequence, tails of the 8-row block
        // and of the 2-vector tile, a long one beside short ones (the cost split), BERT-base heads, a
        // sequence whose heads do not fit one group of copied rows (200 tokens: groups of 3 of 12 heads)
        int[][] cases = {{1, 1, 1}, {3, 5, 7, 0, 2, 33}, {2, 32, 19, 1, 128, 5, 64}, {12, 32, 21, 23, 24, 24, 30}, {4, 64, 50, 3}, {1, 17, 9},
                {12, 32, 200, 7}};
        return backends().flatMap(k -> Arrays.stream(cases).map(c -> Arguments.of(k, c)));
    }

    @ParameterizedTest
    @MethodSource("attentionVarlenCases")
    void attentionVarlen(Kernels k, int[] c) {
        int heads = c[0], hd = c[1], n = c.length - 2, width = heads * hd, maxLen = 0, tokens = 0;
        int[] starts = new int[n], lens = Arrays.copyOfRange(c, 2, c.length);
        for (int s = 0; s < n; s++) {
            starts[s] = tokens;
            tokens += lens[s];
            maxLen = Math.max(maxLen, lens[s]);
        }
        long seed = Arrays.hashCode(c);
        Random rng = new Random(seed);
        // q, k and v as column slices of one fused [tokens, 3 * width + 1] buffer, out with a spare column
        int ld = 3 * width + 1, ldo = width + 2;
        MemorySegment qkv = Check.randomSegment(rng, (long) tokens * ld, -2, 2);
        MemorySegment q = qkv, kk = qkv.asSlice((long) width * 4), v = qkv.asSlice(2L * width * 4);
        MemorySegment o0 = Check.randomSegment(rng, (long) tokens * ldo, -1, 1), o1 = Check.copyOf(o0);
        float scale = (float) (1 / Math.sqrt(hd));
        REF.attentionVarlen(q, ld, kk, ld, v, ld, o0, ldo, starts, lens, heads, hd, scale);
        k.attentionVarlen(q, ld, kk, ld, v, ld, o1, ldo, starts, lens, heads, hd, scale);
        Check.close(ctx(k, "attentionVarlen", Arrays.toString(c), seed), Check.floats(o0, (long) tokens * ldo), Check.floats(o1, (long) tokens * ldo),
                2e-6 * (1 + hd / 32.0), 1e-5);
        COVERED.add("attentionVarlen");

        // the same sequences padded into one batch with BERT's mask: every real row has the bits the
        // unpadded kernel gave it (padding keys add exact zeros), which is what lets a refresh drop padding
        int pld = 3 * width, pldo = width;
        long padded = (long) n * maxLen;
        MemorySegment pqkv = Check.randomSegment(rng, Math.max(1, padded * pld), -2, 2), mask = Check.randomSegment(rng, Math.max(1, padded), 0, 0);
        for (int s = 0; s < n; s++) {
            for (int i = 0; i < lens[s]; i++) MemorySegment.copy(qkv, 4L * (starts[s] + i) * ld, pqkv, 4L * (s * maxLen + i) * pld, 4L * pld);
            for (int i = lens[s]; i < maxLen; i++) mask.setAtIndex(java.lang.foreign.ValueLayout.JAVA_FLOAT, (long) s * maxLen + i, -1e9f);
        }
        MemorySegment po = Check.randomSegment(rng, Math.max(1, padded * pldo), -1, 1);
        k.attention(pqkv, pld, pqkv.asSlice((long) width * 4), pld, pqkv.asSlice(2L * width * 4), pld, mask, po, pldo, n, maxLen, heads, hd, scale);
        for (int s = 0; s < n; s++) {
            if (lens[s] == 0) continue; // a fully masked padded row has no meaning
            for (int i = 0; i < lens[s]; i++) {
                float[] un = Check.floats(o1.asSlice(4L * (starts[s] + i) * ldo), width), pd = Check.floats(po.asSlice(4L * (s * maxLen + i) * pldo), width);
                assertArrayEquals(pd, un, ctx(k, "attentionVarlen vs padded attention, sequence " + s + " row " + i, Arrays.toString(c), seed));
            }
        }
    }

    static Stream<Arguments> attentionCases() {
        // {batch, len, heads, headDim}: one token, tails of the 8-row block and of the 2-vector tile,
        // head dims below one vector, BERT-base and large heads
        int[][] shapes = {{1, 1, 1, 1}, {2, 7, 3, 5}, {1, 33, 2, 32}, {2, 128, 12, 32}, {3, 50, 4, 64}, {1, 19, 2, 128}, {1, 9, 1, 17}};
        return backends().flatMap(k -> Arrays.stream(shapes).map(sh -> Arguments.of(k, sh)));
    }

    @ParameterizedTest
    @MethodSource("attentionCases")
    void attention(Kernels k, int[] shape) {
        int batch = shape[0], len = shape[1], heads = shape[2], hd = shape[3], width = heads * hd;
        long seed = Arrays.hashCode(shape);
        Random rng = new Random(seed);
        // q, k and v as column slices of one fused [batch, len, 3 * width + 1] buffer, out with a spare column
        int ld = 3 * width + 1, ldo = width + 2;
        long tokens = (long) batch * len;
        MemorySegment qkv = Check.randomSegment(rng, tokens * ld, -2, 2);
        MemorySegment q = qkv, kk = qkv.asSlice((long) width * 4), v = qkv.asSlice(2L * width * 4);
        MemorySegment mask = Check.randomSegment(rng, tokens, -1, 0);
        for (int b = 0; b < batch; b++) {
            // pad the last keys of every sequence but the first (at least one key stays visible)
            for (int j = Math.max(1, len - b * 3); j < len; j++) mask.setAtIndex(java.lang.foreign.ValueLayout.JAVA_FLOAT, (long) b * len + j, -1e9f);
        }
        MemorySegment o0 = Check.randomSegment(rng, tokens * ldo, -1, 1), o1 = Check.copyOf(o0);
        float scale = (float) (1 / Math.sqrt(hd));
        REF.attention(q, ld, kk, ld, v, ld, mask, o0, ldo, batch, len, heads, hd, scale);
        k.attention(q, ld, kk, ld, v, ld, mask, o1, ldo, batch, len, heads, hd, scale);
        // the spare columns of out stay as they were in both, so the whole buffer is compared; the f32
        // score dot products (|q_d k_d| up to 4) carry rounding that grows with the head dim
        Check.close(ctx(k, "attention", Arrays.toString(shape), seed), Check.floats(o0, tokens * ldo), Check.floats(o1, tokens * ldo),
                2e-6 * (1 + hd / 32.0), 1e-5);
        COVERED.add("attention");

        // training forward (dropout 0.2 on the probabilities), keeping the probabilities, and its backward
        int threshold = (int) Math.round(0.2 * 4294967296.0);
        float keepScale = 1f / 0.8f;
        long statsN = 2L * batch * heads * len, probsN = (long) batch * heads * len * len, seedD = seed * 31 + 7;
        MemorySegment s0 = Check.randomSegment(rng, statsN, 0, 1), s1 = Check.copyOf(s0);
        MemorySegment p0 = Check.randomSegment(rng, probsN, 0, 1), p1 = Check.copyOf(p0);
        MemorySegment t0 = Check.randomSegment(rng, tokens * ldo, -1, 1), t1 = Check.copyOf(t0);
        REF.attentionTrainForward(q, ld, kk, ld, v, ld, mask, t0, ldo, s0, p0, batch, len, heads, hd, scale, seedD, threshold, keepScale);
        k.attentionTrainForward(q, ld, kk, ld, v, ld, mask, t1, ldo, s1, p1, batch, len, heads, hd, scale, seedD, threshold, keepScale);
        double atol = 2e-6 * (1 + hd / 32.0);
        // row maxima (scores up to ~|4 hd| scale) and 1/sum (in (0, 1]): f32 rounding of the dot products
        Check.close(ctx(k, "attentionTrainForward stats", Arrays.toString(shape), seed), Check.floats(s0, statsN), Check.floats(s1, statsN), atol, 1e-5);
        Check.close(ctx(k, "attentionTrainForward probs", Arrays.toString(shape), seed), Check.floats(p0, probsN), Check.floats(p1, probsN), atol, 1e-5);
        Check.close(ctx(k, "attentionTrainForward out", Arrays.toString(shape), seed), Check.floats(t0, tokens * ldo), Check.floats(t1, tokens * ldo), 2 * atol, 1e-5);
        // without probabilities: only the stats are written, out is the same
        MemorySegment s2 = Check.randomSegment(rng, statsN, 0, 1), t2 = Check.copyOf(t0);
        k.attentionTrainForward(q, ld, kk, ld, v, ld, mask, t2, ldo, s2, null, batch, len, heads, hd, scale, seedD, threshold, keepScale);
        Check.close(ctx(k, "attentionTrainForward stats (no probs)", Arrays.toString(shape), seed), Check.floats(s0, statsN), Check.floats(s2, statsN), atol, 1e-5);
        Check.close(ctx(k, "attentionTrainForward out (no probs)", Arrays.toString(shape), seed), Check.floats(t0, tokens * ldo), Check.floats(t2, tokens * ldo), 2 * atol, 1e-5);
        int ldd = width + 3, ldg = width + 1;
        MemorySegment dOut = Check.randomSegment(rng, tokens * ldd, -1, 1);
        // the backward reading the kept probabilities, and recomputing them from the stats; both
        // kernels from the reference's forward outputs, so their own handling of P is what is compared
        for (MemorySegment probs : new MemorySegment[] {p0, null}) {
            MemorySegment[] ref = new MemorySegment[3], fast = new MemorySegment[3];
            for (int i = 0; i < 3; i++) {
                ref[i] = Check.randomSegment(rng, tokens * ldg, -1, 1);
                fast[i] = Check.copyOf(ref[i]);
            }
            REF.attentionBackward(q, ld, kk, ld, v, ld, mask, s0, probs, dOut, ldd, ref[0], ref[1], ref[2], ldg, batch, len, heads, hd, scale, seedD, threshold, keepScale);
            k.attentionBackward(q, ld, kk, ld, v, ld, mask, s0, probs, dOut, ldd, fast[0], fast[1], fast[2], ldg, batch, len, heads, hd, scale, seedD, threshold, keepScale);
            String[] names = {"dq", "dk", "dv"};
            for (int i = 0; i < 3; i++) {
                Check.close(ctx(k, "attentionBackward " + names[i] + (probs == null ? " (recomputed P)" : " (kept P)"), Arrays.toString(shape), seed),
                        Check.floats(ref[i], tokens * ldg), Check.floats(fast[i], tokens * ldg), 2e-6 * (1 + hd / 32.0) * Math.sqrt(len), 1e-4);
            }
        }
        COVERED.addAll(List.of("attentionTrainForward", "attentionBackward"));
    }

    static Stream<Arguments> gemmCases() {
        // the last two are large enough for the parallel paths: split by rows (tall C) and by columns (wide C)
        int[][] shapes = {{1, 1, 1}, {3, 17, 5}, {17, 3, 127}, {6, 32, 256}, {7, 33, 257}, {127, 65, 300}, {64, 64, 64}, {200, 130, 513},
                          {72, 700, 300}};
        return backends().flatMap(k -> Arrays.stream(shapes).flatMap(s -> Stream.of(
                Arguments.of(k, s, false, false), Arguments.of(k, s, true, false), Arguments.of(k, s, false, true), Arguments.of(k, s, true, true))));
    }

    @ParameterizedTest
    @MethodSource("gemmCases")
    void gemm(Kernels k, int[] mnk, boolean ta, boolean tb) {
        int m = mnk[0], n = mnk[1], kk = mnk[2];
        long seed = m * 1000003L + n * 1009L + kk + (ta ? 1 : 0) + (tb ? 2 : 0);
        Random rng = new Random(seed);
        // padded leading dimensions: the kernels must honour lda/ldb/ldc, not assume packed rows
        int lda = (ta ? m : kk) + 3, ldb = (tb ? kk : n) + 2, ldc = n + 1;
        MemorySegment a = Check.randomSegment(rng, (long) (ta ? kk : m) * lda, -1, 1);
        MemorySegment b = Check.randomSegment(rng, (long) (tb ? n : kk) * ldb, -1, 1);
        for (float[] ab : new float[][] {{1f, 0f}, {0.5f, 1f}, {-2f, 0.25f}}) {
            MemorySegment c0 = Check.randomSegment(rng, (long) m * ldc, -1, 1), c1 = Check.copyOf(c0);
            REF.gemm(ta, tb, m, n, kk, ab[0], a, lda, b, ldb, ab[1], c0, ldc);
            k.gemm(ta, tb, m, n, kk, ab[0], a, lda, b, ldb, ab[1], c1, ldc);
            // f32 dot products of kk terms in [-1, 1]: error ~ kk * eps in the worst case
            Check.close(ctx(k, "gemm ta=" + ta + " tb=" + tb + " alpha,beta=" + Arrays.toString(ab), Arrays.toString(mnk), seed),
                    Check.floats(c0, (long) m * ldc), Check.floats(c1, (long) m * ldc), 2e-7 * kk + 1e-6, 1e-5);
        }
        COVERED.add("gemm");
    }

    @ParameterizedTest
    @MethodSource("gemmCases")
    void gemmBf16B(Kernels k, int[] mnk, boolean ta, boolean tb) {
        int m = mnk[0], n = mnk[1], kk = mnk[2];
        long seed = m * 7919L + n * 31L + kk + (ta ? 1 : 0) + (tb ? 2 : 0);
        Random rng = new Random(seed);
        int lda = (ta ? m : kk) + 1, ldb = (tb ? kk : n) + 3, ldc = n + 2;
        MemorySegment a = Check.randomSegment(rng, (long) (ta ? kk : m) * lda, -1, 1);
        long bCount = (long) (tb ? n : kk) * ldb;
        MemorySegment b = java.lang.foreign.Arena.ofAuto().allocate(bCount * 2, 64);
        MemorySegment bWide = java.lang.foreign.Arena.ofAuto().allocate(bCount * 4, 64);
        for (long i = 0; i < bCount; i++) {
            short h = org.realmjava.tensor.DType.toBf16(rng.nextFloat() * 2 - 1);
            b.setAtIndex(java.lang.foreign.ValueLayout.JAVA_SHORT, i, h);
            bWide.setAtIndex(java.lang.foreign.ValueLayout.JAVA_FLOAT, i, org.realmjava.tensor.DType.fromBf16(h));
        }
        for (float[] ab : new float[][] {{1f, 0f}, {0.5f, 1f}}) {
            MemorySegment c0 = Check.randomSegment(rng, (long) m * ldc, -1, 1), c1 = Check.copyOf(c0), c2 = Check.copyOf(c0);
            REF.gemmBf16B(ta, tb, m, n, kk, ab[0], a, lda, b, ldb, ab[1], c0, ldc);
            k.gemmBf16B(ta, tb, m, n, kk, ab[0], a, lda, b, ldb, ab[1], c1, ldc);
            // and the f32 reference on the widened B: widening is exact, so this is the same product
            REF.gemm(ta, tb, m, n, kk, ab[0], a, lda, bWide, ldb, ab[1], c2, ldc);
            String what = ctx(k, "gemmBf16B ta=" + ta + " tb=" + tb + " alpha,beta=" + Arrays.toString(ab), Arrays.toString(mnk), seed);
            Check.close(what, Check.floats(c0, (long) m * ldc), Check.floats(c1, (long) m * ldc), 2e-7 * kk + 1e-6, 1e-5);
            Check.close(what + " vs widened f32", Check.floats(c2, (long) m * ldc), Check.floats(c0, (long) m * ldc), 1e-6, 1e-6);
        }
        COVERED.add("gemmBf16B");
    }

    static Stream<Arguments> packedWeightCases() {
        // k beyond one K block (3 blocks for 1100), n with edge panels, m beyond one packed A block (300 > 128)
        // (odd k and odd K blocks: 3, 1100 = 512 + 512 + 76, 513 = 512 + 1, 1025 for the bf16 pairs);
        // 1001 rows: a refresh batch's size, A's row panels split unevenly between the threads; 600 x 790:
        // shared A with 3-panel claims, the last one short and ending in an edge panel
        int[][] shapes = {{1, 1, 1}, {5, 7, 3}, {128, 384, 384}, {131, 33, 1100}, {300, 65, 513}, {2, 1152, 40}, {9, 40, 1025}, {1001, 40, 600},
                {600, 790, 70}};
        return backends().flatMap(k -> Arrays.stream(shapes).map(s -> Arguments.of(k, s)));
    }

    @ParameterizedTest
    @MethodSource("packedWeightCases")
    void packedWeightGemm(Kernels k, int[] mnk) {
        int m = mnk[0], n = mnk[1], kk = mnk[2];
        long seed = m * 131L + n * 7L + kk;
        Random rng = new Random(seed);
        int lda = kk + 3, ldw = kk + 1, ldc = n + 2;
        MemorySegment a = Check.randomSegment(rng, (long) m * lda, -1, 1);
        MemorySegment w = Check.randomSegment(rng, (long) n * ldw, -1, 1);
        Object packed = k.packWeight(w, ldw, n, kk);
        COVERED.add("packWeight");
        COVERED.add("gemmPackedWeight");
        if (packed == null) return; // this backend keeps no packed form (callers use gemm)
        MemorySegment c0 = Check.randomSegment(rng, (long) m * ldc, -1, 1);
        REF.gemm(false, true, m, n, kk, 1f, a, lda, w, ldw, 0f, c0, ldc);
        checkPackedProduct(k, "gemmPackedWeight", mnk, seed, a, lda, w, packed, c0, ldc);
    }

    /**
     * The product with its bias and activation (gemmPackedWeightBias) equals, bit for bit, the same
     * backend's gemmPackedWeight followed by its row pass over each row, and is close to the
     * reference's GEMM and row pass.
     */
    @ParameterizedTest
    @MethodSource("packedWeightCases")
    void packedWeightGemmBias(Kernels k, int[] mnk) {
        int m = mnk[0], n = mnk[1], kk = mnk[2];
        long seed = m * 139L + n * 13L + kk;
        Random rng = new Random(seed);
        int lda = kk + 3, ldw = kk + 1, ldc = n + 2;
        MemorySegment a = Check.randomSegment(rng, (long) m * lda, -1, 1);
        MemorySegment w = Check.randomSegment(rng, (long) n * ldw, -1, 1);
        MemorySegment bias = Check.randomSegment(rng, n, -1, 1);
        Object packed = k.packWeight(w, ldw, n, kk);
        COVERED.add("gemmPackedWeightBias");
        if (packed == null) return;
        for (UnaryOp act : new UnaryOp[] {null, UnaryOp.GELU_ERF, UnaryOp.GELU_TANH, UnaryOp.RELU}) {
            MemorySegment fused = Check.randomSegment(rng, (long) m * ldc, -1, 1), twoPass = Check.copyOf(fused), ref = Check.copyOf(fused);
            k.gemmPackedWeightBias(m, n, kk, a, lda, packed, bias, act, fused, ldc);
            k.gemmPackedWeight(m, n, kk, a, lda, packed, twoPass, ldc);
            REF.gemm(false, true, m, n, kk, 1f, a, lda, w, ldw, 0f, ref, ldc);
            for (int r = 0; r < m; r++) {
                MemorySegment row = twoPass.asSlice((long) r * ldc * 4, (long) n * 4), refRow = ref.asSlice((long) r * ldc * 4, (long) n * 4);
                if (act == null) {
                    k.binaryRow(BinaryOp.ADD, row, bias, row, 1, n);
                    REF.binaryRow(BinaryOp.ADD, refRow, bias, refRow, 1, n);
                } else {
                    k.biasUnaryRows(act, row, bias, row, 1, n);
                    REF.biasUnaryRows(act, refRow, bias, refRow, 1, n);
                }
            }
            String what = ctx(k, "gemmPackedWeightBias " + act, Arrays.toString(mnk), seed);
            assertArrayEquals(Check.floats(twoPass, (long) m * ldc), Check.floats(fused, (long) m * ldc), 0f, what + " vs product + row pass");
            Check.close(what, Check.floats(ref, (long) m * ldc), Check.floats(fused, (long) m * ldc), 2e-7 * kk + 1e-5, 1e-5);
        }
    }

    /** k with the named methods run as the contract's defaults (the references) and everything else by k itself. */
    static Kernels withDefaults(Kernels k, String... names) {
        Set<String> asDefault = Set.of(names);
        return (Kernels) java.lang.reflect.Proxy.newProxyInstance(Kernels.class.getClassLoader(), new Class<?>[] {Kernels.class}, (proxy, m, args) -> {
            if (asDefault.contains(m.getName())) return java.lang.reflect.InvocationHandler.invokeDefault(proxy, m, args);
            try {
                return m.invoke(k, args);
            } catch (java.lang.reflect.InvocationTargetException e) {
                throw e.getCause();
            }
        });
    }

    static Stream<Arguments> feedForwardCases() {
        // {m, inter, hidden}: packedWeightCases plus a refresh-sized FFN of MiniLM's widths (shared A, an
        // intermediate of three K blocks for the second product, 3-panel claims across their ends);
        // inter = 33, 65, 40, 7: an edge tile, and activation columns past the last whole vector (the scalar reference)
        int[][] shapes = {{1, 1, 1}, {5, 7, 3}, {128, 384, 384}, {131, 33, 1100}, {300, 65, 513}, {2, 1152, 40}, {9, 40, 1025}, {1001, 40, 600},
                {777, 1536, 384}, {13, 7, 20}};
        return backends().flatMap(k -> Arrays.stream(shapes).map(s -> Arguments.of(k, s)));
    }

    /**
     * feedForward (this shape as the first product, its transpose as the second: m x k -> n -> k;
     * f32 and bf16 weights; GELU of both kinds and the bias alone): bit for bit the contract's
     * default, two row-major products of the same backend through a row-major intermediate.
     */
    @ParameterizedTest
    @MethodSource("feedForwardCases")
    void feedForward(Kernels k, int[] mnk) {
        int m = mnk[0], n = mnk[1], kk = mnk[2];
        long seed = m * 149L + n * 17L + kk;
        Random rng = new Random(seed);
        int lda = kk + 3, ldw = kk + 1, ldo = kk + 2;
        COVERED.add("feedForward");
        Kernels reference = withDefaults(k, "feedForward");
        MemorySegment a = Check.randomSegment(rng, (long) m * lda, -1, 1);
        MemorySegment w = Check.randomSegment(rng, (long) n * ldw, -1, 1), w2 = Check.randomSegment(rng, (long) kk * (n + 1), -1, 1);
        MemorySegment bias = Check.randomSegment(rng, n, -1, 1);
        for (boolean bf16 : new boolean[] {false, true}) {
            Object packed = bf16 ? k.packWeightBf16(bf16Copy(w, (long) n * ldw), ldw, n, kk) : k.packWeight(w, ldw, n, kk);
            Object packed2 = bf16 ? k.packWeightBf16(bf16Copy(w2, (long) kk * (n + 1)), n + 1, kk, n) : k.packWeight(w2, n + 1, kk, n);
            if (packed == null || packed2 == null) continue;
            for (UnaryOp act : new UnaryOp[] {null, UnaryOp.GELU_ERF, UnaryOp.GELU_TANH}) {
                MemorySegment got = Check.randomSegment(rng, (long) m * ldo, -1, 1), want = Check.copyOf(got);
                k.feedForward(m, kk, n, a, lda, packed, bias, act, packed2, got, ldo);
                reference.feedForward(m, kk, n, a, lda, packed, bias, act, packed2, want, ldo);
                assertArrayEquals(Check.floats(want, (long) m * ldo), Check.floats(got, (long) m * ldo), 0f,
                        ctx(k, "feedForward bf16=" + bf16 + " act=" + act, Arrays.toString(mnk), seed));
            }
        }
    }

    private static MemorySegment bf16Copy(MemorySegment f32, long n) {
        MemorySegment out = java.lang.foreign.Arena.ofAuto().allocate(Math.max(2, n * 2), 64);
        for (long i = 0; i < n; i++) {
            out.setAtIndex(java.lang.foreign.ValueLayout.JAVA_SHORT, i, (short) (Float.floatToRawIntBits(f32.getAtIndex(java.lang.foreign.ValueLayout.JAVA_FLOAT, i)) >>> 16));
        }
        return out;
    }

    /**
     * gemmPackedWeight with packed (made from w) against the reference product c0; then w is
     * zeroed and the product repeated: the packed copy is a snapshot, later writes to W do not
     * change products with it.
     */
    private static void checkPackedProduct(Kernels k, String what, int[] mnk, long seed, MemorySegment a, int lda, MemorySegment w,
                                           Object packed, MemorySegment c0, int ldc) {
        int m = mnk[0], n = mnk[1], kk = mnk[2];
        for (String pass : new String[] {"", " (snapshot)"}) {
            if (!pass.isEmpty()) w.fill((byte) 0);
            // C is overwritten: start from NaN in the product's cells (the padding columns keep c0's values)
            MemorySegment c1 = Check.copyOf(c0);
            for (int i = 0; i < m; i++) for (int j = 0; j < n; j++) c1.setAtIndex(java.lang.foreign.ValueLayout.JAVA_FLOAT, (long) i * ldc + j, Float.NaN);
            k.gemmPackedWeight(m, n, kk, a, lda, packed, c1, ldc);
            Check.close(ctx(k, what + pass, Arrays.toString(mnk), seed), Check.floats(c0, (long) m * ldc), Check.floats(c1, (long) m * ldc),
                    2e-7 * kk + 1e-6, 1e-5);
        }
    }

    @ParameterizedTest
    @MethodSource("packedWeightCases")
    void packedWeightBf16Gemm(Kernels k, int[] mnk) {
        int m = mnk[0], n = mnk[1], kk = mnk[2];
        long seed = m * 137L + n * 11L + kk;
        Random rng = new Random(seed);
        int lda = kk + 3, ldw = kk + 1, ldc = n + 2;
        MemorySegment a = Check.randomSegment(rng, (long) m * lda, -1, 1);
        MemorySegment w = java.lang.foreign.Arena.ofAuto().allocate((long) n * ldw * 2, 64);
        for (long i = 0; i < (long) n * ldw; i++) {
            w.setAtIndex(java.lang.foreign.ValueLayout.JAVA_SHORT, i, org.realmjava.tensor.DType.toBf16(rng.nextFloat() * 2 - 1));
        }
        Object packed = k.packWeightBf16(w, ldw, n, kk);
        COVERED.add("packWeightBf16");
        if (packed == null) return; // this backend keeps no packed bf16 form (callers use gemmBf16B)
        MemorySegment c0 = Check.randomSegment(rng, (long) m * ldc, -1, 1);
        REF.gemmBf16B(false, true, m, n, kk, 1f, a, lda, w, ldw, 0f, c0, ldc);
        checkPackedProduct(k, "gemmPackedWeight (bf16)", mnk, seed, a, lda, w, packed, c0, ldc);
    }

    @ParameterizedTest
    @MethodSource("backendAndSize")
    void adamw(Kernels k, long n) {
        long seed = 17 * n;
        Random rng = new Random(seed);
        MemorySegment p0 = Check.randomSegment(rng, n, -1, 1), p1 = Check.copyOf(p0);
        MemorySegment m0 = Check.randomSegment(rng, n, -0.1f, 0.1f), m1 = Check.copyOf(m0);
        MemorySegment v0 = Check.randomSegment(rng, n, 0, 0.01f), v1 = Check.copyOf(v0);
        MemorySegment g = Check.randomSegment(rng, n, -1, 1);
        REF.adamw(p0, g, m0, v0, n, 1e-3f, 0.9f, 0.999f, 1e-6f, 0.01f, 0.19f, 0.002f);
        k.adamw(p1, g, m1, v1, n, 1e-3f, 0.9f, 0.999f, 1e-6f, 0.01f, 0.19f, 0.002f);
        Check.close(ctx(k, "adamw m", n, seed), Check.floats(m0, n), Check.floats(m1, n), 1e-7, 1e-6);
        Check.close(ctx(k, "adamw v", n, seed), Check.floats(v0, n), Check.floats(v1, n), 1e-9, 1e-6);
        Check.close(ctx(k, "adamw param", n, seed), Check.floats(p0, n), Check.floats(p1, n), 1e-6, 1e-6);
        COVERED.add("adamw");
    }

    /** (batch, z, t): one candidate, REALM's k + 1 = 9 per token and per sequence, tails of every vector width. */
    static Stream<Arguments> marginalCases() {
        int[][] shapes = {{1, 1, 1}, {3, 9, 1}, {2, 9, 17}, {5, 3, 40}, {4, 2, 127}, {1, 9, 4097}};
        return backends().flatMap(k -> Arrays.stream(shapes).map(s -> Arguments.of(k, s[0], s[1], s[2])));
    }

    @ParameterizedTest
    @MethodSource("marginalCases")
    void marginalLogLikelihood(Kernels k, int batch, int z, int t) {
        long seed = 1009L * batch + 31L * z + t;
        Random rng = new Random(seed);
        int nf = batch * z, nll = nf * t;
        MemorySegment f = Check.randomSegment(rng, nf, -4, 4), ll = Check.randomSegment(rng, nll, -12, 0);
        MemorySegment mask = Check.randomSegment(rng, (long) batch * t, 0, 1);
        for (int i = 0; i < batch * t; i++) mask.setAtIndex(ScalarKernels.F, i, rng.nextInt(4) == 0 ? 0f : 1f);
        // a candidate that cannot produce a token (-inf), and a target no candidate produces
        for (int i = 0; i < nll; i += 7) ll.setAtIndex(ScalarKernels.F, i, Float.NEGATIVE_INFINITY);
        if (t > 1) for (int c = 0; c < z; c++) ll.setAtIndex(ScalarKernels.F, (long) c * t + 1, Float.NEGATIVE_INFINITY);
        if (batch > 1) f.setAtIndex(ScalarKernels.F, z, 40f); // one dominant document in example 1
        for (MemorySegment m : new MemorySegment[] {null, mask}) {
            String what = m == null ? " (no mask)" : " (mask)";
            MemorySegment lp0 = Check.randomSegment(rng, (long) batch * t, 0, 1), lp1 = Check.copyOf(lp0);
            REF.marginalLogLikelihood(f, ll, m, lp0, batch, z, t);
            k.marginalLogLikelihood(f, ll, m, lp1, batch, z, t);
            // a logsumexp of z terms in f32 against double: a few ulps of the largest term
            Check.close(ctx(k, "marginalLogLikelihood" + what, batch + "x" + z + "x" + t, seed),
                    Check.floats(lp0, (long) batch * t), Check.floats(lp1, (long) batch * t), 2e-5, 2e-6);
            MemorySegment g = Check.randomSegment(rng, (long) batch * t, -1, 1);
            MemorySegment df0 = Check.randomSegment(rng, nf, -1, 1), df1 = Check.copyOf(df0);
            MemorySegment dll0 = Check.randomSegment(rng, nll, -1, 1), dll1 = Check.copyOf(dll0);
            REF.marginalLogLikelihoodBackward(f, ll, m, lp0, g, df0, dll0, batch, z, t);
            k.marginalLogLikelihoodBackward(f, ll, m, lp0, g, df1, dll1, batch, z, t);
            // df sums t terms of size <= |g|: the tolerance grows with t
            Check.close(ctx(k, "marginalLogLikelihoodBackward df" + what, batch + "x" + z + "x" + t, seed),
                    Check.floats(df0, nf), Check.floats(df1, nf), 1e-5 + 2e-7 * t, 1e-5);
            Check.close(ctx(k, "marginalLogLikelihoodBackward dll" + what, batch + "x" + z + "x" + t, seed),
                    Check.floats(dll0, nll), Check.floats(dll1, nll), 1e-5, 1e-5);
        }
        COVERED.addAll(List.of("marginalLogLikelihood", "marginalLogLikelihoodBackward"));
    }

    @Test
    void backendsExist() {
        assertTrue(backends().count() >= 1);
        assertEquals("scalar", REF.name());
    }

    /** The build runs this class once per vector width: each fork's kernels must run at the width it asked for. */
    @Test
    void eachForkRunsTheWidthItAskedFor() {
        String forced = System.getProperty("realm.vectorbits", "").trim();
        int bits = org.realmjava.tensor.simd.SimdSpecies.FLOAT.vectorBitSize();
        if (forced.matches("\\d+")) assertEquals(Integer.parseInt(forced), bits, "realm.vectorbits");
        String name = new SimdKernels(new SimdGemm()).name();
        assertTrue(name.startsWith("simd" + bits + "+"), name);
        System.out.println("KernelParityTest: Vector API kernels at " + bits + " bits (" + name + ")");
    }

    /** Fails when an op of the Kernels interface has no parity case above. */
    @AfterAll
    static void everyKernelHasAParityCase() {
        if (System.getProperty("test") != null) return; // a filtered run (-Dtest=...) covers only part
        Set<String> ops = new TreeSet<>();
        for (Method m : Kernels.class.getDeclaredMethods()) if (!m.getName().equals("name")) ops.add(m.getName());
        ops.removeAll(COVERED);
        assertTrue(ops.isEmpty(), "kernels without a parity test: " + ops);
    }
}
