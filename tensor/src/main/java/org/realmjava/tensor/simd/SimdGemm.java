package org.realmjava.tensor.simd;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.concurrent.atomic.AtomicInteger;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;
import org.realmjava.tensor.parallel.Parallel;

/**
 * Cache-blocked, register-tiled SGEMM in the Vector API (the BLIS loop order).
 *
 * <pre>
 * for jc in N step NC:                 B block  [KC x NC] packed once, shared by threads
 *   for pc in K step KC:
 *     pack op(B)[pc:pc+KC, jc:jc+NC] into NR-wide panels
 *     parallel for (ic in M step MC) x (column slab):   A block [MC x KC] packed per task
 *       for jr in slab step NR: for ir in MC step MR:  micro-kernel MR x NR over KC
 * </pre>
 *
 * The micro-kernel keeps an MR x NR tile of C in registers: 6 rows x 2 vectors = 12
 * accumulators, plus 2 B vectors and 1 broadcast A value, 15 of the 32 AVX-512 registers;
 * 12 independent FMA chains cover the FMA latency (4 cycles x 2 ports = 8 in flight needed).
 * Below 512 bits (AVX2 has 16 vector registers) both paths use 8-row panels run as two 4 x 2
 * halves (micro4x2, 8 accumulators), so nothing spills.
 * alpha is folded into the packed A; beta is applied on the first K block only.
 */
public final class SimdGemm implements GemmKernel {
    private static final VectorSpecies<Float> S = SimdSpecies.FLOAT;
    private static final int L = S.length();
    /**
     * Rows of the generic path's micro-tile: 6 (micro6x2, 12 accumulators) with 512-bit vectors;
     * 8 below that, run as two 4-row halves (micro4x2): under -XX:UseAVX=2 (16 vector registers)
     * micro6x2 spilled, 53 against 102 GFLOP/s for the halves on one core (an L1-resident panel).
     */
    static final int MR = L < 16 ? 8 : 6;
    static final int NR = 2 * L;
    /*
     * Block sizes, from a sweep on the 2-core Zen 5 machine (single thread, 2048^3 and
     * 4096x384x384; docs/benchmarks.md): KC 256 -> 512 took 88 -> 101 GFLOP/s (fewer passes over C,
     * longer micro-kernel runs); MC and NC changed results by under 2%. The micro-kernel alone
     * runs at ~117 GFLOP/s per core, so the whole GEMM is at ~87% of it.
     */
    /** K block: a B panel (KC x NR) is 64 KB at 512 bits, streamed from L1/L2 with the A panel. */
    static final int KC = Integer.getInteger("realm.gemm.kc", 512);
    /** M block: a packed A block (MC x KC) stays in L2 (96 x 512 x 4 B = 192 KB). */
    static final int MC = Integer.getInteger("realm.gemm.mc", 96);
    /** N block: the packed B block (KC x NC) stays in L3 (4 MB). */
    static final int NC = Integer.getInteger("realm.gemm.nc", 2048);
    private static final ValueLayout.OfFloat F = ValueLayout.JAVA_FLOAT;
    /** 2*m*n*k of one K block below which the block runs on the calling thread (~100 us of work). */
    static final long PARALLEL_MIN_FLOPS = 8_000_000;

    private static final ThreadLocal<float[]> PACKED_A = ThreadLocal.withInitial(() -> new float[MC * KC]);
    private static final ThreadLocal<float[]> ROW = ThreadLocal.withInitial(() -> new float[KC]);
    private static final ThreadLocal<float[]> RUN = ThreadLocal.withInitial(() -> new float[MC]);
    private static final ThreadLocal<float[]> BLOCK = ThreadLocal.withInitial(() -> new float[NR * KC]);
    private static final ThreadLocal<int[]> GATHER = ThreadLocal.withInitial(() -> new int[Math.max(2, L)]);
    private static final ThreadLocal<float[]> PACKED_B = ThreadLocal.withInitial(() -> new float[KC * (NC + NR)]);

    @Override
    public String name() {
        return "simd-gemm";
    }

    @Override
    public void gemm(boolean transA, boolean transB, int m, int n, int k, float alpha,
                     MemorySegment a, int lda, MemorySegment b, int ldb, float beta, MemorySegment c, int ldc) {
        gemm(transA, transB, m, n, k, alpha, a, lda, b, false, ldb, beta, c, ldc);
    }

    /** The GEMM with B in f32 or (bBf16) bf16, widened exactly while it is packed. */
    static void gemm(boolean transA, boolean transB, int m, int n, int k, float alpha,
                     MemorySegment a, int lda, MemorySegment b, boolean bBf16, int ldb, float beta, MemorySegment c, int ldc) {
        if (m == 0 || n == 0) return;
        if (k == 0 || alpha == 0f) {
            scaleC(m, n, beta, c, ldc);
            return;
        }
        float[] bp = PACKED_B.get();
        for (int jc = 0; jc < n; jc += NC) {
            int nc = Math.min(NC, n - jc);
            int panels = (nc + NR - 1) / NR;
            for (int pc = 0; pc < k; pc += KC) {
                int kc = Math.min(KC, k - pc);
                final int jcF = jc, pcF = pc;
                // below PARALLEL_MIN_FLOPS the hand-off to the pool costs more than it saves
                boolean parallel = 2L * m * nc * kc >= PARALLEL_MIN_FLOPS;
                Parallel.forRange(panels, parallel ? 4 : panels, (s, e) -> {
                    for (long jp = s; jp < e; jp++) packB(transB, bBf16, b, ldb, pcF, kc, jcF + (int) jp * NR, Math.min(NR, nc - (int) jp * NR), bp, (int) jp * NR * kc);
                });
                boolean first = pc == 0;
                int mBlocks = (m + MC - 1) / MC;
                if (mBlocks >= 2 * Parallel.threads()) {
                    // Rows split evenly (in MR-row panels, not whole MC blocks: 22 blocks of 96 rows
                    // over 2 threads left one thread 6% idle); each thread walks its rows in MC blocks.
                    int microPanels = (m + MR - 1) / MR;
                    Parallel.forRange(microPanels, parallel ? 1 : microPanels, (s, e) -> {
                        float[] ap = PACKED_A.get();
                        int rowEnd = (int) Math.min(m, e * MR);
                        for (int ic = (int) s * MR; ic < rowEnd; ic += MC) {
                            int mc = Math.min(MC, rowEnd - ic);
                            packA(transA, a, lda, ic, mc, pcF, kc, alpha, ap);
                            macroKernel(ap, bp, mc, kc, 0, panels, nc, ic, jcF, c, ldc, first, beta);
                        }
                    });
                } else {
                    // Few row blocks: split the columns, one slab of panels per thread, each over all
                    // row blocks. (Tasks ordered row block first gave M = 128 one 96-row block per
                    // thread and the other 32 rows: a 3:1 imbalance.)
                    int slabs = Math.min(panels, Parallel.threads());
                    int tasks = mBlocks * slabs;
                    Parallel.forRange(tasks, parallel ? 1 : tasks, (s, e) -> {
                        float[] ap = PACKED_A.get();
                        int packedBlock = -1;
                        for (long t = s; t < e; t++) {
                            int ib = (int) (t % mBlocks), slab = (int) (t / mBlocks);
                            int ic = ib * MC, mc = Math.min(MC, m - ic);
                            if (packedBlock != ib) {
                                packA(transA, a, lda, ic, mc, pcF, kc, alpha, ap);
                                packedBlock = ib;
                            }
                            int p0 = panels * slab / slabs, p1 = panels * (slab + 1) / slabs;
                            macroKernel(ap, bp, mc, kc, p0, p1, nc, ic, jcF, c, ldc, first, beta);
                        }
                    });
                }
            }
        }
    }

