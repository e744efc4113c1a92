package org.realmjava.tensor.simd;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;
import org.realmjava.tensor.parallel.Parallel;

/**
 * Fused multi-head attention on the CPU: inference ({@code Kernels.attention}), the training
 * forward that applies dropout and keeps two floats per query row, and the probabilities when asked
 * ({@code attentionTrainForward}), and its backward ({@code attentionBackward}), which reads those
 * probabilities or, without them, recomputes them from Q, K and the row stats: the [batch, heads,
 * len, len] tensor grows with len squared, recomputing took the B=32 L=128 backward from 17 to
 * ~31 ms per MiniLM layer (LinearAlgebra.KEEP_PROBS_BYTES chooses); references of the same names
 * in {@code ScalarKernels}.
 *
 * <p>Why fused: composed from ops, attention at BERT sizes is two batched GEMMs with a head dim of
 * 32 or 64 (too thin for a general GEMM: packing dominates), a [batch, heads, len, len] score
 * tensor written and read twice, and two head permute copies. Here one task owns one (batch, head):
 * <pre>
 * copy the Q, K, V rows of a group of the sequence's heads into scratch (one sweep over the rows, see pairs)
 * pack K^T and V of the head once, in panels W = 2 vectors wide (zero padded):
 *   kt[panel][d][W] (keys across), vp[panel][j][W] (head dims across)
 * for each block of 8 queries (packed transposed, qb[d][8]):
 *   S[8 x lenPad]  = Qblock K^T                       micro-tile 8 rows x W
 *   S = exp(scale*S + mask - rowmax), rowsum           (padding columns get -inf, so exp = 0)
 *   O[8 x hdPad]   = S V, times 1/rowsum, written straight into out's token-major rows
 * </pre>
 * Everything a task touches stays in L1/L2 (len 128, hd 64: K^T and V 32 KB each, S 4 KB).
 * Both products use an 8 x W register tile (16 accumulators, 2 vector loads and 8 broadcasts per
 * step) whose array strides are constants or per-row bases, so C2 removes the bounds checks from
 * the inner loop (with strides passed as variables it could not, and the kernel ran 3x slower).
 * Rows are moved with vector loads: per-element segment reads, and MemorySegment.copy's native call
 * per short row, made packing cost as much as the math. The backward reuses the two tiles (dO V^T
 * like the scores, dS K like the output) and accumulates dV and dK by rank-8 updates per block.
 */
final class SimdAttention {
    private static final VectorSpecies<Float> S = SimdSpecies.FLOAT;
    private static final int L = S.length();
    /** Query rows per block (the register tile's height). */
    static final int R = 8;
    /** Columns of the register tile: two vectors. */
    private static final int W = 2 * L;
    private static final ValueLayout.OfFloat F32 = ValueLayout.JAVA_FLOAT;

    /** Per-thread scratch, grown on demand: K^T, V, the query block, the score block, the mask row, the output tile. */
    private static final class Scratch {
        float[] kt = new float[0], vp = new float[0], qb = new float[0], s = new float[0], maskRow = new float[0], row = new float[0];
        /** The rows of a group of heads of one sequence (Q, K, V), [token][heads of the group * hd] (see pairs). */
        float[] gq = new float[0], gk = new float[0], gv = new float[0];
        final float[] tile = new float[R * W];
        final float[] inv = new float[R], max = new float[R], lanes = new float[R * L];
        /** The sequence whose mask row maskRow holds in the forward (-1: none yet in this chunk). */
        int maskOf = -1;

        // backward only: V^T panels, K panels, the dO block (transposed and as rows), the Q block as
        // rows, the dropped-out probabilities and dP/dS of the block, dK and dV accumulators
        float[] vt = new float[0], kp = new float[0], dob = new float[0], dor = new float[0], qr = new float[0];
        float[] pd = new float[0], dp = new float[0], dkAcc = new float[0], dvAcc = new float[0];

        void ensureBackward(int hd, int lenPad, int hdPad, int len) {
            ensure(hd, lenPad, hdPad, len);
            if (vt.length < hd * lenPad) vt = new float[hd * lenPad];
            if (kp.length < len * hdPad) kp = new float[len * hdPad];
            if (dob.length < hd * R) dob = new float[hd * R];
            if (dor.length < R * hdPad) dor = new float[R * hdPad];
            if (qr.length < R * hdPad) qr = new float[R * hdPad];
            if (pd.length < R * lenPad) pd = new float[R * lenPad];
            if (dp.length < R * lenPad) dp = new float[R * lenPad];
            if (dkAcc.length < len * hdPad) dkAcc = new float[len * hdPad];
            if (dvAcc.length < len * hdPad) dvAcc = new float[len * hdPad];
        }

        void ensureGroup(int n) {
            if (gq.length < n) {
                gq = new float[n];
                gk = new float[n];
                gv = new float[n];
            }
        }

