package org.realmjava.tensor;

import java.lang.foreign.MemorySegment;
import java.util.Arrays;
import java.util.List;
import java.util.PriorityQueue;
import java.util.SplittableRandom;

/**
 * Ops that take several tensors or non-tensor arguments: layer norm, gathers, concatenation,
 * dropout, cross-entropy and top-k. Single-tensor ops are methods of {@link Tensor}.
 */
public final class Ops {
    private Ops() {}

    /** y = x W^T + bias, W stored [out, in] (the PyTorch layout), bias [out] or null (none); x is [..., in]. */
    public static Tensor linear(Tensor x, Tensor weight, Tensor bias) {
        return LinearAlgebra.linear(x, weight, bias);
    }

    /**
     * act(x W^T + bias) for act GELU_ERF, GELU_TANH, RELU, ...: in inference the bias and the
     * activation take one pass over the output; with a gradient to record it is linear then the
     * activation op.
     */
    public static Tensor linear(Tensor x, Tensor weight, Tensor bias, org.realmjava.tensor.kernels.UnaryOp activation) {
        return LinearAlgebra.linear(x, weight, bias, activation);
    }

    /**
     * [x W_0^T + b_0, x W_1^T + b_1, ...] concatenated along the last axis: several linear layers of
     * one input (query, key and value) as one GEMM, forward and backward; each weight and bias gets
     * its own gradient. Weights kept as consecutive row blocks of one storage are used in place.
     */
    public static Tensor linearConcat(Tensor x, Tensor[] weights, Tensor[] biases) {
        return LinearAlgebra.linearConcat(x, weights, biases);
    }

    /**
     * layerNorm(x W^T + bias + residual): a post-LN transformer sublayer's output. In inference one
     * GEMM plus one fused row pass; with a gradient to record, the composed ops.
     */
    public static Tensor linearResidualLayerNorm(Tensor x, Tensor weight, Tensor bias, Tensor residual, Tensor gamma, Tensor beta, float eps) {
        return LinearAlgebra.linearResidualLayerNorm(x, weight, bias, residual, gamma, beta, eps);
    }

    /**
     * layerNorm(act(x Wi^T + bi) Wo^T + bo + x): a post-LN transformer's feed-forward sublayer. The
     * bits of {@link #linear} then {@link #linearResidualLayerNorm}; in inference the two products
     * run as one kernel, the intermediate activation kept in the second one's packed layout.
     */
    public static Tensor feedForwardResidualLayerNorm(Tensor x, Tensor wi, Tensor bi, org.realmjava.tensor.kernels.UnaryOp act, Tensor wo, Tensor bo, Tensor gamma, Tensor beta, float eps) {
        return LinearAlgebra.feedForwardResidualLayerNorm(x, wi, bi, act, wo, bo, gamma, beta, eps);
    }

    /** Layer norm over the last axis: (x - mean) / sqrt(var + eps) * gamma + beta. */
    public static Tensor layerNorm(Tensor x, Tensor gamma, Tensor beta, float eps) {
        return RowOps.layerNorm(x, gamma, beta, eps);
    }

    /**
     * Attention probabilities softmax(scale * scores + mask) over the last axis in one kernel;
     * mask is [batch, keys] (0 visible, large negative hidden), broadcast over heads and queries.
     */
    public static Tensor attentionSoftmax(Tensor scores, float scale, Tensor mask) {
        return RowOps.scaledMaskedSoftmax(scores, scale, mask);
    }

    /**
     * Multi-head self-attention: q, k, v are [batch, len, heads * headDim] (token-major, as Linear
     * layers give them), mask [batch, len] (0 visible, large negative for padding); returns
     * softmax(scale * q k^T + mask) v per head as [batch, len, heads * headDim]. Fused kernels forward
     * and backward; no [batch, heads, len, len] tensor is made in inference.
     */
    public static Tensor attention(Tensor q, Tensor k, Tensor v, Tensor mask, int heads, float scale) {
        return LinearAlgebra.attention(q, k, v, mask, heads, scale, 0f, null);
    }

    /** {@link #attention} with dropout p on the attention probabilities (training), one seed drawn from rng. */
    public static Tensor attention(Tensor q, Tensor k, Tensor v, Tensor mask, int heads, float scale, float dropout, SplittableRandom rng) {
        return LinearAlgebra.attention(q, k, v, mask, heads, scale, dropout, rng);
    }