    /**
     * op(B) = W^T for a weight W [n, k], packed once: for each K block (pc, kc) the n columns as
     * NR-wide panels of kc rows, panel jp of the block at {@code pc * panels * NR + jp * NR * kc}.
     * Inference multiplies activations by the same weights call after call; packing them here
     * instead of in every GEMM takes the transposing gathers off the critical path (at M = 128,
     * BERT at batch 1, B packing was ~20% of each product).
     */
    /** A weight packed for {@link #gemmPackedWeight}: f32 panels or bf16 pairs. */
    sealed interface Packed permits PackedWeight, PackedWeightBf16 {
        int n();

        int k();
    }

    record PackedWeight(float[] panels, int n, int k) implements Packed {}

    /**
     * W^T from bf16, two K steps per int: for K block pc and panel jp, pair t of the block is the
     * NR ints at {@code (pc / 2) * panels * NR + jp * NR * ceil(kc / 2) + t * NR}, column j holding
     * W[j][pc + 2t] in its low 16 bits and W[j][pc + 2t + 1] (0 past k) in its high 16 bits. A
     * shift and a mask then give both steps as exact f32 vectors from one load.
     */
    record PackedWeightBf16(int[] pairs, int n, int k) implements Packed {}

    static PackedWeightBf16 packWeightBf16(MemorySegment w, int ldw, int n, int k) {
        int panels = (n + NR - 1) / NR;
        int[] dst = new int[Math.multiplyExact((k + 1) / 2, panels * NR)];
        for (int pc = 0; pc < k; pc += KC) {
            int kc = Math.min(KC, k - pc), pairs = (kc + 1) / 2, pcF = pc;
            Parallel.forRange(panels, 4, (s, e) -> {
                short[] row = new short[kc + 1];
                for (long jp = s; jp < e; jp++) {
                    int j0 = (int) jp * NR, base = (pcF / 2) * panels * NR + (int) jp * NR * pairs;
                    for (int j = 0; j < Math.min(NR, n - j0); j++) {
                        MemorySegment.copy(w, ValueLayout.JAVA_SHORT, ((long) (j0 + j) * ldw + pcF) << 1, row, 0, kc);
                        row[kc] = 0;
                        for (int t = 0; t < pairs; t++) dst[base + t * NR + j] = (row[2 * t] & 0xFFFF) | (row[2 * t + 1] << 16);
                    }
                }
            });
        }
        return new PackedWeightBf16(dst, n, k);
    }

    static PackedWeight packWeight(MemorySegment w, int ldw, int n, int k) {
        int panels = (n + NR - 1) / NR;
        float[] dst = new float[Math.multiplyExact(k, panels * NR)];
        for (int pc = 0; pc < k; pc += KC) {
            int kc = Math.min(KC, k - pc), pcF = pc;
            Parallel.forRange(panels, 4, (s, e) -> {
                for (long jp = s; jp < e; jp++) {
                    int j0 = (int) jp * NR;
                    packB(true, false, w, ldw, pcF, kc, j0, Math.min(NR, n - j0), dst, pcF * panels * NR + j0 * kc);
                }
            });
        }
        return new PackedWeight(dst, n, k);
    }

    /** A block rows for the packed-weight path: the whole of a BERT-at-batch-1 activation (128 rows). */
    static final int MC_PACKED = 128;
    /** Rows per micro-tile on the packed-weight path: 128-row activations split into whole 8-row panels (6 left 4 of 132 rows idle). */
    static final int MR8 = 8;
    /**
     * Panels per claim on the packed-weight path (64 columns: a 384-wide product is 6 claims). Claims
     * rather than one fixed slab per thread: at batch 1 the caller's half of a static split
     * finished measurably later than the worker's (the worker then idled ~7% of the forward), and
     * taking 2-panel claims from a shared counter took the MiniLM B=1 forward from 16.67 to 16.19 ms
     * median (A/B alternating in one JVM). A claim is a group of panels over one block of
     * {@link #MC_PACKED} rows (see gemmPackedWeight); each tile is computed by one thread over every
     * K block, so the result does not depend on who took which claim.
     */
    static final int CLAIM_PANELS = 2;
    /**
     * Panels per claim when A is packed once for all threads (above {@link #SHARED_A_MIN_ROWS}
     * rows) and there are still at least two claims per thread: each claim streams all of A, so
     * wider claims read it fewer times. At 2,048 rows (one JVM, alternating, two runs): MiniLM's
     * QKV product 186 -> 195 GFLOP/s, the FFN's 174-194 -> 183-196, its output 171-177 -> 180,
     * the 384 x 384 one level; 4-panel claims were slower (too few claims for N = 384). At batch 1
     * (128 rows) 2-panel claims stay: level or better there. In whole refresh passes (WordNet and
     * SQuAD, in rotation in one JVM) this and the fused FFN together: 1.023-1.041x.
     */
    static final int CLAIM_PANELS_WIDE = 3;

    /** Panels per claim for a product of m rows and this many column panels (see CLAIM_PANELS_WIDE). */
    static int claimPanels(int m, int panels) {
        boolean wide = m > SHARED_A_MIN_ROWS && (panels + CLAIM_PANELS_WIDE - 1) / CLAIM_PANELS_WIDE >= 2 * Parallel.threads();
        return wide ? CLAIM_PANELS_WIDE : CLAIM_PANELS;
    }
    /** Per thread: all of A packed in 8-row panels, K block after K block (rows padded to whole panels). */
    private static final ThreadLocal<float[][]> PACKED_A_ALL = ThreadLocal.withInitial(() -> new float[][] {new float[0]});

    /**
     * Above this many rows the threads pack A once between them (see gemmPackedWeight); at or
     * below it each packs all of A for itself, as at BERT batch 1 (128 rows), where an A/B of a
     * shared packing had measured the MiniLM forward slower (18.2 vs 16.9 ms median). At 128 rows
     * A is ~2% of the product's time, so there is little to share.
     */
    static final int SHARED_A_MIN_ROWS = 256;

    /**
     * Rows [r0, r1) of A (r0 a multiple of 8) into all-of-A packing: K block pc at pc * mPad, its
     * row panel at r * kc within ({@link PackedRows}' layout).
     */
    private static void packA(MemorySegment a, int lda, int r0, int r1, int k, int mPad, float[] ap) {
        for (int pc = 0; pc < k; pc += KC) {
            int kc = Math.min(KC, k - pc);
            packRows(a, lda, r0, r1 - r0, pc, kc, 1f, MR8, ap, pc * mPad + r0 * kc);
        }
    }

    /** All of A packed once into the caller's buffer, its 8-row panels split between the threads. */
    private static float[] packAShared(MemorySegment a, int lda, int m, int k, int mPad, boolean parallel) {
        float[] ap = packedABuffer(mPad * k);
        int panels = mPad / MR8;
        Parallel.forRange(panels, parallel ? 8 : panels, (s, e) -> packA(a, lda, (int) s * MR8, (int) Math.min(m, e * MR8), k, mPad, ap));
        return ap;
    }

