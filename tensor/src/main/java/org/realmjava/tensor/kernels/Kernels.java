package org.realmjava.tensor.kernels;

import java.lang.foreign.MemorySegment;

/**
 * The op registry: one method per kernel, forward and backward separate.
 *
 * <p>All buffers are contiguous f32 unless stated; the tensor layer makes views contiguous
 * before calling. "{@code =}" overwrites the output, "{@code +=}" accumulates into it (every
 * backward kernel accumulates into its gradient buffers). Lengths are element counts.
 * {@link ScalarKernels} is the reference every other implementation is tested against.
 */
public interface Kernels {

    /** Short name for logs and test messages. */
    String name();

    // ---------------------------------------------------------------- element-wise

    /** y[i] = f(x[i]) for i in [0, n). y may alias x. */
    void unary(UnaryOp op, MemorySegment x, MemorySegment y, long n);

    /** dx[i] += dy[i] * f'(x[i]) where y = f(x) is given too (some derivatives read y). */
    void unaryBackward(UnaryOp op, MemorySegment x, MemorySegment y, MemorySegment dy, MemorySegment dx, long n);

    /** c[i] = a[i] op b[i]. c may alias a or b. */
    void binary(BinaryOp op, MemorySegment a, MemorySegment b, MemorySegment c, long n);

    /** c[r, j] = a[r, j] op b[j]: a is [rows, cols], b is one row of cols (a bias, a scale). */
    void binaryRow(BinaryOp op, MemorySegment a, MemorySegment b, MemorySegment c, long rows, long cols);

    /**
     * y[r, j] = f(x[r, j] + bias[j]) over [rows, cols]: a Linear layer's bias and activation in one
     * pass over its output. y may alias x.
     */
    void biasUnaryRows(UnaryOp op, MemorySegment x, MemorySegment bias, MemorySegment y, long rows, long cols);

    /**
     * Inverted dropout with a counter-based mask: y[i] = x[i] * scale where
     * {@link ScalarKernels#dropoutBits}(seed, i) >= threshold (unsigned), else 0. The drop probability
     * is threshold / 2^32. The mask depends only on (seed, i): the same for every thread count and
     * vector width, and the backward regenerates it instead of storing it.
     */
    void dropout(MemorySegment x, MemorySegment y, long n, long seed, int threshold, float scale);

    /** y[i] = s * x[i]. */
    void scale(MemorySegment x, float s, MemorySegment y, long n);

    /** Whether every x[i], i < n, is finite (no NaN, no infinity): the guard on weights and optimizer state. */
    boolean allFinite(MemorySegment x, long n);

    /** y[i] += alpha * x[i]. */
    void axpy(float alpha, MemorySegment x, MemorySegment y, long n);

    // ---------------------------------------------------------------- reductions

    /** y[o, i] = sum_a x[o, a, i], x viewed as [outer, len, inner]. */
    void sumAxis(MemorySegment x, MemorySegment y, long outer, long len, long inner);

    /** y[o, i] = max_a x[o, a, i]; arg[o, i] (i32) = the first a reaching it. */
    void maxAxis(MemorySegment x, MemorySegment y, MemorySegment arg, long outer, long len, long inner);

    // ---------------------------------------------------------------- row-wise (last axis)

    /** y[r, :] = exp(x[r, :] - max) / sum exp(x[r, :] - max). */
    void softmaxRows(MemorySegment x, MemorySegment y, long rows, long cols);

    /**
     * Attention probabilities in one pass: y[r, :] = softmax(scale * x[r, :] + mask[r / rowsPerMask, :]).
     * mask is [rows / rowsPerMask, cols] (0 for visible keys, a large negative for padding).
     */
    void scaledMaskedSoftmaxRows(MemorySegment x, float scale, MemorySegment mask, long rowsPerMask, MemorySegment y, long rows, long cols);

    /** dx[r, j] += y[r, j] * (dy[r, j] - sum_c dy[r, c] y[r, c]). */
    void softmaxRowsBackward(MemorySegment y, MemorySegment dy, MemorySegment dx, long rows, long cols);

    /** y[r, :] = x[r, :] - logsumexp(x[r, :]). */
    void logSoftmaxRows(MemorySegment x, MemorySegment y, long rows, long cols);

    /** dx[r, j] += dy[r, j] - exp(y[r, j]) * sum_c dy[r, c]. */
    void logSoftmaxRowsBackward(MemorySegment y, MemorySegment dy, MemorySegment dx, long rows, long cols);