        void ensure(int hd, int lenPad, int hdPad, int len) {
            if (kt.length < hd * lenPad) kt = new float[hd * lenPad];
            if (vp.length < len * hdPad) vp = new float[len * hdPad];
            if (qb.length < hd * R) qb = new float[hd * R];
            if (s.length < R * lenPad) s = new float[R * lenPad];
            if (maskRow.length < lenPad) maskRow = new float[lenPad];
            if (row.length < hd) row = new float[hd];
        }
    }

    private static final ThreadLocal<Scratch> SCRATCH = ThreadLocal.withInitial(Scratch::new);

    private SimdAttention() {
    }

    /**
     * What the training forward keeps: per query row its score maximum and 1/sum of exponentials
     * (stats [batch, heads, len, 2], from which the backward can recompute the probabilities), the
     * probabilities themselves when probs is not null, and the dropout applied to them.
     */
    record Train(MemorySegment stats, MemorySegment probs, long seed, int threshold, float keepScale) {}

    /** Inference (train == null) or the training forward, which also writes the row stats and drops some probabilities out. */
    static void forward(MemorySegment q, int ldq, MemorySegment k, int ldk, MemorySegment v, int ldv, MemorySegment mask,
                        MemorySegment out, int ldo, int batch, int len, int heads, int hd, float scale, Train train) {
        if (batch == 0 || len == 0 || heads == 0 || hd == 0) return;
        int lenPad = roundUp(len, W), hdPad = roundUp(hd, W);
        Parallel.forRange((long) batch * heads, 1, (s, e) -> {
            Scratch sc = SCRATCH.get();
            sc.ensure(hd, lenPad, hdPad, len);
            sc.maskOf = -1; // the mask row is packed once per sequence, for its heads of this chunk
            pairs(q, ldq, k, ldk, v, ldv, mask, out, ldo, null, null, len, s, e, heads, hd, hdPad, scale, train, sc);
        });
    }

    /**
     * Inference over unpadded sequences (Kernels.attentionVarlen): sequence s is the token rows
     * starts[s] .. starts[s] + lens[s] - 1 and attends to its own keys only. Its (sequence, head)
     * pairs run the same per-head code as {@link #forward} with len = lens[s], so a real row's
     * output has the bits it would have in a padded batch (padding keys only ever add exact zeros
     * there). The pairs are split between the threads by their cost (~len^2), not their count: a
     * batch of texts of very different lengths would otherwise leave one thread with most of the work.
     */
    static void forwardVarlen(MemorySegment q, int ldq, MemorySegment k, int ldk, MemorySegment v, int ldv, MemorySegment out, int ldo,
                              int[] starts, int[] lens, int heads, int hd, float scale) {
        int n = starts.length;
        if (lens.length != n) throw new IllegalArgumentException("attentionVarlen: " + n + " starts but " + lens.length + " lengths");
        if (n == 0 || heads == 0 || hd == 0) return;
        int maxLen = 0;
        long total = 0;
        long[] cost = new long[n * heads + 1]; // cumulative cost of the pairs before pair t
        for (int s = 0; s < n; s++) {
            if (lens[s] < 0 || starts[s] < 0) throw new IllegalArgumentException("attentionVarlen: sequence " + s + " starts at " + starts[s] + " with length " + lens[s]);
            maxLen = Math.max(maxLen, lens[s]);
            long c = (long) roundUp(lens[s], W) * Math.max(1, lens[s]) + 64; // scores + softmax + S V per head, plus a fixed part
            for (int h = 0; h < heads; h++) cost[s * heads + h + 1] = total += c;
        }
        if (maxLen == 0) return;
        int hdPad = roundUp(hd, W), maxPad = roundUp(maxLen, W), mLen = maxLen, pairs = n * heads;
        int chunks = (int) Math.min(Parallel.threads(), pairs);
        int[] split = new int[chunks + 1];
        for (int c = 1, t = 0; c <= chunks; c++) {
            long until = total * c / chunks;
            while (t < pairs && cost[t + 1] <= until) t++;
            split[c] = c == chunks ? pairs : t;
        }
        Parallel.forRange(chunks, 1, (c0, c1) -> {
            Scratch sc = SCRATCH.get();
            sc.ensure(hd, maxPad, hdPad, mLen);
            sc.maskOf = -1;
            for (long c = c0; c < c1; c++) pairs(q, ldq, k, ldk, v, ldv, null, out, ldo, starts, lens, 0, split[(int) c], split[(int) c + 1], heads, hd, hdPad, scale, null, sc);
        });
    }