    /**
     * An [m, k] matrix in the layout the packed-weight product packs its A into: rows padded to
     * mPad (a multiple of 8, padding rows finite), K block pc (of KC columns) at pc * mPad, within
     * it 8-row panel g at g * 8 * kc, element (i, pc + p) at p * 8 + i % 8 of its panel. A product
     * can write its output this way ({@link Target#packed}) so that the next product, whose K is
     * this one's N, reads it as its A without packing (SimdKernels.feedForward: the FFN's
     * intermediate activation).
     */
    record PackedRows(float[] data, int m, int mPad, int k) {
        static PackedRows allocate(float[] reuse, int m, int k) {
            int mPad = (m + MR8 - 1) / MR8 * MR8;
            int floats = Math.multiplyExact(mPad, k);
            return new PackedRows(reuse != null && reuse.length >= floats ? reuse : new float[floats], m, mPad, k);
        }

        /** Where the 8-row panel holding row i starts in K block pc, plus (column - pc) * 8. */
        int offset(int i, int col) {
            int pc = col / KC * KC, kc = Math.min(KC, k - pc);
            return pc * mPad + (i / MR8) * MR8 * kc + (col - pc) * MR8 + i % MR8;
        }
    }

    /** Where the packed product's tiles go: row-major C (ldc) or, packed not null, a {@link PackedRows} for the next product. */
    record Target(MemorySegment c, int ldc, PackedRows packed) {
        static Target rows(MemorySegment c, int ldc) {
            return new Target(c, ldc, null);
        }
    }

    private static float[] packedABuffer(int floats) {
        float[][] holder = PACKED_A_ALL.get();
        if (holder[0].length < floats) holder[0] = new float[floats];
        return holder[0];
    }

    /**
     * C[m, n] = A[m, k] W^T with W packed by {@link #packWeight}. Above {@link #SHARED_A_MIN_ROWS}
     * rows A is packed once, the threads splitting its row panels, into the caller's buffer; below,
     * each thread packs all of A for itself. Then each thread takes claims of {@link #claimPanels}
     * column panels over one block of {@link #MC_PACKED} rows and runs every K block of each, a
     * panel group's row blocks claimed one after another so that both threads work on the same
     * panels of W at a time (a static split of the rows, each thread reading all of W, was
     * measured slower). Packing A once: with each thread packing all of
     * A, the packing was ~10% of a K = 1536 product (the FFN output) on both threads at once;
     * shared, those products ran 4-12% faster and the K = 384 ones 0-4% (A/B alternating in one
     * JVM, M = 384 to 1344).
     */
    static void gemmPackedWeight(int m, int n, int k, MemorySegment a, int lda, Packed w, MemorySegment c, int ldc) {
        gemmPackedWeight(m, n, k, a, lda, w, c, ldc, null);
    }

    /** Called with a block of C, columns [c0, c1) of rows [r0, r1), once it is final, on the thread that computed it. */
    @FunctionalInterface
    interface BlockDone {
        void done(int c0, int c1, int r0, int r1);
    }

    /**
     * {@link #gemmPackedWeight(int, int, int, MemorySegment, int, Packed, MemorySegment, int)} with a
     * hook (may be null) run on each claim's block of C as soon as it is done, while it is still in
     * this core's cache: a Linear layer's bias and activation (SimdKernels.gemmPackedWeightBias).
     */
    static void gemmPackedWeight(int m, int n, int k, MemorySegment a, int lda, Packed w, MemorySegment c, int ldc, BlockDone done) {
        gemmPackedWeight(m, n, k, a, lda, null, w, Target.rows(c, ldc), done);
    }

    /**
     * The packed-weight product from A row-major (a, lda) or already packed (aPacked not null, an
     * [m, k] {@link PackedRows}: no packing), into either {@link Target}. Into PackedRows each 8 x
     * NR tile is one contiguous 1 KB run instead of 8 rows ldc apart (measured, tiles into one
     * contiguous run per tile: 1.05-1.07x the throughput of row-major C at M = 2,048 on MiniLM's
     * QKV and FFN shapes). The tiles, their sums and their order are those of the row-major
     * product: the same bits.
     */
    static void gemmPackedWeight(int m, int n, int k, MemorySegment a, int lda, PackedRows aPacked, Packed w, Target out, BlockDone done) {
        if (w.n() != n || w.k() != k) throw new IllegalArgumentException("packed weight is " + w.n() + " x " + w.k() + ", the product needs " + n + " x " + k);
        if (aPacked != null && (aPacked.m() != m || aPacked.k() != k)) throw new IllegalArgumentException("packed A is " + aPacked.m() + " x " + aPacked.k() + ", the product needs " + m + " x " + k);
        if (out.packed() != null && (out.packed().m() != m || out.packed().k() != n)) throw new IllegalArgumentException("packed C is " + out.packed().m() + " x " + out.packed().k() + ", the product makes " + m + " x " + n);
        if (m == 0 || n == 0) return;
        if (k == 0) {
            if (out.packed() != null) java.util.Arrays.fill(out.packed().data(), 0, out.packed().mPad() * n, 0f);
            else scaleC(m, n, 0f, out.c(), out.ldc());
            return;
        }
        int panels = (n + NR - 1) / NR;
        float[] bp = w instanceof PackedWeight f ? f.panels() : null;
        int[] bq = w instanceof PackedWeightBf16 h ? h.pairs() : null;
        int claimPanels = claimPanels(m, panels), groups = (panels + claimPanels - 1) / claimPanels;
        boolean parallel = 2L * m * n * k >= PARALLEL_MIN_FLOPS;
        int mPad = (m + MR8 - 1) / MR8 * MR8;
        float[] shared = aPacked != null ? aPacked.data() : m > SHARED_A_MIN_ROWS ? packAShared(a, lda, m, k, mPad, parallel) : null;
        // claims by row block, not one per panel group over all rows: the last such claim left the other thread idle for
        // up to a 12th of the QKV product, a 4th of a 384-wide one (whole refresh passes toggled in one JVM: WordNet
        // 1.009-1.085x, SQuAD's first 600 paragraphs 1.039x, the same vectors)
        int rowBlocks = (m + MC_PACKED - 1) / MC_PACKED, claims = groups * rowBlocks;
        AtomicInteger next = new AtomicInteger();
        Parallel.forRange(parallel ? Math.min(claims, Parallel.threads()) : 1, 1, (s, e) -> {
            float[] ap = shared;
            if (ap == null) {
                // small A: each thread packs all of it for itself (no second hand-off, no lines moving between cores)
                ap = packedABuffer(mPad * k);
                packA(a, lda, 0, m, k, mPad, ap);
            }
            for (int u; (u = next.getAndIncrement()) < claims; ) {
                int group = u / rowBlocks, ic = (u % rowBlocks) * MC_PACKED, mc = Math.min(MC_PACKED, m - ic);
                int p0 = group * claimPanels, p1 = Math.min(panels, p0 + claimPanels);
                for (int pc = 0; pc < k; pc += KC) {
                    int kc = Math.min(KC, k - pc);
                    int bBase = bq == null ? pc * panels * NR : (pc / 2) * panels * NR;
                    macroKernel8(ap, pc * mPad + ic * kc, bp, bq, bBase, mc, kc, p0, p1, n, ic, out, pc == 0);
                }
                if (done != null) done.done(p0 * NR, Math.min(n, p1 * NR), ic, ic + mc);
            }
        });
    }