    /**
     * {@link #attention} with q, k and v packed as [batch, len, 3 * heads * headDim] (as
     * {@link #linearConcat} of the three projections gives them); the gradient comes back as one
     * tensor of that shape.
     */
    public static Tensor packedAttention(Tensor qkv, Tensor mask, int heads, float scale, float dropout, SplittableRandom rng) {
        return LinearAlgebra.attentionPacked(qkv, mask, heads, scale, dropout, rng);
    }

    /**
     * Inference attention over sequences packed without padding: q, k, v are [T, heads * headDim]
     * (or [1, T, ...]) token rows, sequence s the rows starts[s] .. starts[s] + lens[s] - 1, each
     * attending to its own keys only. A real row gets the bits {@link #attention} gives it in a
     * padded batch; the padding rows are simply not there to compute.
     */
    public static Tensor attentionVarlen(Tensor q, Tensor k, Tensor v, int[] starts, int[] lens, int heads, float scale) {
        return LinearAlgebra.attentionVarlen(q, k, v, starts, lens, heads, scale);
    }

    /** Mean of each segment of rows of x ([T, d] or [1, T, d]): [segments, d]; inference only. */
    public static Tensor segmentMean(Tensor x, int[] starts, int[] lens) {
        return Reductions.segmentMean(x, starts, lens);
    }

    /** Rows of table ([rows, d]) picked by ids (i32, any shape): out is [ids.shape..., d]. Gradient: scatter-add. */
    public static Tensor embedding(Tensor table, Tensor ids) {
        return indexSelect(table, 0, ids);
    }

    /**
     * Slices of x along axis picked by ids (i32, any shape); the picked axis is replaced by ids'
     * shape. Out-of-range ids are rejected before any memory is touched.
     */
    public static Tensor indexSelect(Tensor x, int axis, Tensor ids) {
        ids.requireDType("indexSelect", DType.I32);
        int d = Shapes.axis("indexSelect", axis, x.rank());
        // a bf16 table (embeddings kept in bf16) is gathered on axis 0, the picked rows widened to f32
        boolean bf16Rows = x.dtype() == DType.BF16 && d == 0;
        if (!bf16Rows) x.requireDType("indexSelect", DType.F32);
        if (d != 0) {
            Tensor moved = x.transpose(0, d);
            Tensor picked = indexSelect(moved, 0, ids); // [ids..., rest with axis-0 item at d]
            int idRank = ids.rank();
            // picked axes: ids (idRank), then moved.shape[1..]; moved axis d holds x's axis 0
            int[] perm = new int[picked.rank()];
            int p = 0;
            int movedRest = moved.rank() - 1;
            // x's axes before d come first: x axis 0 sits at moved position d, i.e. picked axis idRank + d - 1
            for (int i = 0; i < d; i++) perm[p++] = i == 0 ? idRank + d - 1 : idRank + i - 1;
            for (int i = 0; i < idRank; i++) perm[p++] = i;
            for (int i = d + 1; i <= movedRest; i++) perm[p++] = idRank + i - 1;
            return picked.permute(perm);
        }
        long rows = x.size(0);
        long[] rest = Arrays.copyOfRange(x.shape(), 1, x.rank());
        long width = Shapes.numel(rest);
        int[] idv = ids.toIntArray();
        for (int i = 0; i < idv.length; i++) {
            if (idv[i] < 0 || idv[i] >= rows) {
                throw new IndexOutOfBoundsException("indexSelect: id " + idv[i] + " (position " + i + ") out of range for " + rows + " rows of " + Shapes.str(x.shape()));
            }
        }
        long[] outShape = new long[ids.rank() + rest.length];
        System.arraycopy(ids.shape(), 0, outShape, 0, ids.rank());
        System.arraycopy(rest, 0, outShape, ids.rank(), rest.length);
        Tensor xc = x.contiguous();
        Tensor out = Tensor.uninitialized(outShape);
        MemorySegment src = xc.segment(), dst = out.segment();
        if (bf16Rows) {
            // only the picked rows are read; bf16 tensors never require a gradient
            for (int i = 0; i < idv.length; i++) {
                long s0 = idv[i] * width, d0 = i * width;
                for (long j = 0; j < width; j++) {
                    dst.setAtIndex(java.lang.foreign.ValueLayout.JAVA_FLOAT, d0 + j,
                            DType.fromBf16(src.getAtIndex(java.lang.foreign.ValueLayout.JAVA_SHORT, s0 + j)));
                }
            }
            return out;
        }
        for (int i = 0; i < idv.length; i++) {
            MemorySegment.copy(src, idv[i] * width * 4, dst, i * width * 4, width * 4);
        }
        long[] xShape = x.shape();
        return Autograd.record("indexSelect", out, g -> {
            Tensor dx = Tensor.zeros(xShape);
            MemorySegment gs = g.contiguous().segment(), ds = dx.segment();
            // serial on purpose: rows repeat, and a fixed order keeps the sums deterministic
            for (int i = 0; i < idv.length; i++) {
                Tensor.k().axpy(1f, gs.asSlice(i * width * 4, width * 4), ds.asSlice(idv[i] * width * 4, width * 4), width);
            }
            Autograd.accumulate(x, dx);
        }, x);
    }