    /**
     * The (sequence, head) pairs t0 .. t1 - 1 of one task (pair t: sequence t / heads, head t % heads;
     * sequence b is the rows starts[b] ..+lens[b], or with starts null b * len ..+len). A sequence's
     * heads go in groups whose Q, K and V rows are first copied into scratch in one sweep, then each
     * head packs from there. Why: a head's slice of a token row is 128 bytes of a 4.6 KB row, so
     * packing straight from the rows (K transposed by scalar stores between the loads) kept only a
     * few cache misses in flight; on 21-token WordNet glosses the loads of those rows were ~60% of
     * the attention's samples, and the copy loop, loads only, keeps many in flight.
     */
    private static void pairs(MemorySegment q, int ldq, MemorySegment k, int ldk, MemorySegment v, int ldv, MemorySegment mask,
                              MemorySegment out, int ldo, int[] starts, int[] lens, int len, long t0, long t1, int heads, int hd, int hdPad,
                              float scale, Train train, Scratch sc) {
        for (long t = t0; t < t1; ) {
            int b = (int) (t / heads), h0 = (int) (t % heads);
            int n = lens == null ? len : lens[b];
            long tok0 = starts == null ? (long) b * len : starts[b];
            int group = (int) Math.min(Math.min(heads - h0, t1 - t), Math.max(1, GROUP_BYTES / (3L * Math.max(1, n) * hd * Float.BYTES)));
            t += group;
            if (n == 0) continue;
            int span = group * hd, rowsPad = roundUp(n, R);
            sc.ensureGroup(rowsPad * span);
            long col0 = (long) h0 * hd;
            for (int j = 0; j < n; j++) {
                long row = tok0 + j;
                SimdKernels.copyToArray(q, row * ldq + col0, sc.gq, j * span, span);
                SimdKernels.copyToArray(k, row * ldk + col0, sc.gk, j * span, span);
                SimdKernels.copyToArray(v, row * ldv + col0, sc.gv, j * span, span);
            }
            // query rows past the end are zeros, so the last block of 8 is packed as a whole one too
            java.util.Arrays.fill(sc.gq, n * span, rowsPad * span, 0f);
            for (int g = 0; g < group; g++) head(span, g * hd, mask, out, ldo, b, tok0, h0 + g, heads, n, roundUp(n, W), hd, hdPad, scale, train, sc);
        }
    }

    /**
     * Bytes of Q, K and V rows a group copies (the heads of a sequence that fit; at least one head):
     * a quarter of this machine's 1 MB L2, so the group stays there while its heads run (21-token
     * sequences: 64 KB to 1 MB per group within 4% of each other, 16 KB, two heads, 7-10% slower).
     */
    private static final long GROUP_BYTES = 256 << 10;

    /** One head of one sequence, from the group rows in sc (the head's columns at hc of rows span floats long). */
    private static void head(int span, int hc, MemorySegment mask, MemorySegment out, int ldo, int b, long tok0, int h, int heads, int len,
                             int lenPad, int hd, int hdPad, float scale, Train train, Scratch sc) {
        int col = h * hd;
        float[] kt = sc.kt, vp = sc.vp, qb = sc.qb, sm = sc.s, maskRow = sc.maskRow, tile = sc.tile, inv = sc.inv;
        packTransposed(sc.gk, span, hc, len, lenPad, hd, kt);
        packPanels(sc.gv, span, hc, len, hd, hdPad, vp);
        if (sc.maskOf != b) {
            packMask(mask, tok0, len, lenPad, maskRow);
            sc.maskOf = b;
        }
        // the softmax runs over whole vectors up to len only: past them every key is padding (-inf,
        // exp 0), and S V reads keys below len; short rows (WordNet glosses: ~21 wordpieces, lenPad
        // 32) spent a quarter of the attention's time in exp
        int live = roundUp(len, L);
        for (int i0 = 0; i0 < len; i0 += R) {
            int rows = Math.min(R, len - i0);
            packBlockTransposed(sc.gq, span, i0 * span + hc, hd, qb);
            // S = Qblock K^T, one panel of W keys at a time, straight into the score rows
            for (int c = 0; c < lenPad; c += W) microQk(qb, kt, c * hd, hd, sm, c, lenPad);
            // softmax numerators in place for the block's real rows (the tile's other rows are
            // computed from stale scores and never stored); the 1/sum is applied to the output
            for (int r = 0; r < rows; r++) expRow(sm, r * lenPad, live, scale, maskRow, sc.max, r, sc.lanes);
            invertSums(sc.lanes, rows, inv);
            if (train != null) {
                // keep the row's stats for the backward, normalise as the backward will, then drop out
                for (int r = 0; r < rows; r++) {
                    long statRow = ((long) b * heads + h) * len + i0 + r;
                    train.stats().setAtIndex(F32, 2 * statRow, sc.max[r]);
                    train.stats().setAtIndex(F32, 2 * statRow + 1, inv[r]);
                    FloatVector invR = FloatVector.broadcast(S, inv[r]);
                    for (int j = 0; j < lenPad; j += L) FloatVector.fromArray(S, sm, r * lenPad + j).mul(invR).intoArray(sm, r * lenPad + j);
                    if (train.probs() != null) SimdKernels.copyFromArray(sm, r * lenPad, train.probs(), statRow * len, len);
                    SimdKernels.dropoutRow(sm, r * lenPad, len, train.seed(), statRow * len, train.threshold(), train.keepScale());
                    inv[r] = 1f;
                }
            }
            // O = S V, one panel of W head dims at a time
            for (int c = 0; c < hdPad; c += W) {
                microPv(sm, lenPad, vp, (c / W) * len * W, len, tile);
                int cols = Math.min(W, hd - c);
                for (int r = 0; r < rows; r++) {
                    long oi = (tok0 + i0 + r) * ldo + col + c;
                    FloatVector scaleR = FloatVector.broadcast(S, inv[r]);
                    if (cols == W) {
                        FloatVector.fromArray(S, tile, r * W).mul(scaleR).intoMemorySegment(out, oi << 2, SimdKernels.NATIVE);
                        FloatVector.fromArray(S, tile, r * W + L).mul(scaleR).intoMemorySegment(out, (oi + L) << 2, SimdKernels.NATIVE);
                    } else {
                        for (int d = 0; d < cols; d++) out.setAtIndex(F32, oi + d, tile[r * W + d] * inv[r]);
                    }
                }
            }
        }
    }