    /**
     * macroKernel with 8-row tiles (A packed by packRows with 8-row panels), beta 0: C = tile on the
     * first K block, += after, into the target's layout.
     */
    private static void macroKernel8(float[] ap, int aBase, float[] bp, int[] bq, int bBase, int mc, int kc, int p0, int p1, int nc,
                                     int ic, Target out, boolean first) {
        float[] tile = new float[MR8 * NR];
        MemorySegment c = out.c();
        int ldc = out.ldc();
        PackedRows packed = out.packed();
        for (int jp = p0; jp < p1; jp++) {
            int nr = Math.min(NR, nc - jp * NR);
            int bOff = bBase + jp * NR * (bq == null ? kc : (kc + 1) / 2);
            int col = jp * NR;
            for (int ir = 0; ir < mc; ir += MR8) {
                int mr = Math.min(MR8, mc - ir);
                if (bq == null && L < 16) {
                    micro4x2(ap, aBase + ir * kc, 0, bp, bOff, kc, tile);
                    micro4x2(ap, aBase + ir * kc, 4, bp, bOff, kc, tile);
                } else if (bq == null) {
                    micro8x2(ap, aBase + ir * kc, bp, bOff, kc, tile);
                } else if (L < 16) {
                    micro4x2Bf16(ap, aBase + ir * kc, 0, bq, bOff, kc, tile);
                    micro4x2Bf16(ap, aBase + ir * kc, 4, bq, bOff, kc, tile);
                } else {
                    micro8x2Bf16(ap, aBase + ir * kc, bq, bOff, kc, tile);
                }
                if (packed != null) {
                    // all 8 rows (rows past m come from A's zero padding rows: finite, never read into a real row)
                    storeTilePacked(tile, nr, packed.data(), packed.offset(ic + ir, col), first);
                    continue;
                }
                long cOff = (long) (ic + ir) * ldc + col;
                if (nr == NR) {
                    mergeFullTile(tile, mr, c, cOff, ldc, first, 0f);
                } else {
                    mergeEdgeTile(tile, mr, nr, c, cOff, ldc, first, 0f);
                }
            }
        }
    }

    /**
     * The 8 x nr tile into PackedRows at base (its row panel, first column): dst[base + j * 8 + r] =
     * tile[r][j], or += on later K blocks (c + t, as mergeFullTile's c * 1 + t). Full tiles go
     * through the 8 x 16 transpose twice.
     */
    private static void storeTilePacked(float[] tile, int nr, float[] dst, int base, boolean first) {
        if (nr == NR && L == 16) {
            for (int h = 0; h < NR; h += L) {
                transpose8x16(FloatVector.fromArray(S, tile, h), FloatVector.fromArray(S, tile, NR + h), FloatVector.fromArray(S, tile, 2 * NR + h),
                        FloatVector.fromArray(S, tile, 3 * NR + h), FloatVector.fromArray(S, tile, 4 * NR + h), FloatVector.fromArray(S, tile, 5 * NR + h),
                        FloatVector.fromArray(S, tile, 6 * NR + h), FloatVector.fromArray(S, tile, 7 * NR + h), dst, base + h * MR8, !first);
            }
            return;
        }
        for (int j = 0; j < nr; j++) {
            for (int r = 0; r < MR8; r++) {
                float t = tile[r * NR + j];
                int d = base + j * MR8 + r;
                dst[d] = first ? t : dst[d] + t;
            }
        }
    }

    private static final VectorSpecies<Integer> I = VectorSpecies.of(int.class, S.vectorShape());

    /**
     * micro8x2 with B from bf16 pairs ({@link PackedWeightBf16}): per pair of K steps two int
     * loads give four f32 vectors (shift left 16: step p; mask the high half: step p + 1), so the
     * weight stays 16-bit in memory and no widened copy is made per product. Same FMA order per
     * accumulator as micro8x2 on the widened weight.
     */
    private static void micro8x2Bf16(float[] ap, int aOff, int[] bq, int bOff, int kc, float[] tile) {
        FloatVector c00 = FloatVector.zero(S), c01 = c00, c10 = c00, c11 = c00, c20 = c00, c21 = c00, c30 = c00, c31 = c00;
        FloatVector c40 = c00, c41 = c00, c50 = c00, c51 = c00, c60 = c00, c61 = c00, c70 = c00, c71 = c00;
        int pairs = kc / 2;
        for (int t = 0; t < pairs; t++) {
            IntVector w0 = IntVector.fromArray(I, bq, bOff), w1 = IntVector.fromArray(I, bq, bOff + L);
            FloatVector b0 = w0.lanewise(VectorOperators.LSHL, 16).reinterpretAsFloats();
            FloatVector b1 = w1.lanewise(VectorOperators.LSHL, 16).reinterpretAsFloats();
            FloatVector a;
            a = FloatVector.broadcast(S, ap[aOff]);
            c00 = b0.fma(a, c00);
            c01 = b1.fma(a, c01);
            a = FloatVector.broadcast(S, ap[aOff + 1]);
            c10 = b0.fma(a, c10);
            c11 = b1.fma(a, c11);
            a = FloatVector.broadcast(S, ap[aOff + 2]);
            c20 = b0.fma(a, c20);
            c21 = b1.fma(a, c21);
            a = FloatVector.broadcast(S, ap[aOff + 3]);
            c30 = b0.fma(a, c30);
            c31 = b1.fma(a, c31);
            a = FloatVector.broadcast(S, ap[aOff + 4]);
            c40 = b0.fma(a, c40);
            c41 = b1.fma(a, c41);
            a = FloatVector.broadcast(S, ap[aOff + 5]);
            c50 = b0.fma(a, c50);
            c51 = b1.fma(a, c51);
            a = FloatVector.broadcast(S, ap[aOff + 6]);
            c60 = b0.fma(a, c60);
            c61 = b1.fma(a, c61);
            a = FloatVector.broadcast(S, ap[aOff + 7]);
            c70 = b0.fma(a, c70);
            c71 = b1.fma(a, c71);
            b0 = w0.and(0xFFFF0000).reinterpretAsFloats();
            b1 = w1.and(0xFFFF0000).reinterpretAsFloats();
            a = FloatVector.broadcast(S, ap[aOff + 8]);
            c00 = b0.fma(a, c00);
            c01 = b1.fma(a, c01);
            a = FloatVector.broadcast(S, ap[aOff + 9]);
            c10 = b0.fma(a, c10);
            c11 = b1.fma(a, c11);
            a = FloatVector.broadcast(S, ap[aOff + 10]);
            c20 = b0.fma(a, c20);
            c21 = b1.fma(a, c21);
            a = FloatVector.broadcast(S, ap[aOff + 11]);
            c30 = b0.fma(a, c30);
            c31 = b1.fma(a, c31);
            a = FloatVector.broadcast(S, ap[aOff + 12]);
            c40 = b0.fma(a, c40);
            c41 = b1.fma(a, c41);
            a = FloatVector.broadcast(S, ap[aOff + 13]);
            c50 = b0.fma(a, c50);
            c51 = b1.fma(a, c51);
            a = FloatVector.broadcast(S, ap[aOff + 14]);
            c60 = b0.fma(a, c60);
            c61 = b1.fma(a, c61);
            a = FloatVector.broadcast(S, ap[aOff + 15]);
            c70 = b0.fma(a, c70);
            c71 = b1.fma(a, c71);
            aOff += 2 * MR8;
            bOff += NR;
        }
        if ((kc & 1) != 0) {
            // the odd last step: the low halves of the last pair
            FloatVector b0 = IntVector.fromArray(I, bq, bOff).lanewise(VectorOperators.LSHL, 16).reinterpretAsFloats();
            FloatVector b1 = IntVector.fromArray(I, bq, bOff + L).lanewise(VectorOperators.LSHL, 16).reinterpretAsFloats();
            FloatVector a;
            a = FloatVector.broadcast(S, ap[aOff]);
            c00 = b0.fma(a, c00);
            c01 = b1.fma(a, c01);
            a = FloatVector.broadcast(S, ap[aOff + 1]);
            c10 = b0.fma(a, c10);
            c11 = b1.fma(a, c11);
            a = FloatVector.broadcast(S, ap[aOff + 2]);
            c20 = b0.fma(a, c20);
            c21 = b1.fma(a, c21);
            a = FloatVector.broadcast(S, ap[aOff + 3]);
            c30 = b0.fma(a, c30);
            c31 = b1.fma(a, c31);
            a = FloatVector.broadcast(S, ap[aOff + 4]);
            c40 = b0.fma(a, c40);
            c41 = b1.fma(a, c41);
            a = FloatVector.broadcast(S, ap[aOff + 5]);
            c50 = b0.fma(a, c50);
            c51 = b1.fma(a, c51);
            a = FloatVector.broadcast(S, ap[aOff + 6]);
            c60 = b0.fma(a, c60);
            c61 = b1.fma(a, c61);
            a = FloatVector.broadcast(S, ap[aOff + 7]);
            c70 = b0.fma(a, c70);
            c71 = b1.fma(a, c71);
        }
        c00.intoArray(tile, 0 * NR);
        c01.intoArray(tile, 0 * NR + L);
        c10.intoArray(tile, 1 * NR);
        c11.intoArray(tile, 1 * NR + L);
        c20.intoArray(tile, 2 * NR);
        c21.intoArray(tile, 2 * NR + L);
        c30.intoArray(tile, 3 * NR);
        c31.intoArray(tile, 3 * NR + L);
        c40.intoArray(tile, 4 * NR);
        c41.intoArray(tile, 4 * NR + L);
        c50.intoArray(tile, 5 * NR);
        c51.intoArray(tile, 5 * NR + L);
        c60.intoArray(tile, 6 * NR);
        c61.intoArray(tile, 6 * NR + L);
        c70.intoArray(tile, 7 * NR);
        c71.intoArray(tile, 7 * NR + L);
    }