    /** y[r] = log sum_j exp(x[r, j]), computed stably (max subtracted first). */
    void logSumExpRows(MemorySegment x, MemorySegment y, long rows, long cols);

    /**
     * y[r, :] = (x[r, :] - mean_r) * rstd_r * gamma + beta, rstd_r = 1 / sqrt(var_r + eps)
     * (biased variance). mean and rstd ([rows]) are written for the backward.
     */
    void layerNormRows(MemorySegment x, MemorySegment gamma, MemorySegment beta, MemorySegment y,
                       MemorySegment mean, MemorySegment rstd, long rows, long cols, float eps);

    /**
     * y[r, :] = LayerNorm(x[r, :] + bias + residual[r, :]) with gamma, beta and eps as in
     * {@link #layerNormRows} (inference: a Linear's bias, the residual add and the post-LN of a
     * BERT sublayer in one pass). y may be x.
     */
    void biasResidualLayerNormRows(MemorySegment x, MemorySegment bias, MemorySegment residual, MemorySegment gamma, MemorySegment beta,
                                   MemorySegment y, long rows, long cols, float eps);

    /**
     * With xhat = (x - mean) * rstd and g = dy * gamma:
     * dx += rstd * (g - mean_j(g) - xhat * mean_j(g * xhat)); dgamma += sum_r dy * xhat; dbeta += sum_r dy.
     */
    void layerNormRowsBackward(MemorySegment x, MemorySegment gamma, MemorySegment mean, MemorySegment rstd,
                               MemorySegment dy, MemorySegment dx, MemorySegment dgamma, MemorySegment dbeta,
                               long rows, long cols);

    // ---------------------------------------------------------------- attention

    /**
     * Multi-head attention forward in one pass, for inference (the probabilities are not kept).
     * For batch b, head h and query i:
     * <pre>
     * out[b, i, h*hd .. h*hd+hd) = sum_j p_ij v[b, j, h*hd ..),
     * p_ij = softmax_j(scale * (q[b, i, h*hd ..) . k[b, j, h*hd ..)) + mask[b, j])
     * </pre>
     * q, k, v and out are [batch, len, ld] with ld = ldq, ldk, ldv, ldo floats per token and head h
     * in columns h*hd .. h*hd+hd-1: the layout of a Linear's output (k and v may be column slices of
     * one fused QKV buffer), so no head permutes are needed. mask is [batch, len] (0 visible, a large
     * negative for padding keys).
     */
    void attention(MemorySegment q, int ldq, MemorySegment k, int ldk, MemorySegment v, int ldv, MemorySegment mask,
                   MemorySegment out, int ldo, int batch, int len, int heads, int headDim, float scale);

    /**
     * {@link #attention} over sequences packed one after another without padding: sequence s is the
     * token rows starts[s] .. starts[s] + lens[s] - 1 of q, k, v and out (token-major, head columns
     * as in attention), and its queries attend to its own keys only (no mask). Every row of out
     * that belongs to a sequence is overwritten. For inference: a batch of texts of different
     * lengths costs its real tokens only, in the attention and in every row-wise GEMM around it.
     * This default runs {@link #attention} per sequence (batch 1, a zero mask) on slices.
     */
    default void attentionVarlen(MemorySegment q, int ldq, MemorySegment k, int ldk, MemorySegment v, int ldv, MemorySegment out, int ldo,
                                 int[] starts, int[] lens, int heads, int headDim, float scale) {
        int maxLen = 0;
        for (int len : lens) maxLen = Math.max(maxLen, len);
        MemorySegment zeros = java.lang.foreign.Arena.ofAuto().allocate(4L * Math.max(1, maxLen), 64); // the mask: every key visible
        for (int s = 0; s < starts.length; s++) {
            int len = lens[s];
            if (len == 0) continue;
            // each buffer from the sequence's first token on (the kernel reads rows 0 .. len - 1 of the slice)
            attention(q.asSlice(4L * starts[s] * ldq), ldq, k.asSlice(4L * starts[s] * ldk), ldk, v.asSlice(4L * starts[s] * ldv), ldv, zeros,
                    out.asSlice(4L * starts[s] * ldo), ldo, 1, len, heads, headDim, scale);
        }
    }