    /** The sequence's mask row, -inf past len (padded keys get probability 0); mask null: every key up to len is visible. */
    private static void packMask(MemorySegment mask, long tok0, int len, int lenPad, float[] maskRow) {
        if (mask == null) java.util.Arrays.fill(maskRow, 0, len, 0f);
        else SimdKernels.copyToArray(mask, tok0, maskRow, 0, len);
        for (int j = len; j < lenPad; j++) maskRow[j] = Float.NEGATIVE_INFINITY;
    }

    /** The head's rows of x, transposed into W-wide panels: dst[(j / W) * hd * W + d * W + j % W], zero padded. */
    private static void packTransposed(MemorySegment x, int ld, long tok0, int col, int len, int lenPad, int hd, float[] dst, float[] row) {
        java.util.Arrays.fill(dst, 0, hd * lenPad, 0f);
        for (int j = 0; j < len; j++) {
            SimdKernels.copyToArray(x, (tok0 + j) * ld + col, row, 0, hd);
            int off = (j / W) * hd * W + j % W;
            for (int d = 0; d < hd; d++) dst[off + d * W] = row[d];
        }
    }

    /** The head's rows of x (rows ld apart, the head at column col), transposed into W-wide panels as the segment version. */
    private static void packTransposed(float[] x, int ld, int col, int len, int lenPad, int hd, float[] dst) {
        java.util.Arrays.fill(dst, 0, hd * lenPad, 0f);
        for (int j = 0; j < len; j++) {
            int off = (j / W) * hd * W + j % W, src = j * ld + col;
            for (int d = 0; d < hd; d++) dst[off + d * W] = x[src + d];
        }
    }

    /** The head's rows of x (rows ld apart, the head at column col) in W-wide panels of head dims, as the segment version. */
    private static void packPanels(float[] x, int ld, int col, int len, int hd, int hdPad, float[] dst) {
        if (hd % W != 0) java.util.Arrays.fill(dst, 0, len * hdPad, 0f);
        for (int j = 0; j < len; j++) {
            int src = j * ld + col;
            for (int c = 0; c < hd; c += W) System.arraycopy(x, src + c, dst, (c / W) * len * W + j * W, Math.min(W, hd - c));
        }
    }

    /** The head's rows of x in W-wide panels of head dims: dst[(c / W) * len * W + j * W + (d - c)], zero padded. */
    private static void packPanels(MemorySegment x, int ld, long tok0, int col, int len, int hd, int hdPad, float[] dst) {
        if (hd % W != 0) java.util.Arrays.fill(dst, 0, len * hdPad, 0f);
        for (int j = 0; j < len; j++) {
            long src = (tok0 + j) * ld + col;
            for (int c = 0; c < hd; c += W) SimdKernels.copyToArray(x, src + c, dst, (c / W) * len * W + j * W, Math.min(W, hd - c));
        }
    }

    /** R rows of the head from token tok as dst[r * hdPad + d], zero padded (rows past the block's end too). */
    private static void packRows(MemorySegment x, int ld, long tok, int col, int rows, int hd, int hdPad, float[] dst) {
        java.util.Arrays.fill(dst, 0, R * hdPad, 0f);
        for (int r = 0; r < rows; r++) SimdKernels.copyToArray(x, (tok + r) * ld + col, dst, r * hdPad, hd);
    }

    /** The 8 query rows x[first ..] (ld apart; zeros past the sequence's end), transposed: qb[d * R + r]. */
    private static void packBlockTransposed(float[] x, int ld, int first, int hd, float[] qb) {
        int d = 0;
        if (L == 16) for (; d + 16 <= hd; d += 16) SimdGemm.transpose8x16(x, first + d, ld, qb, d * R);
        for (; d < hd; d++) {
            for (int r = 0; r < R; r++) qb[d * R + r] = x[first + r * ld + d];
        }
    }