    /**
     * Rows r0 .. r0 + 3 of micro8x2Bf16's tile, for the same reason as {@link #micro4x2}: 8
     * accumulators, the same FMA chains (step p from the low halves, p + 1 from the high halves).
     */
    private static void micro4x2Bf16(float[] ap, int aOff, int r0, int[] bq, int bOff, int kc, float[] tile) {
        FloatVector c00 = FloatVector.zero(S), c01 = c00, c10 = c00, c11 = c00, c20 = c00, c21 = c00, c30 = c00, c31 = c00;
        aOff += r0;
        int pairs = kc / 2;
        for (int t = 0; t < pairs; t++) {
            IntVector w0 = IntVector.fromArray(I, bq, bOff), w1 = IntVector.fromArray(I, bq, bOff + L);
            FloatVector b0 = w0.lanewise(VectorOperators.LSHL, 16).reinterpretAsFloats();
            FloatVector b1 = w1.lanewise(VectorOperators.LSHL, 16).reinterpretAsFloats();
            FloatVector a;
            a = FloatVector.broadcast(S, ap[aOff]);
            c00 = b0.fma(a, c00);
            c01 = b1.fma(a, c01);
            a = FloatVector.broadcast(S, ap[aOff + 1]);
            c10 = b0.fma(a, c10);
            c11 = b1.fma(a, c11);
            a = FloatVector.broadcast(S, ap[aOff + 2]);
            c20 = b0.fma(a, c20);
            c21 = b1.fma(a, c21);
            a = FloatVector.broadcast(S, ap[aOff + 3]);
            c30 = b0.fma(a, c30);
            c31 = b1.fma(a, c31);
            b0 = w0.and(0xFFFF0000).reinterpretAsFloats();
            b1 = w1.and(0xFFFF0000).reinterpretAsFloats();
            a = FloatVector.broadcast(S, ap[aOff + MR8]);
            c00 = b0.fma(a, c00);
            c01 = b1.fma(a, c01);
            a = FloatVector.broadcast(S, ap[aOff + MR8 + 1]);
            c10 = b0.fma(a, c10);
            c11 = b1.fma(a, c11);
            a = FloatVector.broadcast(S, ap[aOff + MR8 + 2]);
            c20 = b0.fma(a, c20);
            c21 = b1.fma(a, c21);
            a = FloatVector.broadcast(S, ap[aOff + MR8 + 3]);
            c30 = b0.fma(a, c30);
            c31 = b1.fma(a, c31);
            aOff += 2 * MR8;
            bOff += NR;
        }
        if ((kc & 1) != 0) {
            // the odd last step: the low halves of the last pair
            FloatVector b0 = IntVector.fromArray(I, bq, bOff).lanewise(VectorOperators.LSHL, 16).reinterpretAsFloats();
            FloatVector b1 = IntVector.fromArray(I, bq, bOff + L).lanewise(VectorOperators.LSHL, 16).reinterpretAsFloats();
            FloatVector a;
            a = FloatVector.broadcast(S, ap[aOff]);
            c00 = b0.fma(a, c00);
            c01 = b1.fma(a, c01);
            a = FloatVector.broadcast(S, ap[aOff + 1]);
            c10 = b0.fma(a, c10);
            c11 = b1.fma(a, c11);
            a = FloatVector.broadcast(S, ap[aOff + 2]);
            c20 = b0.fma(a, c20);
            c21 = b1.fma(a, c21);
            a = FloatVector.broadcast(S, ap[aOff + 3]);
            c30 = b0.fma(a, c30);
            c31 = b1.fma(a, c31);
        }
        int o = r0 * NR;
        c00.intoArray(tile, o);
        c01.intoArray(tile, o + L);
        c10.intoArray(tile, o + NR);
        c11.intoArray(tile, o + NR + L);
        c20.intoArray(tile, o + 2 * NR);
        c21.intoArray(tile, o + 2 * NR + L);
        c30.intoArray(tile, o + 3 * NR);
        c31.intoArray(tile, o + 3 * NR + L);
    }

    /**
     * Rows r0 .. r0 + 3 of micro8x2's tile (the 8-row panel at aOff): 8 accumulators. With 256- or
     * 128-bit vectors the machine may have only 16 vector registers (AVX2), and micro8x2 needs 19
     * (16 accumulators, 2 B vectors, the broadcast); two halves keep everything in registers and
     * read the B panel twice (from L1/L2). Each accumulator is the same FMA chain over p as in
     * micro8x2, so the tile has the same bits. Under -XX:UseAVX=2, both threads, in one JVM against
     * micro8x2 (the same bits both ways): MiniLM's QKV product at 2,048 rows 115 -> 177 GFLOP/s, the
     * FFN's 112 -> 176, its output 105 -> 146, 384 x 384 111 -> 159, QKV at 128 rows 115 -> 182
     * (the machine's AVX2 FMA ceiling: 188, docs/benchmarks.md "ceilings").
     */
    private static void micro4x2(float[] ap, int aOff, int r0, float[] bp, int bOff, int kc, float[] tile) {
        FloatVector c00 = FloatVector.zero(S), c01 = c00, c10 = c00, c11 = c00, c20 = c00, c21 = c00, c30 = c00, c31 = c00;
        aOff += r0;
        for (int p = 0; p < kc; p++) {
            FloatVector b0 = FloatVector.fromArray(S, bp, bOff);
            FloatVector b1 = FloatVector.fromArray(S, bp, bOff + L);
            FloatVector a;
            a = FloatVector.broadcast(S, ap[aOff]);
            c00 = b0.fma(a, c00);
            c01 = b1.fma(a, c01);
            a = FloatVector.broadcast(S, ap[aOff + 1]);
            c10 = b0.fma(a, c10);
            c11 = b1.fma(a, c11);
            a = FloatVector.broadcast(S, ap[aOff + 2]);
            c20 = b0.fma(a, c20);
            c21 = b1.fma(a, c21);
            a = FloatVector.broadcast(S, ap[aOff + 3]);
            c30 = b0.fma(a, c30);
            c31 = b1.fma(a, c31);
            aOff += MR8;
            bOff += NR;
        }
        int t = r0 * NR;
        c00.intoArray(tile, t);
        c01.intoArray(tile, t + L);
        c10.intoArray(tile, t + NR);
        c11.intoArray(tile, t + NR + L);
        c20.intoArray(tile, t + 2 * NR);
        c21.intoArray(tile, t + 2 * NR + L);
        c30.intoArray(tile, t + 3 * NR);
        c31.intoArray(tile, t + 3 * NR + L);
    }