    /** Joins tensors along an existing axis; all other dims must agree. */
    public static Tensor concat(List<Tensor> parts, int axis) {
        if (parts.isEmpty()) throw new IllegalArgumentException("concat: no tensors");
        Tensor first = parts.get(0);
        int d = Shapes.axis("concat", axis, first.rank());
        long total = 0;
        for (Tensor t : parts) {
            t.requireDType("concat", DType.F32);
            long[] a = first.shape(), b = t.shape();
            boolean ok = a.length == b.length;
            for (int i = 0; ok && i < a.length; i++) ok = i == d || a[i] == b[i];
            if (!ok) throw new IllegalArgumentException("concat: shapes " + Shapes.str(a) + " and " + Shapes.str(b) + " differ outside axis " + d);
            total += t.size(d);
        }
        long[] outShape = first.shape();
        outShape[d] = total;
        Tensor out = Tensor.zeros(outShape);
        long at = 0;
        long[] starts = new long[parts.size()];
        for (int i = 0; i < parts.size(); i++) {
            Tensor t = parts.get(i);
            starts[i] = at;
            out.detach().narrow(d, at, t.size(d)).copyFromFresh(t);
            at += t.size(d);
        }
        Tensor[] inputs = parts.toArray(new Tensor[0]);
        return Autograd.record("concat", out, g -> {
            for (int i = 0; i < inputs.length; i++) {
                if (inputs[i].requiresGrad()) Autograd.accumulate(inputs[i], g.narrow(d, starts[i], inputs[i].size(d)).contiguous());
            }
        }, inputs);
    }

    /** Stacks same-shape tensors along a new axis. */
    public static Tensor stack(List<Tensor> parts, int axis) {
        if (parts.isEmpty()) throw new IllegalArgumentException("stack: no tensors");
        int d = axis < 0 ? axis + parts.get(0).rank() + 1 : axis;
        for (Tensor t : parts) {
            if (!Arrays.equals(t.shape(), parts.get(0).shape())) {
                throw new IllegalArgumentException("stack: shapes " + Shapes.str(parts.get(0).shape()) + " and " + Shapes.str(t.shape()) + " differ");
            }
        }
        return concat(parts.stream().map(t -> t.unsqueeze(d)).toList(), d);
    }

    /**
     * Inverted dropout: zeroes each element with probability p and scales the rest by 1/(1-p).
     * Identity when not training or p == 0. The mask comes from rng, so a seed reproduces it.
     */
    public static Tensor dropout(Tensor x, float p, SplittableRandom rng, boolean training) {
        if (p < 0 || p >= 1) throw new IllegalArgumentException("dropout: p must be in [0, 1), got " + p);
        if (!training || p == 0f) return x;
        Tensor xc = Tensor.computeF32("dropout", x).contiguous();
        float keepScale = 1f / (1f - p);
        // one draw from rng per call; the mask is a hash of (seed, element index), made in parallel
        // by the kernel and made again for the backward instead of being stored
        long seed = rng.nextLong();
        int threshold = (int) Math.min(0xFFFFFFFFL, Math.round(p * 4294967296.0));
        long n = xc.numel();
        Tensor y = Tensor.uninitialized(x.shape());
        Tensor.k().dropout(xc.segment(), y.segment(), n, seed, threshold, keepScale);
        return Autograd.record("dropout", y, g -> {
            Tensor dx = Tensor.uninitialized(x.shape());
            Tensor.k().dropout(g.contiguous().segment(), dx.segment(), n, seed, threshold, keepScale);
            Autograd.accumulate(x, dx);
        }, x);
    }