    private static void packBlockTransposed(MemorySegment q, int ldq, long tok, int col, int rows, int hd, float[] qb, float[] row) {
        if (rows == R && L == 16 && hd % 16 == 0) {
            // a whole block: 16 head dims at a time through the GEMM's 8 x 16 register transpose (qb[d * 8 + r] is
            // its packed-A layout) instead of 8 * hd scalar stores, as many stores as a short block's scores had
            // FMAs (varlen attention, alternating in one JVM: 24-token sequences 1.09-1.23x, 288-token 1.08x)
            for (int d = 0; d < hd; d += 16) SimdGemm.transpose8x16(q, tok * ldq + col + d, ldq, 1f, qb, d * R);
            return;
        }
        for (int r = 0; r < R; r++) {
            if (r < rows) {
                SimdKernels.copyToArray(q, (tok + r) * ldq + col, row, 0, hd);
                for (int d = 0; d < hd; d++) qb[d * R + r] = row[d];
            } else {
                for (int d = 0; d < hd; d++) qb[d * R + r] = 0f;
            }
        }
    }

    /**
     * Backward of the training forward, per (batch, head), with P the probabilities (read, or
     * recomputed per block: S = Q K^T by the score tile, then exp with the forward's row stats), M the dropout mask
     * times keepScale and Pd = P * M:
     * <pre>
     * dPd = dO V^T;  dV = Pd^T dO;  dP = dPd * M;  dS = P * (dP - rowsum(dP * P)) * scale
     * dQ = dS K;     dK = dS^T Q
     * </pre>
     * Blocks of 8 queries as in the forward: dPd with the score tile (microQk), dQ with the output
     * tile (microPv), dV and dK accumulated per key by rank-8 updates; dq, dk, dv are overwritten.
     */
    static void backward(MemorySegment q, int ldq, MemorySegment k, int ldk, MemorySegment v, int ldv, MemorySegment mask, MemorySegment dOut, int ldd,
                         MemorySegment dq, MemorySegment dk, MemorySegment dv, int ldg, int batch, int len, int heads, int hd,
                         float scale, Train train) {
        if (batch == 0 || len == 0 || heads == 0 || hd == 0) return;
        int lenPad = roundUp(len, W), hdPad = roundUp(hd, W);
        Parallel.forRange((long) batch * heads, 1, (s, e) -> {
            Scratch sc = SCRATCH.get();
            sc.ensureBackward(hd, lenPad, hdPad, len);
            for (long t = s; t < e; t++) {
                int b = (int) (t / heads), h = (int) (t % heads);
                headBackward(q, ldq, k, ldk, v, ldv, mask, dOut, ldd, dq, dk, dv, ldg, b, h, heads, len, lenPad, hd, hdPad, scale, train, sc);
            }
        });
    }