    /** tile[8 x NR] = Ap[8 x kc] * Bp[kc x NR]: micro6x2 with 8 rows (16 accumulators, 19 of 32 registers). */
    private static void micro8x2(float[] ap, int aOff, float[] bp, int bOff, int kc, float[] tile) {
        FloatVector c00 = FloatVector.zero(S), c01 = c00, c10 = c00, c11 = c00, c20 = c00, c21 = c00, c30 = c00, c31 = c00;
        FloatVector c40 = c00, c41 = c00, c50 = c00, c51 = c00, c60 = c00, c61 = c00, c70 = c00, c71 = c00;
        for (int p = 0; p < kc; p++) {
            FloatVector b0 = FloatVector.fromArray(S, bp, bOff);
            FloatVector b1 = FloatVector.fromArray(S, bp, bOff + L);
            FloatVector a;
            a = FloatVector.broadcast(S, ap[aOff]);
            c00 = b0.fma(a, c00);
            c01 = b1.fma(a, c01);
            a = FloatVector.broadcast(S, ap[aOff + 1]);
            c10 = b0.fma(a, c10);
            c11 = b1.fma(a, c11);
            a = FloatVector.broadcast(S, ap[aOff + 2]);
            c20 = b0.fma(a, c20);
            c21 = b1.fma(a, c21);
            a = FloatVector.broadcast(S, ap[aOff + 3]);
            c30 = b0.fma(a, c30);
            c31 = b1.fma(a, c31);
            a = FloatVector.broadcast(S, ap[aOff + 4]);
            c40 = b0.fma(a, c40);
            c41 = b1.fma(a, c41);
            a = FloatVector.broadcast(S, ap[aOff + 5]);
            c50 = b0.fma(a, c50);
            c51 = b1.fma(a, c51);
            a = FloatVector.broadcast(S, ap[aOff + 6]);
            c60 = b0.fma(a, c60);
            c61 = b1.fma(a, c61);
            a = FloatVector.broadcast(S, ap[aOff + 7]);
            c70 = b0.fma(a, c70);
            c71 = b1.fma(a, c71);
            aOff += MR8;
            bOff += NR;
        }
        c00.intoArray(tile, 0);
        c01.intoArray(tile, L);
        c10.intoArray(tile, NR);
        c11.intoArray(tile, NR + L);
        c20.intoArray(tile, 2 * NR);
        c21.intoArray(tile, 2 * NR + L);
        c30.intoArray(tile, 3 * NR);
        c31.intoArray(tile, 3 * NR + L);
        c40.intoArray(tile, 4 * NR);
        c41.intoArray(tile, 4 * NR + L);
        c50.intoArray(tile, 5 * NR);
        c51.intoArray(tile, 5 * NR + L);
        c60.intoArray(tile, 6 * NR);
        c61.intoArray(tile, 6 * NR + L);
        c70.intoArray(tile, 7 * NR);
        c71.intoArray(tile, 7 * NR + L);
    }

    private static void scaleC(int m, int n, float beta, MemorySegment c, int ldc) {
        for (int i = 0; i < m; i++) {
            for (int j = 0; j < n; j++) {
                long ci = (long) i * ldc + j;
                c.setAtIndex(F, ci, beta == 0f ? 0f : beta * c.getAtIndex(F, ci));
            }
        }
    }

    private static final ValueLayout.OfShort BF16 = ValueLayout.JAVA_SHORT;
    private static final ThreadLocal<short[]> ROW_BF16 = ThreadLocal.withInitial(() -> new short[Math.max(KC, NC + NR)]);

    /** Packs op(B)[pc:pc+kc, j0:j0+nr] as one panel: dst[off + p*NR + j], zero-padded to NR. */
    static void packB(boolean transB, boolean bf16, MemorySegment b, int ldb, int pc, int kc, int j0, int nr, float[] dst, int off) {
        if (bf16) {
            packBf16B(transB, b, ldb, pc, kc, j0, nr, dst, off);
            return;
        }
        if (!transB) {
            for (int p = 0; p < kc; p++) {
                long src = (long) (pc + p) * ldb + j0;
                int d = off + p * NR;
                if (nr == NR) {
                    FloatVector.fromMemorySegment(S, b, src << 2, SimdKernels.NATIVE).intoArray(dst, d);
                    FloatVector.fromMemorySegment(S, b, (src + L) << 2, SimdKernels.NATIVE).intoArray(dst, d + L);
                } else {
                    for (int j = 0; j < nr; j++) dst[d + j] = b.getAtIndex(F, src + j);
                    for (int j = nr; j < NR; j++) dst[d + j] = 0f;
                }
            }
        } else if (nr == NR) {
            // op(B)[p, j] = b[j * ldb + p]: the panel's NR source rows copied with vector loads, then each
            // packed row of NR gathered from them (two gathers with index map {0, kc, 2kc, ...}). A
            // scalar scatter here cost about as much as the multiply for M = 128 (BERT at batch 1).
            float[] block = BLOCK.get();
            for (int j = 0; j < NR; j++) SimdKernels.copyToArray(b, (long) (j0 + j) * ldb + pc, block, j * kc, kc);
            gatherPanel(block, kc, dst, off);
        } else {
            // an edge panel (nr < NR): each source row read with vector loads, written with stride NR
            float[] row = ROW.get();
            for (int j = 0; j < NR; j++) {
                if (j < nr) {
                    SimdKernels.copyToArray(b, (long) (j0 + j) * ldb + pc, row, 0, kc);
                    for (int p = 0; p < kc; p++) dst[off + p * NR + j] = row[p];
                } else {
                    for (int p = 0; p < kc; p++) dst[off + p * NR + j] = 0f;
                }
            }
        }
    }

    /** dst[off + p * NR + j] = block[j * kc + p] for the NR rows of block: two gathers per packed row. */
    private static void gatherPanel(float[] block, int kc, float[] dst, int off) {
        int[] map = GATHER.get();
        if (map[1] != kc) for (int l = 0; l < L; l++) map[l] = l * kc;
        for (int p = 0; p < kc; p++) {
            FloatVector.fromArray(S, block, p, map, 0).intoArray(dst, off + p * NR);
            FloatVector.fromArray(S, block, L * kc + p, map, 0).intoArray(dst, off + p * NR + L);
        }
    }