    /**
     * Mean cross-entropy of logits [n, classes] against i32 targets [n]; targets equal to
     * ignoreIndex count neither in the loss nor in the mean. With label smoothing eps, the
     * target distribution is (1-eps) on the target plus eps/classes everywhere (off: eps = 0).
     * Fused: the gradient is (softmax - target distribution) / count, computed once.
     */
    public static Tensor crossEntropy(Tensor logits, Tensor targets, int ignoreIndex, float labelSmoothing) {
        logits.requireDType("crossEntropy", DType.F32);
        targets.requireDType("crossEntropy", DType.I32);
        if (logits.rank() != 2 || targets.rank() != 1 || targets.size(0) != logits.size(0)) {
            throw new IllegalArgumentException("crossEntropy: logits " + Shapes.str(logits.shape()) + " and targets " + Shapes.str(targets.shape())
                    + " — need [n, classes] and [n]");
        }
        int n = (int) logits.size(0), classes = (int) logits.size(1);
        int[] t = targets.toIntArray();
        int count = 0;
        for (int i = 0; i < n; i++) {
            if (t[i] == ignoreIndex) continue;
            if (t[i] < 0 || t[i] >= classes) {
                throw new IndexOutOfBoundsException("crossEntropy: target " + t[i] + " at row " + i + " out of range for " + classes + " classes");
            }
            count++;
        }
        Tensor logp = Tensor.uninitialized(n, classes);
        Tensor lc = logits.contiguous();
        Tensor.k().logSoftmaxRows(lc.segment(), logp.segment(), n, classes);
        MemorySegment lp = logp.segment();
        double loss = 0;
        for (int i = 0; i < n; i++) {
            if (t[i] == ignoreIndex) continue;
            double nll = -lp.getAtIndex(Tensor.F32, (long) i * classes + t[i]);
            if (labelSmoothing > 0) {
                double meanNeg = 0;
                for (int c = 0; c < classes; c++) meanNeg -= lp.getAtIndex(Tensor.F32, (long) i * classes + c);
                nll = (1 - labelSmoothing) * nll + labelSmoothing * meanNeg / classes;
            }
            loss += nll;
        }
        int used = count;
        Tensor out = Tensor.scalar(used == 0 ? 0f : (float) (loss / used));
        return Autograd.record("crossEntropy", out, g -> {
            if (used == 0) return;
            float scale = g.item() / used;
            // dx = (softmax - target distribution) * scale, with softmax = exp(log p) by the vector
            // kernels (a scalar exp loop here was the hottest Java code of an MLM step: 614 x 30522)
            Tensor dx = Tensor.uninitialized(n, classes);
            MemorySegment ds = dx.segment();
            long total = (long) n * classes;
            Tensor.k().unary(org.realmjava.tensor.kernels.UnaryOp.EXP, lp, ds, total);
            if (labelSmoothing > 0) {
                Tensor uniform = Tensor.full(labelSmoothing / classes, classes);
                Tensor.k().binaryRow(org.realmjava.tensor.kernels.BinaryOp.SUB, ds, uniform.segment(), ds, n, classes);
            }
            Tensor.k().scale(ds, scale, ds, total);
            for (int i = 0; i < n; i++) {
                long base = (long) i * classes;
                if (t[i] == ignoreIndex) {
                    ds.asSlice(base * 4, (long) classes * 4).fill((byte) 0);
                } else {
                    long at = base + t[i];
                    ds.setAtIndex(Tensor.F32, at, ds.getAtIndex(Tensor.F32, at) - (1 - labelSmoothing) * scale);
                }
            }
            Autograd.accumulate(logits, dx);
        }, logits);
    }