    private static void headBackward(MemorySegment q, int ldq, MemorySegment k, int ldk, MemorySegment v, int ldv, MemorySegment mask, MemorySegment dOut, int ldd,
                                     MemorySegment dq, MemorySegment dk, MemorySegment dv, int ldg, int b, int h, int heads, int len,
                                     int lenPad, int hd, int hdPad, float scale, Train train, Scratch sc) {
        long tok0 = (long) b * len;
        int col = h * hd;
        float[] pd = sc.pd, dp = sc.dp, tile = sc.tile;
        packTransposed(v, ldv, tok0, col, len, lenPad, hd, sc.vt, sc.row);
        packPanels(k, ldk, tok0, col, len, hd, hdPad, sc.kp);
        boolean recompute = train.probs() == null;
        if (recompute) {
            // K^T and the mask row as in the forward, to recompute the scores
            packTransposed(k, ldk, tok0, col, len, lenPad, hd, sc.kt, sc.row);
            packMask(mask, tok0, len, lenPad, sc.maskRow);
        }
        java.util.Arrays.fill(sc.dkAcc, 0, len * hdPad, 0f);
        java.util.Arrays.fill(sc.dvAcc, 0, len * hdPad, 0f);
        for (int i0 = 0; i0 < len; i0 += R) {
            int rows = Math.min(R, len - i0);
            packBlockTransposed(dOut, ldd, tok0 + i0, col, rows, hd, sc.dob, sc.row);
            packRows(dOut, ldd, tok0 + i0, col, rows, hd, hdPad, sc.dor);
            packRows(q, ldq, tok0 + i0, col, rows, hd, hdPad, sc.qr);
            // dPd = dO V^T (and, without kept probabilities, the scores S = Q K^T again, into pd)
            for (int c = 0; c < lenPad; c += W) microQk(sc.dob, sc.vt, c * hd, hd, dp, c, lenPad);
            if (recompute) {
                packBlockTransposed(q, ldq, tok0 + i0, col, rows, hd, sc.qb, sc.row);
                for (int c = 0; c < lenPad; c += W) microQk(sc.qb, sc.kt, c * hd, hd, pd, c, lenPad);
            }
            for (int r = 0; r < R; r++) {
                int off = r * lenPad;
                if (r >= rows) {
                    java.util.Arrays.fill(pd, off, off + lenPad, 0f);
                    java.util.Arrays.fill(dp, off, off + lenPad, 0f);
                    continue;
                }
                long row = ((long) b * heads + h) * len + i0 + r, row0 = row * len;
                if (recompute) {
                    // P from the scores and the forward's row stats (the forward's arithmetic; 0 past len)
                    probabilities(pd, off, lenPad, scale, sc.maskRow, train.stats().getAtIndex(F32, 2 * row), train.stats().getAtIndex(F32, 2 * row + 1));
                } else {
                    java.util.Arrays.fill(pd, off + len, off + lenPad, 0f);
                    SimdKernels.copyToArray(train.probs(), row0, pd, off, len);
                }
                // dP = dPd * M (the probabilities stay in pd until dS is made)
                SimdKernels.dropoutRow(dp, off, len, train.seed(), row0, train.threshold(), train.keepScale());
                dsRow(pd, dp, off, lenPad, scale);
                // pd = P * M for the dV update
                SimdKernels.dropoutRow(pd, off, len, train.seed(), row0, train.threshold(), train.keepScale());
            }
            // dQ = dS K, straight into dq's rows
            for (int c = 0; c < hdPad; c += W) {
                microPv(dp, lenPad, sc.kp, (c / W) * len * W, len, tile);
                int cols = Math.min(W, hd - c);
                for (int r = 0; r < rows; r++) {
                    long gi = (tok0 + i0 + r) * ldg + col + c;
                    if (cols == W) {
                        FloatVector.fromArray(S, tile, r * W).intoMemorySegment(dq, gi << 2, SimdKernels.NATIVE);
                        FloatVector.fromArray(S, tile, r * W + L).intoMemorySegment(dq, (gi + L) << 2, SimdKernels.NATIVE);
                    } else {
                        for (int d = 0; d < cols; d++) dq.setAtIndex(F32, gi + d, tile[r * W + d]);
                    }
                }
            }
            accumulateOuter(pd, lenPad, sc.dor, hdPad, len, sc.dvAcc);
            accumulateOuter(dp, lenPad, sc.qr, hdPad, len, sc.dkAcc);
        }
        for (int j = 0; j < len; j++) {
            long gj = (tok0 + j) * ldg + col;
            SimdKernels.copyFromArray(sc.dkAcc, j * hdPad, dk, gj, hd);
            SimdKernels.copyFromArray(sc.dvAcc, j * hdPad, dv, gj, hd);
        }
    }

    /** dp[off + j] = p * (dp - sum_j dp * p) * scale over the row (p in pd; both zero past len). */
    private static void dsRow(float[] pd, float[] dp, int off, int n, float scale) {
        FloatVector acc = FloatVector.zero(S);
        for (int j = 0; j < n; j += L) acc = FloatVector.fromArray(S, dp, off + j).fma(FloatVector.fromArray(S, pd, off + j), acc);
        float dot = SimdMath.sum(acc);
        for (int j = 0; j < n; j += L) {
            FloatVector pv = FloatVector.fromArray(S, pd, off + j);
            FloatVector.fromArray(S, dp, off + j).sub(dot).mul(pv).mul(scale).intoArray(dp, off + j);
        }
    }

    /**
     * acc[j * hdPad ..+hdPad] += sum over r < R of a[r * aRow + j] * rows[r * hdPad ..+hdPad] for j < len:
     * the rank-8 update of dV (a = Pd) or dK (a = dS) by one query block. The block's rows stay in
     * registers for a W-wide slice while every key is visited.
     */
    private static void accumulateOuter(float[] a, int aRow, float[] rows, int hdPad, int len, float[] acc) {
        for (int c = 0; c < hdPad; c += L) {
            FloatVector r0 = FloatVector.fromArray(S, rows, c), r1 = FloatVector.fromArray(S, rows, hdPad + c);
            FloatVector r2 = FloatVector.fromArray(S, rows, 2 * hdPad + c), r3 = FloatVector.fromArray(S, rows, 3 * hdPad + c);
            FloatVector r4 = FloatVector.fromArray(S, rows, 4 * hdPad + c), r5 = FloatVector.fromArray(S, rows, 5 * hdPad + c);
            FloatVector r6 = FloatVector.fromArray(S, rows, 6 * hdPad + c), r7 = FloatVector.fromArray(S, rows, 7 * hdPad + c);
            int a1 = aRow, a2 = 2 * aRow, a3 = 3 * aRow, a4 = 4 * aRow, a5 = 5 * aRow, a6 = 6 * aRow, a7 = 7 * aRow;
            for (int j = 0; j < len; j++) {
                int ai = j * hdPad + c;
                FloatVector x = FloatVector.fromArray(S, acc, ai);
                x = r0.fma(FloatVector.broadcast(S, a[j]), x);
                x = r1.fma(FloatVector.broadcast(S, a[a1 + j]), x);
                x = r2.fma(FloatVector.broadcast(S, a[a2 + j]), x);
                x = r3.fma(FloatVector.broadcast(S, a[a3 + j]), x);
                x = r4.fma(FloatVector.broadcast(S, a[a4 + j]), x);
                x = r5.fma(FloatVector.broadcast(S, a[a5 + j]), x);
                x = r6.fma(FloatVector.broadcast(S, a[a6 + j]), x);
                x = r7.fma(FloatVector.broadcast(S, a[a7 + j]), x);
                x.intoArray(acc, ai);
            }
        }
    }