    /** packB for a bf16 B: rows are bulk-copied as shorts, then widened (bf16 bits are the f32's top half). */
    private static void packBf16B(boolean transB, MemorySegment b, int ldb, int pc, int kc, int j0, int nr, float[] dst, int off) {
        short[] row = ROW_BF16.get();
        if (!transB) {
            for (int p = 0; p < kc; p++) {
                MemorySegment.copy(b, BF16, ((long) (pc + p) * ldb + j0) << 1, row, 0, nr);
                int d = off + p * NR;
                for (int j = 0; j < nr; j++) dst[d + j] = Float.intBitsToFloat(row[j] << 16);
                for (int j = nr; j < NR; j++) dst[d + j] = 0f;
            }
        } else if (nr == NR) {
            // as packB: the panel's rows widened into a block (contiguous writes), then gathered
            float[] block = BLOCK.get();
            for (int j = 0; j < NR; j++) {
                MemorySegment.copy(b, BF16, ((long) (j0 + j) * ldb + pc) << 1, row, 0, kc);
                for (int p = 0; p < kc; p++) block[j * kc + p] = Float.intBitsToFloat(row[p] << 16);
            }
            gatherPanel(block, kc, dst, off);
        } else {
            // an edge panel: one contiguous source row per output column
            for (int j = 0; j < NR; j++) {
                if (j < nr) {
                    MemorySegment.copy(b, BF16, ((long) (j0 + j) * ldb + pc) << 1, row, 0, kc);
                    for (int p = 0; p < kc; p++) dst[off + p * NR + j] = Float.intBitsToFloat(row[p] << 16);
                } else {
                    for (int p = 0; p < kc; p++) dst[off + p * NR + j] = 0f;
                }
            }
        }
    }

    /** Packs alpha * op(A)[ic:ic+mc, pc:pc+kc] as MR-row panels: dst[panel*MR*kc + p*MR + r], zero-padded. */
    static void packA(boolean transA, MemorySegment a, int lda, int ic, int mc, int pc, int kc, float alpha, float[] dst) {
        if (transA) {
            // op(A)[i, p] = a[p * lda + i]: for each p the block's mc rows are one contiguous run,
            // read with vector loads and dealt out to the MR-row panels (per-element segment reads
            // made this the hottest Java method of a training step)
            float[] run = RUN.get();
            for (int p = 0; p < kc; p++) {
                SimdKernels.copyToArray(a, (long) (pc + p) * lda + ic, run, 0, mc);
                for (int ir = 0; ir < mc; ir += MR) {
                    int mr = Math.min(MR, mc - ir), d = ir * kc + p * MR;
                    for (int r = 0; r < mr; r++) dst[d + r] = alpha * run[ir + r];
                    for (int r = mr; r < MR; r++) dst[d + r] = 0f;
                }
            }
            return;
        }
        packRows(a, lda, ic, mc, pc, kc, alpha, MR, dst, 0);
    }

    /** alpha * A[ic:ic+mc, pc:pc+kc] (row-major) as panels of h rows: dst[panel*h*kc + p*h + r], zero-padded. */
    static void packRows(MemorySegment a, int lda, int ic, int mc, int pc, int kc, float alpha, int h, float[] dst, int dstOff) {
        float[] row = ROW.get();
        for (int ir = 0; ir < mc; ir += h) {
            int mr = Math.min(h, mc - ir);
            int base = dstOff + ir * kc; // == dstOff + (ir / h) * h * kc
            if (h == 8 && mr == 8 && L == 16) {
                packPanel8(a, (long) (ic + ir) * lda + pc, lda, kc, alpha, dst, base);
                continue;
            }
            for (int r = 0; r < h; r++) {
                if (r < mr) {
                    // the row read with vector loads, then a strided scatter from the array (no per-element segment checks)
                    SimdKernels.copyToArray(a, (long) (ic + ir + r) * lda + pc, row, 0, kc);
                    for (int p = 0; p < kc; p++) dst[base + p * h + r] = alpha * row[p];
                } else {
                    for (int p = 0; p < kc; p++) dst[base + p * h + r] = 0f;
                }
            }
        }
    }

    // Lane sources for the 8 x 16 -> 16 x 8 transpose in packPanel8: three rounds of two-vector
    // selects (index >= 16 picks from the second vector), each doubling the rows kept together.
    private static final FloatVector PAIR_LO = indexes(i -> (i & 1) * 16 + i / 2), PAIR_HI = indexes(i -> (i & 1) * 16 + 8 + i / 2);
    private static final FloatVector QUAD_LO = indexes(i -> quad(i, 0)), QUAD_HI = indexes(i -> quad(i, 4));
    private static final FloatVector OCT_LO = indexes(i -> oct(i, 0)), OCT_HI = indexes(i -> oct(i, 2));

    private static FloatVector indexes(java.util.function.IntUnaryOperator f) {
        float[] v = new float[L];
        for (int i = 0; i < L; i++) v[i] = f.applyAsInt(i);
        return FloatVector.fromArray(S, v, 0);
    }

    /** Lane i = 4q + r of a 4-row group (q-th column from column q0): rows 0-1 from the first pair vector, 2-3 from the second. */
    private static int quad(int i, int q0) {
        int q = q0 + i / 4, r = i % 4;
        return r < 2 ? 2 * q + r : 16 + 2 * q + r - 2;
    }

    /** Lane i = 8q + r of an 8-row group: rows 0-3 from the first quad vector, 4-7 from the second. */
    private static int oct(int i, int q0) {
        int q = q0 + i / 8, r = i % 8;
        return r < 4 ? 4 * q + r : 16 + 4 * q + r - 4;
    }

    /**
     * One full 8-row panel of A: dst[base + p * 8 + r] = alpha * A[row r, column p]. Sixteen
     * columns at a time are loaded as 8 row vectors and transposed with 24 two-vector selects
     * (vpermi2ps) instead of 128 scalar stores; the scalar scatter was ~6% of a batch-1 forward.
     */
    private static void packPanel8(MemorySegment a, long first, int lda, int kc, float alpha, float[] dst, int base) {
        int p = 0;
        for (; p <= kc - 16; p += 16) transpose8x16(a, first + p, lda, alpha, dst, base + p * 8);
        for (; p < kc; p++) {
            for (int r = 0; r < 8; r++) dst[base + p * 8 + r] = alpha * a.getAtIndex(F, first + (long) r * lda + p);
        }
    }

    /** The 8 rows x 16 columns from float index first (rows ld apart) as 16 columns of 8 at dst[o ..+128]. */
    static void transpose8x16(MemorySegment a, long first, long ld, float alpha, float[] dst, int o) {
        transpose8x16(row(a, first, alpha), row(a, first + ld, alpha), row(a, first + 2 * ld, alpha), row(a, first + 3 * ld, alpha),
                row(a, first + 4 * ld, alpha), row(a, first + 5 * ld, alpha), row(a, first + 6 * ld, alpha), row(a, first + 7 * ld, alpha), dst, o, false);
    }

    /** The same from an array: 8 rows x 16 columns from a[first ..] (rows ld apart) as 16 columns of 8 at dst[o ..+128]. */
    static void transpose8x16(float[] a, int first, int ld, float[] dst, int o) {
        transpose8x16(FloatVector.fromArray(S, a, first), FloatVector.fromArray(S, a, first + ld), FloatVector.fromArray(S, a, first + 2 * ld),
                FloatVector.fromArray(S, a, first + 3 * ld), FloatVector.fromArray(S, a, first + 4 * ld), FloatVector.fromArray(S, a, first + 5 * ld),
                FloatVector.fromArray(S, a, first + 6 * ld), FloatVector.fromArray(S, a, first + 7 * ld), dst, o, false);
    }