    /**
     * REALM's marginal log-likelihood: logp[b, t] = log sum_z softmax_z(f[b, :])_z exp(ll[b, z, t]),
     * for retrieval scores f [batch, z] and reader log-likelihoods ll [batch, z, t] (-inf allowed);
     * mask [batch, t] (1 = a target, 0 = padding: logp 0, no gradient) or null. Gradients reach
     * both f (p(z|x) (p(y|z,x) / p(y|x) - 1)) and ll (the posterior over documents). t = 1 marginalises
     * whole sequences; per masked token, REALM's public code, is t = tokens.
     */
    public static Tensor marginalLogLikelihood(Tensor f, Tensor ll, Tensor mask) {
        return RealmLosses.marginalLogLikelihood(f, ll, mask);
    }

    /**
     * Cross-entropy against soft targets, per row: -sum_c target[i, c] log softmax(logits[i, :])_c
     * for logits and target [n, classes]: [n]. A logit of -inf (an empty candidate) must have target
     * 0 and adds nothing. With a detached target q this is KL(q || softmax(logits)) up to q's
     * entropy: its gradient is softmax(logits) - q (the posterior-target retriever loss of REALM's
     * successors).
     */
    public static Tensor softCrossEntropy(Tensor logits, Tensor target) {
        if (logits.rank() != 2 || !java.util.Arrays.equals(logits.shape(), target.shape())) {
            throw new IllegalArgumentException("softCrossEntropy: logits " + Shapes.str(logits.shape()) + " and target " + Shapes.str(target.shape())
                    + " must both be [n, classes]");
        }
        Tensor q = target.detach();
        float[] qv = q.toFloatArray(), empty = new float[qv.length];
        for (int i = 0; i < qv.length; i++) empty[i] = qv[i] == 0f ? 1f : 0f;
        // 0 * log 0 is 0 here: the -inf entries are cut out before the product
        Tensor logp = logits.logSoftmax(-1).maskedFill(Tensor.of(empty, logits.shape()), 0f);
        return logp.mul(q).sum(1, false).scale(-1f);
    }

    /** log softmax(logits[i, :])[targets[i]] for logits [n, classes] and i32 targets [n]: [n]. */
    public static Tensor targetLogProb(Tensor logits, Tensor targets) {
        return RealmLosses.targetLogProb(logits, targets);
    }

    /** The k largest values along the last axis, highest first; ties go to the lower index. */
    public record TopK(Tensor values, Tensor indices) {}

    /** Top-k along the last axis (no gradient). k larger than the axis is clamped to its length. */
    public static TopK topk(Tensor x, int k) {
        x.requireDType("topk", DType.F32);
        if (k <= 0) throw new IllegalArgumentException("topk: k must be positive, got " + k);
        if (x.rank() == 0) throw new IllegalArgumentException("topk: needs at least one axis");
        int cols = (int) x.size(-1);
        int kk = Math.min(k, cols);
        long rows = cols == 0 ? 0 : x.numel() / cols;
        long[] outShape = x.shape();
        outShape[outShape.length - 1] = kk;
        Tensor values = Tensor.zeros(outShape), indices = Tensor.zeros(DType.I32, outShape);
        MemorySegment xs = x.contiguous().segment(), vs = values.segment(), is = indices.segment();
        for (long r = 0; r < rows; r++) {
            long base = r * cols;
            // min-heap of the best kk so far, ordered so the worst (lowest value, then highest index) is on top
            PriorityQueue<long[]> heap = new PriorityQueue<>(kk + 1, (p, q) -> {
                float a = Float.intBitsToFloat((int) p[0]), b = Float.intBitsToFloat((int) q[0]);
                int c = Float.compare(a, b);
                return c != 0 ? c : Long.compare(q[1], p[1]);
            });
            for (int j = 0; j < cols; j++) {
                float v = xs.getAtIndex(Tensor.F32, base + j);
                if (heap.size() < kk) {
                    heap.add(new long[] {Float.floatToRawIntBits(v), j});
                } else {
                    float worst = Float.intBitsToFloat((int) heap.peek()[0]);
                    if (Float.compare(v, worst) > 0) {
                        heap.poll();
                        heap.add(new long[] {Float.floatToRawIntBits(v), j});
                    }
                }
            }
            for (int slot = kk - 1; slot >= 0; slot--) {
                long[] e = heap.poll();
                vs.setAtIndex(Tensor.F32, r * kk + slot, Float.intBitsToFloat((int) e[0]));
                is.setAtIndex(Tensor.I32, r * kk + slot, (int) e[1]);
            }
        }
        return new TopK(values, indices);
    }
}