    /**
     * Scores for one key panel: s[r * sRow + sCol ..+W] = sum over d < hd of qb[d * R + r] * kt[kOff + d * W ..+W].
     * Constant strides in the loop (R, W): C2 hoists the bounds checks. Kept small so the 16
     * accumulators stay in registers.
     */
    private static void microQk(float[] qb, float[] kt, int kOff, int hd, float[] s, int sCol, int sRow) {
        FloatVector c00 = FloatVector.zero(S), c01 = c00, c10 = c00, c11 = c00, c20 = c00, c21 = c00, c30 = c00, c31 = c00;
        FloatVector c40 = c00, c41 = c00, c50 = c00, c51 = c00, c60 = c00, c61 = c00, c70 = c00, c71 = c00;
        for (int d = 0; d < hd; d++) {
            int bi = kOff + d * W, ai = d * R;
            FloatVector b0 = FloatVector.fromArray(S, kt, bi);
            FloatVector b1 = FloatVector.fromArray(S, kt, bi + L);
            FloatVector x = FloatVector.broadcast(S, qb[ai]);
            c00 = b0.fma(x, c00);
            c01 = b1.fma(x, c01);
            x = FloatVector.broadcast(S, qb[ai + 1]);
            c10 = b0.fma(x, c10);
            c11 = b1.fma(x, c11);
            x = FloatVector.broadcast(S, qb[ai + 2]);
            c20 = b0.fma(x, c20);
            c21 = b1.fma(x, c21);
            x = FloatVector.broadcast(S, qb[ai + 3]);
            c30 = b0.fma(x, c30);
            c31 = b1.fma(x, c31);
            x = FloatVector.broadcast(S, qb[ai + 4]);
            c40 = b0.fma(x, c40);
            c41 = b1.fma(x, c41);
            x = FloatVector.broadcast(S, qb[ai + 5]);
            c50 = b0.fma(x, c50);
            c51 = b1.fma(x, c51);
            x = FloatVector.broadcast(S, qb[ai + 6]);
            c60 = b0.fma(x, c60);
            c61 = b1.fma(x, c61);
            x = FloatVector.broadcast(S, qb[ai + 7]);
            c70 = b0.fma(x, c70);
            c71 = b1.fma(x, c71);
        }
        c00.intoArray(s, sCol);
        c01.intoArray(s, sCol + L);
        c10.intoArray(s, sRow + sCol);
        c11.intoArray(s, sRow + sCol + L);
        c20.intoArray(s, 2 * sRow + sCol);
        c21.intoArray(s, 2 * sRow + sCol + L);
        c30.intoArray(s, 3 * sRow + sCol);
        c31.intoArray(s, 3 * sRow + sCol + L);
        c40.intoArray(s, 4 * sRow + sCol);
        c41.intoArray(s, 4 * sRow + sCol + L);
        c50.intoArray(s, 5 * sRow + sCol);
        c51.intoArray(s, 5 * sRow + sCol + L);
        c60.intoArray(s, 6 * sRow + sCol);
        c61.intoArray(s, 6 * sRow + sCol + L);
        c70.intoArray(s, 7 * sRow + sCol);
        c71.intoArray(s, 7 * sRow + sCol + L);
    }