    /** Rows r0 .. r7 (16 columns each) as 16 columns of 8 at dst[o ..+128], written or (add) added to what is there. */
    private static void transpose8x16(FloatVector r0, FloatVector r1, FloatVector r2, FloatVector r3, FloatVector r4, FloatVector r5,
                                      FloatVector r6, FloatVector r7, float[] dst, int o, boolean add) {
        FloatVector p01l = PAIR_LO.selectFrom(r0, r1), p01h = PAIR_HI.selectFrom(r0, r1);
        FloatVector p23l = PAIR_LO.selectFrom(r2, r3), p23h = PAIR_HI.selectFrom(r2, r3);
        FloatVector p45l = PAIR_LO.selectFrom(r4, r5), p45h = PAIR_HI.selectFrom(r4, r5);
        FloatVector p67l = PAIR_LO.selectFrom(r6, r7), p67h = PAIR_HI.selectFrom(r6, r7);
        octets(QUAD_LO.selectFrom(p01l, p23l), QUAD_LO.selectFrom(p45l, p67l), dst, o, add);      // columns 0 .. 3
        octets(QUAD_HI.selectFrom(p01l, p23l), QUAD_HI.selectFrom(p45l, p67l), dst, o + 32, add); // 4 .. 7
        octets(QUAD_LO.selectFrom(p01h, p23h), QUAD_LO.selectFrom(p45h, p67h), dst, o + 64, add); // 8 .. 11
        octets(QUAD_HI.selectFrom(p01h, p23h), QUAD_HI.selectFrom(p45h, p67h), dst, o + 96, add); // 12 .. 15
    }

    private static FloatVector row(MemorySegment a, long start, float alpha) {
        FloatVector v = FloatVector.fromMemorySegment(S, a, start << 2, SimdKernels.NATIVE);
        return alpha == 1f ? v : v.mul(alpha);
    }

    /** Four columns of 8 rows (rows 0-3 in lo, 4-7 in hi, lane 4q + r) stored column-major as 32 floats. */
    private static void octets(FloatVector lo, FloatVector hi, float[] dst, int o, boolean add) {
        FloatVector a = OCT_LO.selectFrom(lo, hi), b = OCT_HI.selectFrom(lo, hi);
        if (add) {
            a = FloatVector.fromArray(S, dst, o).add(a);
            b = FloatVector.fromArray(S, dst, o + 16).add(b);
        }
        a.intoArray(dst, o);
        b.intoArray(dst, o + 16);
    }

    private static void macroKernel(float[] ap, float[] bp, int mc, int kc, int p0, int p1, int nc,
                                    int ic, int jc, MemorySegment c, int ldc, boolean first, float beta) {
        float[] tile = new float[MR * NR];
        for (int jp = p0; jp < p1; jp++) {
            int nr = Math.min(NR, nc - jp * NR);
            int bOff = jp * NR * kc;
            for (int ir = 0; ir < mc; ir += MR) {
                int mr = Math.min(MR, mc - ir);
                long cOff = (long) (ic + ir) * ldc + jc + jp * NR;
                if (L < 16) {
                    micro4x2(ap, ir * kc, 0, bp, bOff, kc, tile);
                    micro4x2(ap, ir * kc, 4, bp, bOff, kc, tile);
                } else {
                    micro6x2(ap, ir * kc, bp, bOff, kc, tile);
                }
                if (mr == MR && nr == NR) {
                    mergeFullTile(tile, MR, c, cOff, ldc, first, beta);
                } else {
                    mergeEdgeTile(tile, mr, nr, c, cOff, ldc, first, beta);
                }
            }
        }
    }

    /**
     * tile[6 x NR] = Ap[6 x kc] * Bp[kc x NR]. The tile goes to a small array and is merged into C
     * by separate methods: kept apart, this method stays small enough for C2 to inline every
     * vector op (past its node budget the accumulators get boxed inside the loop, 4x slower).
     */
    private static void micro6x2(float[] ap, int aOff, float[] bp, int bOff, int kc, float[] tile) {
        FloatVector c00 = FloatVector.zero(S), c01 = c00, c10 = c00, c11 = c00, c20 = c00, c21 = c00;
        FloatVector c30 = c00, c31 = c00, c40 = c00, c41 = c00, c50 = c00, c51 = c00;
        for (int p = 0; p < kc; p++) {
            FloatVector b0 = FloatVector.fromArray(S, bp, bOff);
            FloatVector b1 = FloatVector.fromArray(S, bp, bOff + L);
            FloatVector a;
            a = FloatVector.broadcast(S, ap[aOff]);
            c00 = b0.fma(a, c00);
            c01 = b1.fma(a, c01);
            a = FloatVector.broadcast(S, ap[aOff + 1]);
            c10 = b0.fma(a, c10);
            c11 = b1.fma(a, c11);
            a = FloatVector.broadcast(S, ap[aOff + 2]);
            c20 = b0.fma(a, c20);
            c21 = b1.fma(a, c21);
            a = FloatVector.broadcast(S, ap[aOff + 3]);
            c30 = b0.fma(a, c30);
            c31 = b1.fma(a, c31);
            a = FloatVector.broadcast(S, ap[aOff + 4]);
            c40 = b0.fma(a, c40);
            c41 = b1.fma(a, c41);
            a = FloatVector.broadcast(S, ap[aOff + 5]);
            c50 = b0.fma(a, c50);
            c51 = b1.fma(a, c51);
            aOff += MR;
            bOff += NR;
        }
        c00.intoArray(tile, 0);
        c01.intoArray(tile, L);
        c10.intoArray(tile, NR);
        c11.intoArray(tile, NR + L);
        c20.intoArray(tile, 2 * NR);
        c21.intoArray(tile, 2 * NR + L);
        c30.intoArray(tile, 3 * NR);
        c31.intoArray(tile, 3 * NR + L);
        c40.intoArray(tile, 4 * NR);
        c41.intoArray(tile, 4 * NR + L);
        c50.intoArray(tile, 5 * NR);
        c51.intoArray(tile, 5 * NR + L);
    }

    /** C[rows x NR] at cOff (full-width tiles): = tile (first K block, beta 0), = beta*C + tile (first block), += tile (later blocks). */
    private static void mergeFullTile(float[] tile, int rows, MemorySegment c, long cOff, int ldc, boolean first, float beta) {
        float scale = first ? beta : 1f;
        for (int r = 0; r < rows; r++) {
            for (int h = 0; h < NR; h += L) {
                long byteOff = (cOff + (long) r * ldc + h) << 2;
                FloatVector t = FloatVector.fromArray(S, tile, r * NR + h);
                if (scale != 0f) t = FloatVector.fromMemorySegment(S, c, byteOff, SimdKernels.NATIVE).mul(scale).add(t);
                t.intoMemorySegment(c, byteOff, SimdKernels.NATIVE);
            }
        }
    }

    private static void mergeEdgeTile(float[] tile, int mr, int nr, MemorySegment c, long cOff, int ldc, boolean first, float beta) {
        float scale = first ? beta : 1f;
        for (int r = 0; r < mr; r++) {
            for (int j = 0; j < nr; j++) {
                long ci = cOff + (long) r * ldc + j;
                float old = scale == 0f ? 0f : scale * c.getAtIndex(F, ci);
                c.setAtIndex(F, ci, old + tile[r * NR + j]);
            }
        }
    }
}