    /**
     * {@link #attention} for training: multiplies each probability p_ij by its dropout mask,
     * {@link ScalarKernels#dropoutBits}(seed, ((b * heads + h) * len + i) * len + j) >= threshold
     * (unsigned) ? keepScale : 0, before the product with v, and writes per query row r =
     * (b * heads + h) * len + i the two floats from which the backward can recompute the
     * probabilities: stats[2 r] = m_r, the maximum over j of z_ij = scale * q_i . k_j + mask[b, j],
     * and stats[2 r + 1] = 1 / sum_j exp(z_ij - m_r). probs, when not null, also receives the
     * probabilities before dropout ([batch, heads, len, len], element r * len + j), for a backward
     * that reads them instead. threshold 0 and keepScale 1 mean no dropout.
     */
    void attentionTrainForward(MemorySegment q, int ldq, MemorySegment k, int ldk, MemorySegment v, int ldv, MemorySegment mask,
                               MemorySegment out, int ldo, MemorySegment stats, MemorySegment probs, int batch, int len, int heads,
                               int headDim, float scale, long seed, int threshold, float keepScale);

    /**
     * Gradients of {@link #attentionTrainForward} given dOut (token-major like out, ldd floats per token),
     * the same q, k and mask, and what it wrote: the probabilities p_ij are read from probs when it
     * is not null, else recomputed as exp(z_ij - m_i) * stats[2 i + 1]. With M the dropout mask times keepScale,
     * <pre>
     * dv = (p M)^T dOut,  dS = p * (dP - rowsum(dP * p)) * scale with dP = (dOut v^T) M,  dq = dS k,  dk = dS^T q
     * </pre>
     * dq, dk, dv (token-major, ldg floats per token, head columns as in q) are overwritten.
     */
    void attentionBackward(MemorySegment q, int ldq, MemorySegment k, int ldk, MemorySegment v, int ldv, MemorySegment mask,
                           MemorySegment stats, MemorySegment probs, MemorySegment dOut, int ldd, MemorySegment dq, MemorySegment dk,
                           MemorySegment dv, int ldg, int batch, int len, int heads, int headDim, float scale, long seed, int threshold,
                           float keepScale);

    // ---------------------------------------------------------------- GEMM

    /**
     * Row-major C = alpha * op(A) op(B) + beta * C, op(A) is [m, k], op(B) is [k, n], C is [m, n].
     * With transA, A is stored [k, m] with leading dimension lda (likewise B). beta = 0 ignores C's
     * old contents (even NaN).
     */
    void gemm(boolean transA, boolean transB, int m, int n, int k, float alpha,
              MemorySegment a, int lda, MemorySegment b, int ldb, float beta, MemorySegment c, int ldc);

    /**
     * {@link #gemm} with B stored as bf16 (weights kept in bf16 for inference): B's elements are
     * widened to f32 exactly (bf16 is the top half of an f32) and the products accumulate in f32.
     * ldb counts bf16 elements.
     */
    void gemmBf16B(boolean transA, boolean transB, int m, int n, int k, float alpha,
                   MemorySegment a, int lda, MemorySegment b, int ldb, float beta, MemorySegment c, int ldc);

    /**
     * A weight W, stored [n, k] row-major with leading dimension ldw, packed once for repeated
     * products x W^T ({@link #gemmPackedWeight}); null where this backend keeps no packed form
     * (callers then use {@link #gemm}). The packed form is a copy: it does not follow later
     * writes to W.
     */
    default Object packWeight(MemorySegment w, int ldw, int n, int k) {
        return null;
    }

    /**
     * {@link #packWeight} for a weight stored in bf16: the packed form stays 16-bit (the point of
     * bf16 weights is their memory) and is widened exactly inside the product, so products equal
     * those of {@link #gemmBf16B}. Null where this backend keeps no such form.
     */
    default Object packWeightBf16(MemorySegment w, int ldw, int n, int k) {
        return null;
    }

    /** C[m, n] = A[m, k] W^T (A row-major, lda; C overwritten, ldc) with W from {@link #packWeight} or {@link #packWeightBf16}. */
    default void gemmPackedWeight(int m, int n, int k, MemorySegment a, int lda, Object packedW, MemorySegment c, int ldc) {
        throw new UnsupportedOperationException(getClass().getSimpleName() + " has no packed weights");
    }