    /**
     * One output panel: tile[r * W ..+W] = sum over j < len of p[r * pRow + j] * vp[vOff + j * W ..+W].
     * The eight probability rows are read through their own base offsets, so every index is the loop
     * variable plus an invariant (bounds checks hoisted).
     */
    private static void microPv(float[] p, int pRow, float[] vp, int vOff, int len, float[] tile) {
        FloatVector c00 = FloatVector.zero(S), c01 = c00, c10 = c00, c11 = c00, c20 = c00, c21 = c00, c30 = c00, c31 = c00;
        FloatVector c40 = c00, c41 = c00, c50 = c00, c51 = c00, c60 = c00, c61 = c00, c70 = c00, c71 = c00;
        int p1 = pRow, p2 = 2 * pRow, p3 = 3 * pRow, p4 = 4 * pRow, p5 = 5 * pRow, p6 = 6 * pRow, p7 = 7 * pRow;
        for (int j = 0; j < len; j++) {
            int bi = vOff + j * W;
            FloatVector b0 = FloatVector.fromArray(S, vp, bi);
            FloatVector b1 = FloatVector.fromArray(S, vp, bi + L);
            FloatVector x = FloatVector.broadcast(S, p[j]);
            c00 = b0.fma(x, c00);
            c01 = b1.fma(x, c01);
            x = FloatVector.broadcast(S, p[p1 + j]);
            c10 = b0.fma(x, c10);
            c11 = b1.fma(x, c11);
            x = FloatVector.broadcast(S, p[p2 + j]);
            c20 = b0.fma(x, c20);
            c21 = b1.fma(x, c21);
            x = FloatVector.broadcast(S, p[p3 + j]);
            c30 = b0.fma(x, c30);
            c31 = b1.fma(x, c31);
            x = FloatVector.broadcast(S, p[p4 + j]);
            c40 = b0.fma(x, c40);
            c41 = b1.fma(x, c41);
            x = FloatVector.broadcast(S, p[p5 + j]);
            c50 = b0.fma(x, c50);
            c51 = b1.fma(x, c51);
            x = FloatVector.broadcast(S, p[p6 + j]);
            c60 = b0.fma(x, c60);
            c61 = b1.fma(x, c61);
            x = FloatVector.broadcast(S, p[p7 + j]);
            c70 = b0.fma(x, c70);
            c71 = b1.fma(x, c71);
        }
        c00.intoArray(tile, 0);
        c01.intoArray(tile, L);
        c10.intoArray(tile, W);
        c11.intoArray(tile, W + L);
        c20.intoArray(tile, 2 * W);
        c21.intoArray(tile, 2 * W + L);
        c30.intoArray(tile, 3 * W);
        c31.intoArray(tile, 3 * W + L);
        c40.intoArray(tile, 4 * W);
        c41.intoArray(tile, 4 * W + L);
        c50.intoArray(tile, 5 * W);
        c51.intoArray(tile, 5 * W + L);
        c60.intoArray(tile, 6 * W);
        c61.intoArray(tile, 6 * W + L);
        c70.intoArray(tile, 7 * W);
        c71.intoArray(tile, 7 * W + L);
    }

    /** s[off ..+n] = exp(s * scale + mask - max) * inv: the probabilities of a score row, as expRow and the forward make them. */
    private static void probabilities(float[] s, int off, int n, float scale, float[] mask, float max, float inv) {
        for (int j = 0; j < n; j += L) {
            FloatVector z = FloatVector.fromArray(S, s, off + j).mul(scale).add(FloatVector.fromArray(S, mask, j));
            SimdMath.exp(z.sub(max)).mul(inv).intoArray(s, off + j);
        }
    }

    /**
     * s[off ..+n] = exp(z - m) with z = s * scale + mask and m the row's maximum (written to
     * maxOut[r]); the exponentials summed lane by lane into sums[r * L ..+L].
     */
    private static void expRow(float[] s, int off, int n, float scale, float[] mask, float[] maxOut, int r, float[] sums) {
        FloatVector mx = FloatVector.broadcast(S, Float.NEGATIVE_INFINITY);
        for (int j = 0; j < n; j += L) {
            FloatVector z = FloatVector.fromArray(S, s, off + j).mul(scale).add(FloatVector.fromArray(S, mask, j));
            z.intoArray(s, off + j);
            mx = mx.max(z);
        }
        float m = mx.reduceLanes(VectorOperators.MAX);
        maxOut[r] = m;
        FloatVector sum = FloatVector.zero(S);
        for (int j = 0; j < n; j += L) {
            FloatVector e = SimdMath.exp(FloatVector.fromArray(S, s, off + j).sub(m));
            e.intoArray(s, off + j);
            sum = sum.add(e);
        }
        sum.intoArray(sums, r * L);
    }

    /**
     * inv[r] = 1 / (the sum of sums[r * L ..+L]) for the block's rows, the lanes added in
     * SimdMath.sum's order. A call per block, not per row: the per-row call taking the vector was
     * not inlined into head and boxed it, and per row cost ~8% of short sequences' attention.
     */
    private static void invertSums(float[] a, int rows, float[] inv) {
        for (int r = 0; r < rows; r++) {
            int o = r * L;
            if (L == 16) {
                // straight-line, the adds of one step independent (a loop over the steps: ~6% of short sequences' attention)
                float s0 = a[o] + a[o + 8], s1 = a[o + 1] + a[o + 9], s2 = a[o + 2] + a[o + 10], s3 = a[o + 3] + a[o + 11];
                float s4 = a[o + 4] + a[o + 12], s5 = a[o + 5] + a[o + 13], s6 = a[o + 6] + a[o + 14], s7 = a[o + 7] + a[o + 15];
                inv[r] = 1f / (((s0 + s4) + (s2 + s6)) + ((s1 + s5) + (s3 + s7)));
                continue;
            }
            for (int step = L / 2; step >= 1; step /= 2) {
                for (int i = 0; i < step; i++) a[o + i] += a[o + i + step];
            }
            inv[r] = 1f / a[o];
        }
    }

    private static int roundUp(int x, int m) {
        return (x + m - 1) / m * m;
    }
}