    /**
     * act(A W^T + bias) into C (act null: A W^T + bias), bias [n]: a Linear layer's product with its
     * bias and activation. Equal, bit for bit, to {@link #gemmPackedWeight} followed by
     * {@link #binaryRow} ADD or {@link #biasUnaryRows} over each row, which is what this default
     * does; a backend may fuse the row pass into the product (the CPU one applies it to each block
     * of columns as soon as the block is done, while it is still in cache).
     */
    default void gemmPackedWeightBias(int m, int n, int k, MemorySegment a, int lda, Object packedW, MemorySegment bias, UnaryOp act,
                                      MemorySegment c, int ldc) {
        gemmPackedWeight(m, n, k, a, lda, packedW, c, ldc);
        for (int r = 0; r < m; r++) {
            MemorySegment row = c.asSlice((long) r * ldc * Float.BYTES, (long) n * Float.BYTES);
            if (act == null) binaryRow(BinaryOp.ADD, row, bias, row, 1, n);
            else biasUnaryRows(act, row, bias, row, 1, n);
        }
    }

    /**
     * act(x Wi^T + bi) Wo^T into out [m, h] (ldo): a feed-forward sublayer's two products with the
     * first one's bias and activation between them (the second bias, the residual and the LayerNorm
     * follow, by {@link #biasResidualLayerNormRows}); Wi [inter, h] and Wo [h, inter] packed by
     * {@link #packWeight} or {@link #packWeightBf16}. The bits of {@link #gemmPackedWeightBias} into
     * an [m, inter] temporary then {@link #gemmPackedWeight}, which is this default; a backend may
     * keep the intermediate in a layout of its own (the CPU one writes it as the second product's
     * packed A, which that product then reads without packing).
     */
    default void feedForward(int m, int h, int inter, MemorySegment x, int ldx, Object packedWi, MemorySegment bi, UnaryOp act, Object packedWo,
                             MemorySegment out, int ldo) {
        MemorySegment mid = java.lang.foreign.Arena.ofAuto().allocate(4L * Math.max(1, (long) m * inter), 64);
        gemmPackedWeightBias(m, inter, h, x, ldx, packedWi, bi, act, mid, inter);
        gemmPackedWeight(m, h, inter, mid, inter, packedWo, out, ldo);
    }

    // ---------------------------------------------------------------- REALM marginal likelihood

    /**
     * REALM's marginal log-likelihood over Z candidate documents, per example b and target t:
     * <pre>
     * logPrior[b, z] = f[b, z] - logsumexp_z' f[b, z']                       (log p(z|x))
     * logp[b, t]     = logsumexp_z (logPrior[b, z] + ll[b, z, t])           (log sum_z p(z|x) p(y_t|z,x))
     * </pre>
     * f is [batch, z] (retrieval scores), ll [batch, z, t] (reader log-likelihoods; -inf allowed),
     * mask [batch, t] (f32, 0 = target absent) or null, logp [batch, t] overwritten; absent targets
     * get logp 0, targets no candidate can produce (every ll -inf) get -inf. t = 1 is the
     * per-sequence form (the paper's formula over the whole masked set).
     */
    void marginalLogLikelihood(MemorySegment f, MemorySegment ll, MemorySegment mask, MemorySegment logp, int batch, int z, int t);

    /**
     * Gradients of {@link #marginalLogLikelihood} for g = dL/dlogp [batch, t], with the posterior
     * post[b, z, t] = exp(logPrior[b, z] + ll[b, z, t] - logp[b, t]) and prior = exp(logPrior):
     * <pre>
     * dll[b, z, t] += g[b, t] post[b, z, t]
     * df[b, z]     += sum_t g[b, t] (post[b, z, t] - prior[b, z])
     * </pre>
     * (REALM's d log p(y|x) / d f(x,z) = p(z|x) (p(y|z,x) / p(y|x) - 1)). Absent targets and targets
     * with logp = -inf contribute nothing. logp is what the forward wrote.
     */
    void marginalLogLikelihoodBackward(MemorySegment f, MemorySegment ll, MemorySegment mask, MemorySegment logp, MemorySegment g,
                                       MemorySegment df, MemorySegment dll, int batch, int z, int t);

    // ---------------------------------------------------------------- optimizer

    /**
     * One AdamW step over n parameters (decoupled weight decay, Loshchilov and Hutter):
     * m = b1 m + (1-b1) g; v = b2 v + (1-b2) g^2; p -= lr * (m/bc1 / (sqrt(v/bc2) + eps) + wd * p),
     * where bc1 = 1 - b1^t and bc2 = 1 - b2^t.
     */
    void adamw(MemorySegment param, MemorySegment grad, MemorySegment m, MemorySegment v, long n,
               float lr, float beta1, float beta2, float eps, float weightDecay, float bc1, float bc2);
}
