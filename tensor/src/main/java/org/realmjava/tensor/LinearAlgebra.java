package org.realmjava.tensor;

import java.lang.foreign.MemorySegment;
import java.util.Arrays;
import org.realmjava.tensor.parallel.Parallel;

/**
 * Matrix products on the backend's GEMM. Transposed views are passed to GEMM as transposed
 * operands (no copy); batch dimensions broadcast; a weight matrix without batch dimensions is
 * folded into one large GEMM ([batch*m, k] x [k, n]).
 */
final class LinearAlgebra {
    private LinearAlgebra() {}

    /** How GEMM reads the last two axes of an operand: as stored, or transposed, with a leading dimension. */
    private record Layout(Tensor t, boolean trans, long ld) {
        static Layout of(Tensor x) {
            int r = x.rank();
            long[] st = x.strides(), sh = x.shape();
            long rows = sh[r - 2], cols = sh[r - 1];
            if ((st[r - 1] == 1 || cols == 1) && st[r - 2] >= Math.max(1, cols)) return new Layout(x, false, Math.max(st[r - 2], 1));
            if ((st[r - 2] == 1 || rows == 1) && st[r - 1] >= Math.max(1, rows)) return new Layout(x, true, Math.max(st[r - 1], 1));
            if (rows <= 1 && cols <= 1) return new Layout(x, false, 1);
            Tensor c = x.detach().contiguous();
            return new Layout(c, false, Math.max(1, cols));
        }
    }

    static Tensor matmul(Tensor first, Tensor second) {
        Tensor a = Tensor.computeF32("matmul", first), b = Tensor.computeF32("matmul", second);
        if (a.rank() == 0 || b.rank() == 0) {
            throw new IllegalArgumentException("matmul: " + Shapes.str(a.shape()) + " x " + Shapes.str(b.shape()) + " — both need at least one axis");
        }
        if (a.rank() == 1) return matmul(a.unsqueeze(0), b).squeeze(-2);
        if (b.rank() == 1) return matmul(a, b.unsqueeze(1)).squeeze(-1);
        long[] as = a.shape(), bs = b.shape();
        long m = as[as.length - 2], k = as[as.length - 1], k2 = bs[bs.length - 2], n = bs[bs.length - 1];
        if (k != k2) {
            throw new IllegalArgumentException("matmul: " + Shapes.str(as) + " x " + Shapes.str(bs) + " — inner dims " + k + " and " + k2 + " differ");
        }
        if (m > Integer.MAX_VALUE || n > Integer.MAX_VALUE || k > Integer.MAX_VALUE) {
            throw new IllegalArgumentException("matmul: " + Shapes.str(as) + " x " + Shapes.str(bs) + " — matrix dims above 2^31-1");
        }
        // weight without batch axes: fold a's batch into its rows when a is row-contiguous
        if (b.rank() == 2 && a.rank() > 2) {
            long[] outShape = as.clone();
            outShape[outShape.length - 1] = n;
            Tensor a2 = a.reshape(-1, k);
            Tensor out2 = matmul2d(a2, b);
            Tensor out = out2.detach().reshape(outShape);
            return Autograd.record("matmul", out, g -> {
                Tensor g2 = g.reshape(-1, n);
                if (a.requiresGrad()) Autograd.accumulate(a, matmul(g2, b.transpose(0, 1)).reshape(as));
                if (b.requiresGrad()) Autograd.accumulate(b, matmul(a2.transpose(0, 1), g2));
            }, a, b);
        }
        Tensor out = a.rank() == 2 && b.rank() == 2 ? matmul2d(a, b) : batched(a, b, m, n, k);
        return Autograd.record("matmul", out, g -> {
            if (a.requiresGrad()) Autograd.accumulate(a, Reductions.sumToShape(matmul(g, b.transpose(-1, -2)), as));
            if (b.requiresGrad()) Autograd.accumulate(b, Reductions.sumToShape(matmul(a.transpose(-1, -2), g), bs));
        }, a, b);
    }

    /**
     * y = x W^T + bias with W stored [out, in] (a Linear layer): GEMM into the output, then the bias
     * added in place (no extra tensor).
     */
    static Tensor linear(Tensor first, Tensor weight, Tensor bias) {
        return linear(first, weight, bias, null);
    }

    /**
     * act(x W^T + bias). With no gradient to record, the bias and the activation are applied in one
     * pass over the GEMM's output ({@code Kernels.biasUnaryRows}); otherwise the activation is a
     * separate, differentiable op.
     */
    static Tensor linear(Tensor first, Tensor weight, Tensor bias, org.realmjava.tensor.kernels.UnaryOp act) {
        if (act != null && bias == null) throw new IllegalArgumentException("linear: an activation needs a bias");
        if (act != null && Autograd.needsGrad(first, weight, bias)) return Elementwise.unary(act, linear(first, weight, bias, null));
        // bf16 weights stay bf16: GEMM widens them while packing (no f32 copy of the matrix)
        boolean bf16Weight = weight.dtype() == DType.BF16;
        Tensor x = Tensor.computeF32("linear", first), w = bf16Weight ? weight : Tensor.computeF32("linear", weight);
        long in = x.size(-1), out = w.size(0);
        if (w.rank() != 2 || w.size(1) != in || (bias != null && (bias.rank() != 1 || bias.size(0) != out))) {
            throw new IllegalArgumentException("linear: input " + Shapes.str(x.shape()) + ", weight " + Shapes.str(w.shape())
                    + ", bias " + (bias == null ? "none" : Shapes.str(bias.shape())) + " — need [..., in], [out, in] and [out]");
        }
        Tensor x2 = x.reshape(-1, in);
        // bias (and act) added in place after the GEMM, fused into it on the packed-weight path
        // (measured faster than writing the bias rows first and letting GEMM accumulate onto them with beta = 1).
        // Without a bias too, inference takes the packed weight: a row's bits then do not depend on
        // how many rows share the product (the generic GEMM picks its kernel by shape).
        Tensor c = product(x2, weight, w, !Autograd.needsGrad(first, weight, bias), bias == null ? null : bias.contiguous().f32("linear"), act);
        long[] outShape = x.shape();
        outShape[outShape.length - 1] = out;
        Tensor y = c.reshape(outShape);
        long[] xShape = x.shape();
        return Autograd.record("linear", y, g -> {
            Tensor g2 = g.reshape(-1, out);
            if (x.requiresGrad()) Autograd.accumulate(x, matmul(g2, w).reshape(xShape));
            if (w.requiresGrad()) Autograd.accumulate(w, matmul(g2.transpose(0, 1), x2));
            if (bias != null && bias.requiresGrad()) Autograd.accumulate(bias, g2.sum(0, false));
        }, bias == null ? new Tensor[] {x, w} : new Tensor[] {x, w, bias});
    }

    /**
     * [x W_0^T + b_0, x W_1^T + b_1, ...] along the last axis: several linear layers of one input
     * (a transformer's query, key and value projections) as one GEMM forward and one GEMM per
     * gradient backward, so the products have N (and, for the input's gradient, K) of the parts
     * together and the input's gradient needs no sum of per-part products. When the weights (and
     * the biases) are consecutive row blocks of one storage, as BertEncoder keeps them, they are
     * used in place; otherwise they are concatenated first. Each part gets its own gradient.
     */
    static Tensor linearConcat(Tensor first, Tensor[] weights, Tensor[] biases) {
        if (weights.length == 0 || weights.length != biases.length) {
            throw new IllegalArgumentException("linear: " + weights.length + " weights and " + biases.length + " biases — need as many of each, at least one");
        }
        Tensor x = Tensor.computeF32("linear", first);
        long in = x.size(-1);
        long[] outs = new long[weights.length];
        long total = 0;
        for (int i = 0; i < weights.length; i++) {
            Tensor w = weights[i], b = biases[i];
            // f32 weights, or bf16 ones (inference storage) as in linear; all parts alike
            if (w.dtype() != DType.BF16) w.requireDType("linear", DType.F32);
            w.requireDType("linear", weights[0].dtype());
            b.requireDType("linear", DType.F32);
            if (w.rank() != 2 || w.size(1) != in || b.rank() != 1 || b.size(0) != w.size(0)) {
                throw new IllegalArgumentException("linear: input " + Shapes.str(x.shape()) + ", weight " + i + " " + Shapes.str(w.shape())
                        + ", bias " + Shapes.str(b.shape()) + " — need [..., in], [out, in] and [out]");
            }
            outs[i] = w.size(0);
            total += outs[i];
        }
        Tensor w = rowBlocks(weights, total, in), bias = rowBlocks(biases, total, 1).reshape(total);
        Tensor x2 = x.reshape(-1, in);
        int m = (int) x2.size(0);
        Tensor c = product(x2, w, w, false);
        if (m > 0 && total > 0) Tensor.k().binaryRow(org.realmjava.tensor.kernels.BinaryOp.ADD, c.segment(), bias.segment(), c.segment(), m, total);
        long[] outShape = x.shape();
        outShape[outShape.length - 1] = total;
        long[] xShape = x.shape();
        Tensor[] inputs = new Tensor[1 + 2 * weights.length];
        inputs[0] = x;
        System.arraycopy(weights, 0, inputs, 1, weights.length);
        System.arraycopy(biases, 0, inputs, 1 + weights.length, biases.length);
        final long totalOut = total;
        return Autograd.record("linear", c.reshape(outShape), g -> {
            Tensor g2 = g.reshape(-1, totalOut);
            if (x.requiresGrad()) Autograd.accumulate(x, matmul(g2, w).reshape(xShape));
            boolean anyWeight = false, anyBias = false;
            for (int i = 0; i < weights.length; i++) {
                anyWeight |= weights[i].requiresGrad();
                anyBias |= biases[i].requiresGrad();
            }
            // one product for all parts; each part's gradient is a row block of it (contiguous)
            Tensor dw = anyWeight ? matmul(g2.transpose(0, 1), x2) : null, db = anyBias ? g2.sum(0, false) : null;
            long at = 0;
            for (int i = 0; i < weights.length; i++) {
                if (weights[i].requiresGrad()) Autograd.accumulate(weights[i], dw.narrow(0, at, outs[i]));
                if (biases[i].requiresGrad()) Autograd.accumulate(biases[i], db.narrow(0, at, outs[i]));
                at += outs[i];
            }
        }, inputs);
    }

    /**
     * The parts ([rows_i, cols] or [rows_i]) stacked as one [rows, cols] tensor: a view of their
     * storage when they are contiguous and lie one after another in it, else a copy.
     */
    private static Tensor rowBlocks(Tensor[] parts, long rows, long cols) {
        Tensor p0 = parts[0];
        boolean adjacent = true;
        long next = p0.offset();
        for (Tensor p : parts) {
            adjacent &= p.storage() == p0.storage() && p.writes == p0.writes && p.isContiguous() && p.offset() == next;
            next += p.numel();
        }
        if (adjacent) return new Tensor(p0.storage(), p0.offset(), new long[] {rows, cols}, new long[] {cols, 1}, p0.dtype(), p0.writes);
        Tensor joined = Tensor.zeros(p0.dtype(), rows, cols);
        try (var scope = Autograd.noGrad()) {
            long at = 0;
            for (Tensor p : parts) {
                long r = p.numel() / cols;
                joined.narrow(0, at, r).copyFrom(p.detach().reshape(r, cols));
                at += r;
            }
        }
        return joined;
    }

    /**
     * x2 [m, in] times w^T into a new [m, out] tensor (no bias): the packed weight when allowed and
     * small enough, the bf16 GEMM for bf16 weights, else the backend's GEMM. {@code weight} is the
     * caller's tensor (the packed copy is cached on it), {@code w} the one to multiply by.
     */
    private static Tensor product(Tensor x2, Tensor weight, Tensor w, boolean mayPack) {
        return product(x2, weight, w, mayPack, null, null);
    }

    /**
     * x2 W^T, then (bias not null) act(. + bias) row by row (act null: the bias only): one pass
     * after the GEMM, or, with a packed weight, applied by the GEMM to each block of columns as it
     * finishes (Kernels.gemmPackedWeightBias; the same bits).
     */
    private static Tensor product(Tensor x2, Tensor weight, Tensor w, boolean mayPack, MemorySegment bias,
                                  org.realmjava.tensor.kernels.UnaryOp act) {
        boolean bf16Weight = w.dtype() == DType.BF16;
        long in = x2.size(1), out = w.size(0);
        int m = (int) x2.size(0);
        Tensor c = Tensor.uninitialized(m, out);
        if (m == 0 || out == 0) return c;
        MemorySegment cs = c.segment();
        Layout la = Layout.of(x2), lb = Layout.of(w.transpose(0, 1));
        Object packed = null;
        // (the packed product keeps a packed copy of all of A per thread: m * in bounded like the weight)
        if (mayPack && !la.trans && w == weight) packed = packedFor(m, in, w);
        if (packed != null && bias != null) {
            Tensor.k().gemmPackedWeightBias(m, (int) out, (int) in, base(la.t), (int) la.ld, packed, bias, act, cs, (int) out);
            return c;
        }
        if (packed != null) {
            Tensor.k().gemmPackedWeight(m, (int) out, (int) in, base(la.t), (int) la.ld, packed, cs, (int) out);
        } else if (bf16Weight) {
            Tensor.k().gemmBf16B(la.trans, lb.trans, m, (int) out, (int) in, 1f, base(la.t), (int) la.ld, base(lb.t), (int) lb.ld, 0f, cs, (int) out);
        } else {
            Tensor.k().gemm(la.trans, lb.trans, m, (int) out, (int) in, 1f, base(la.t), (int) la.ld, base(lb.t), (int) lb.ld, 0f, cs, (int) out);
        }
        if (bias != null) {
            if (act == null) Tensor.k().binaryRow(org.realmjava.tensor.kernels.BinaryOp.ADD, cs, bias, cs, m, out);
            else Tensor.k().biasUnaryRows(act, cs, bias, cs, m, out);
        }
        return c;
    }

    /**
     * LayerNorm(x W^T + bias + residual) with gamma, beta, eps: a BERT sublayer's output projection,
     * residual add and post-LN. With no gradient to record, the GEMM is followed by one row pass
     * ({@code Kernels.biasResidualLayerNormRows}) written over the GEMM's own output; otherwise the
     * composed, differentiable ops.
     */
    static Tensor linearResidualLayerNorm(Tensor first, Tensor weight, Tensor bias, Tensor residual, Tensor gamma, Tensor beta, float eps) {
        if (Autograd.needsGrad(first, weight, bias, residual, gamma, beta)) {
            return RowOps.layerNorm(linear(first, weight, bias, null).add(residual), gamma, beta, eps);
        }
        Tensor x = Tensor.computeF32("linearResidualLayerNorm", first);
        Tensor w = weight.dtype() == DType.BF16 ? weight : Tensor.computeF32("linearResidualLayerNorm", weight);
        long in = x.size(-1), out = w.size(0);
        long[] outShape = x.shape();
        outShape[outShape.length - 1] = out;
        if (w.rank() != 2 || w.size(1) != in || bias.rank() != 1 || bias.size(0) != out || !java.util.Arrays.equals(residual.shape(), outShape)
                || gamma.rank() != 1 || gamma.size(0) != out || beta.rank() != 1 || beta.size(0) != out) {
            throw new IllegalArgumentException("linearResidualLayerNorm: input " + Shapes.str(x.shape()) + ", weight " + Shapes.str(w.shape())
                    + ", bias " + Shapes.str(bias.shape()) + ", residual " + Shapes.str(residual.shape()) + ", gamma " + Shapes.str(gamma.shape())
                    + ", beta " + Shapes.str(beta.shape()) + " — need [..., in], [out, in], [out], [..., out], [out], [out]");
        }
        Tensor x2 = x.reshape(-1, in);
        Tensor c = product(x2, weight, w, true);
        long m = x2.size(0);
        if (m > 0 && out > 0) {
            Tensor.k().biasResidualLayerNormRows(c.segment(), bias.contiguous().f32("linearResidualLayerNorm"),
                    Tensor.computeF32("linearResidualLayerNorm", residual).contiguous().segment(), gamma.contiguous().f32("linearResidualLayerNorm"),
                    beta.contiguous().f32("linearResidualLayerNorm"), c.segment(), m, out, eps);
        }
        return c.reshape(outShape);
    }

    /**
     * At or below this many rows the FFN runs as the composition (same bits): measured 1.03x for the
     * fused kernel at 512 and 2,048 rows, but not shown at batch 1 (128 rows), where the encoder
     * against ORT read 0.97-0.99x with it and 1.00x without in single runs.
     */
    static final int FUSED_FFN_MIN_ROWS = 256;

    /**
     * LayerNorm(act(x Wi^T + bi) Wo^T + bo + x) with gamma, beta, eps: a post-LN transformer's
     * feed-forward sublayer. Equal, bit for bit, to {@link #linear}(x, wi, bi, act) followed by
     * {@link #linearResidualLayerNorm}(that, wo, bo, x, gamma, beta, eps), which is what it runs
     * where a gradient is recorded, the weights take no packed form or there are at most
     * {@link #FUSED_FFN_MIN_ROWS} rows. Otherwise (inference) the two
     * products run as one kernel (Kernels.feedForward), which keeps the intermediate activation in
     * a layout of its own (on the CPU, the second product's packed A: no row-major round trip, no
     * packing).
     */
    static Tensor feedForwardResidualLayerNorm(Tensor first, Tensor wi, Tensor bi, org.realmjava.tensor.kernels.UnaryOp act, Tensor wo, Tensor bo,
                                               Tensor gamma, Tensor beta, float eps) {
        boolean grad = Autograd.needsGrad(first, wi, bi, wo, bo, gamma, beta);
        if (!grad && first.dtype() == DType.F32 && first.rank() >= 2 && wi.rank() == 2 && wo.rank() == 2) {
            long h = first.size(-1), inter = wi.size(0);
            boolean shapes = wi.size(1) == h && wo.size(0) == h && wo.size(1) == inter && bi.rank() == 1 && bi.size(0) == inter
                    && bo.rank() == 1 && bo.size(0) == h && gamma.rank() == 1 && gamma.size(0) == h && beta.rank() == 1 && beta.size(0) == h;
            Tensor x2 = first.reshape(-1, h);
            long m = x2.size(0);
            Layout la = Layout.of(x2);
            Object pi = shapes && m > FUSED_FFN_MIN_ROWS && !la.trans ? packedFor(m, h, wi) : null;
            Object po = pi == null ? null : packedFor(m, inter, wo);
            if (po != null) {
                var k = Tensor.k();
                Tensor c = Tensor.uninitialized(m, h);
                k.feedForward((int) m, (int) h, (int) inter, base(la.t), (int) la.ld, pi, bi.contiguous().f32("feedForward"), act, po, c.segment(), (int) h);
                k.biasResidualLayerNormRows(c.segment(), bo.contiguous().f32("feedForward"), x2.contiguous().segment(), gamma.contiguous().f32("feedForward"),
                        beta.contiguous().f32("feedForward"), c.segment(), m, h, eps);
                return c.reshape(first.shape());
            }
        }
        Tensor mid = linear(first, wi, bi, act);
        Tensor out = linearResidualLayerNorm(mid, wo, bo, first, gamma, beta, eps);
        if (!grad) mid.release();
        return out;
    }

    /** The packed form of weight [n, in] for an inference product of m rows within the packed path's limits (PACKED_MAX_M, PACKED_MAX_ELEMENTS, W stored [n, in] row-major); null where there is none. */
    private static Object packedFor(long m, long in, Tensor weight) {
        if (m > PACKED_MAX_M || m * in > PACKED_MAX_ELEMENTS || weight.size(1) != in) return null;
        if (weight.dtype() != DType.F32 && weight.dtype() != DType.BF16) return null;
        Layout lb = Layout.of(weight.transpose(0, 1));
        if (!lb.trans) return null;
        return PackedWeights.of(weight, (int) weight.size(0), (int) in, (int) lb.ld, weight.dtype() == DType.BF16, PACKED_MAX_ELEMENTS);
    }

    /**
     * Products with at most this many rows use the weight packed once (inference: at batch 1
     * re-packing the weight in every product was a fifth of its time; an index refresh's passes of
     * short blocks are 400-2,048 rows, where the packed path ran MiniLM's four products 3-19%
     * faster than the generic GEMM, and 2,048 rows still ~3%). Larger ones amortise the packing
     * inside the GEMM and keep the shape-chosen kernel: at 4,096 rows (MiniLM B=32 L=128) the
     * packed path measured 0.95-0.97x ORT's forward time ratio against 1.10-1.13x for the generic
     * one (EncoderSideBySide, runs alternating -Drealm.gemm.packedMaxM=2048 / 4096), though alone
     * the two kernels are level there. -Drealm.gemm.packedMaxM=0 turns packed weights off.
     */
    static final int PACKED_MAX_M = Integer.getInteger("realm.gemm.packedMaxM", 2048);
    /** Weights above this many elements are not given a packed copy (an output layer over a vocabulary). */
    static final long PACKED_MAX_ELEMENTS = 1L << 23;

    /**
     * Multi-head self-attention context for q, k, v of shape [batch, len, heads * headDim] (token-major,
     * as Linear layers produce them): softmax(scale * q k^T + mask) v per head, back in [batch, len,
     * heads * headDim]. mask is [batch, len] (0 visible, large negative for padding keys). Dropout p on
     * the probabilities (training; rng gives one seed per call, the mask is a hash of it and the
     * element index, see Ops.dropout). Fused kernels: without a gradient to record and without dropout,
     * {@code Kernels.attention} (column slices of a fused QKV tensor are read in place); otherwise
     * {@code attentionTrainForward}, which keeps two floats per query row and, up to
     * {@link #KEEP_PROBS_BYTES}, the probabilities, and {@code attentionBackward}, which reads them or
     * recomputes them.
     */
    static Tensor attention(Tensor q, Tensor k, Tensor v, Tensor mask, int heads, float scale, float dropout, java.util.SplittableRandom rng) {
        checkAttention(q, k, v, mask, heads, dropout, rng);
        long b = q.size(0), len = q.size(1), width = q.size(2);
        int hd = (int) (width / heads);
        Tensor qt = tokenRows(q, "attention"), kt = tokenRows(k, "attention"), vt = tokenRows(v, "attention");
        if (!Autograd.needsGrad(q, k, v) && dropout == 0f) {
            Tensor out = Tensor.uninitialized(b, len, width);
            Tensor.k().attention(base(qt), ld(qt), base(kt), ld(kt), base(vt), ld(vt), mask.detach().contiguous().f32("attention"), out.segment(),
                    (int) width, (int) b, (int) len, heads, hd, scale);
            return out;
        }
        Trained t = trainForward(qt, kt, vt, mask, heads, scale, dropout, rng);
        return Autograd.record("attention", t.out, g -> {
            Tensor dq = Tensor.uninitialized(b, len, width), dk = Tensor.uninitialized(b, len, width), dv = Tensor.uninitialized(b, len, width);
            t.backward(g, dq.segment(), dk.segment(), dv.segment(), (int) width);
            if (q.requiresGrad()) Autograd.accumulate(q, dq);
            if (k.requiresGrad()) Autograd.accumulate(k, dk);
            if (v.requiresGrad()) Autograd.accumulate(v, dv);
        }, q, k, v);
    }

    /**
     * Inference attention over unpadded sequences (Kernels.attentionVarlen): q, k, v are [T, width]
     * or [1, T, width] token rows (column slices of one QKV buffer are read in place), sequence s
     * the rows starts[s] .. starts[s] + lens[s] - 1; out has q's shape.
     */
    static Tensor attentionVarlen(Tensor q, Tensor k, Tensor v, int[] starts, int[] lens, int heads, float scale) {
        if (Autograd.needsGrad(q, k, v)) throw new IllegalArgumentException("attentionVarlen: inference only (no gradient), but an input records one");
        boolean flat = q.rank() == 2;
        Tensor q3 = flat ? q.unsqueeze(0) : q, k3 = k.rank() == 2 ? k.unsqueeze(0) : k, v3 = v.rank() == 2 ? v.unsqueeze(0) : v;
        if (q3.rank() != 3 || q3.size(0) != 1 || !Arrays.equals(q3.shape(), k3.shape()) || !Arrays.equals(q3.shape(), v3.shape())
                || heads <= 0 || q3.size(2) % heads != 0) {
            throw new IllegalArgumentException("attentionVarlen: q " + Shapes.str(q.shape()) + ", k " + Shapes.str(k.shape()) + ", v "
                    + Shapes.str(v.shape()) + ", " + heads + " heads — need equal [T, heads * headDim] (or [1, T, ...]) token rows");
        }
        long tokens = q3.size(1), width = q3.size(2);
        if (starts.length != lens.length) throw new IllegalArgumentException("attentionVarlen: " + starts.length + " starts but " + lens.length + " lengths");
        for (int s = 0; s < starts.length; s++) {
            if (starts[s] < 0 || lens[s] < 0 || (long) starts[s] + lens[s] > tokens) {
                throw new IllegalArgumentException("attentionVarlen: sequence " + s + " (start " + starts[s] + ", length " + lens[s] + ") is outside the " + tokens + " token rows");
            }
        }
        Tensor qt = tokenRows(q3, "attentionVarlen"), kt = tokenRows(k3, "attentionVarlen"), vt = tokenRows(v3, "attentionVarlen");
        Tensor out = Tensor.uninitialized(1, tokens, width);
        Tensor.k().attentionVarlen(base(qt), ld(qt), base(kt), ld(kt), base(vt), ld(vt), out.segment(), (int) width, starts, lens, heads,
                (int) (width / heads), scale);
        return flat ? out.reshape(tokens, width) : out;
    }

    private static void checkAttention(Tensor q, Tensor k, Tensor v, Tensor mask, int heads, float dropout, java.util.SplittableRandom rng) {
        if (q.rank() != 3 || !Arrays.equals(q.shape(), k.shape()) || !Arrays.equals(q.shape(), v.shape())
                || heads <= 0 || q.size(2) % heads != 0 || mask.rank() != 2 || mask.size(0) != q.size(0) || mask.size(1) != q.size(1)) {
            throw new IllegalArgumentException("attention: q " + Shapes.str(q.shape()) + ", k " + Shapes.str(k.shape()) + ", v "
                    + Shapes.str(v.shape()) + ", mask " + Shapes.str(mask.shape()) + ", " + heads
                    + " heads — need equal [batch, len, heads * headDim] and a [batch, len] mask");
        }
        if (dropout < 0 || dropout >= 1 || (dropout > 0 && rng == null)) {
            throw new IllegalArgumentException("attention: dropout must be in [0, 1) with a random source, got " + dropout);
        }
    }

    /**
     * The training forward of attention on token-row tensors q, k, v (already checked): the output,
     * and what its backward needs (the row stats, the probabilities when kept, the dropout seed and threshold).
     */
    private static Trained trainForward(Tensor q, Tensor k, Tensor v, Tensor mask, int heads, float scale, float dropout, java.util.SplittableRandom rng) {
        long b = q.size(0), len = q.size(1), width = q.size(2);
        int hd = (int) (width / heads);
        Tensor mc = mask.detach().contiguous();
        Tensor out = Tensor.uninitialized(b, len, width);
        long seed = dropout > 0 ? rng.nextLong() : 0L;
        int threshold = dropout > 0 ? (int) Math.min(0xFFFFFFFFL, Math.round(dropout * 4294967296.0)) : 0;
        float keepScale = 1f / (1f - dropout);
        Tensor stats = Tensor.uninitialized(b, heads, len, 2);
        long probsBytes = 4L * b * heads * len * len;
        Tensor probs = probsBytes <= Long.getLong("realm.attention.keepProbsBytes", KEEP_PROBS_BYTES) ? Tensor.uninitialized(b, heads, len, len) : null;
        Tensor.k().attentionTrainForward(base(q), ld(q), base(k), ld(k), base(v), ld(v), mc.f32("attention"), out.segment(), (int) width,
                stats.segment(), probs == null ? null : probs.segment(), (int) b, (int) len, heads, hd, scale, seed, threshold, keepScale);
        return new Trained(out, q, k, v, mc, stats, probs, (int) b, (int) len, heads, hd, scale, seed, threshold, keepScale);
    }

    /**
     * The largest [batch, heads, len, len] probability tensor (bytes) a training attention call keeps
     * for its backward; above it the backward recomputes the probabilities from Q K^T and two floats
     * per row. Keeping them is faster (B=32 L=128 MiniLM: backward 17-23 ms per layer kept against
     * 30-38 ms recomputed, docs/benchmarks.md) but the tensor grows with len squared (B=8 L=512: 100 MB
     * per layer; a REALM reader batch of 256 passages of 288 tokens: 1 GB per layer).
     * {@code -Drealm.attention.keepProbsBytes} overrides it (0: always recompute).
     */
    static final long KEEP_PROBS_BYTES = 64L << 20;

    private record Trained(Tensor out, Tensor q, Tensor k, Tensor v, Tensor mask, Tensor stats, Tensor probs, int batch, int len, int heads, int hd, float scale,
                           long seed, int threshold, float keepScale) {
        /** Writes dq, dk, dv (ldg floats per token) for the output gradient g. */
        void backward(Tensor g, MemorySegment dq, MemorySegment dk, MemorySegment dv, int ldg) {
            Tensor gc = g.contiguous();
            Tensor.k().attentionBackward(base(q), ld(q), base(k), ld(k), base(v), ld(v), mask.f32("attention"), stats.segment(),
                    probs == null ? null : probs.segment(), gc.segment(), heads * hd,
                    dq, dk, dv, ldg, batch, len, heads, hd, scale, seed, threshold, keepScale);
        }
    }

    /**
     * {@link #attention} on q, k and v packed as one [batch, len, 3 * heads * headDim] tensor (the
     * output of one {@link #linearConcat} of the three projections): the kernels read the column
     * slices in place, and the backward writes dq, dk and dv into one gradient of qkv's shape
     * (three separate gradients would each be scattered into a zero tensor of that shape and summed).
     */
    static Tensor attentionPacked(Tensor qkv, Tensor mask, int heads, float scale, float dropout, java.util.SplittableRandom rng) {
        if (qkv.rank() != 3 || qkv.size(2) % 3 != 0 || heads <= 0 || (qkv.size(2) / 3) % heads != 0) {
            throw new IllegalArgumentException("attention: packed qkv " + Shapes.str(qkv.shape()) + ", " + heads
                    + " heads — need [batch, len, 3 * heads * headDim]");
        }
        long width = qkv.size(2) / 3;
        Tensor d = tokenRows(qkv.detach(), "attention");
        Tensor q = d.narrow(2, 0, width), k = d.narrow(2, width, width), v = d.narrow(2, 2 * width, width);
        checkAttention(q, k, v, mask, heads, dropout, rng);
        if (!Autograd.needsGrad(qkv)) return attention(q, k, v, mask, heads, scale, dropout, rng);
        Trained t = trainForward(q, k, v, mask, heads, scale, dropout, rng);
        return Autograd.record("attention", t.out, g -> {
            Tensor dqkv = Tensor.uninitialized(qkv.shape());
            MemorySegment base = dqkv.segment();
            t.backward(g, base, base.asSlice(width * 4), base.asSlice(2 * width * 4), (int) (3 * width));
            Autograd.accumulate(qkv, dqkv);
        }, qkv);
    }

    /** Floats between consecutive tokens of a tokenRows tensor. */
    private static int ld(Tensor t) {
        return (int) t.strides()[1];
    }

    /** t itself when its rows are evenly spaced tokens with unit-stride features (e.g. a column slice), else a contiguous copy. */
    private static Tensor tokenRows(Tensor t, String op) {
        t.requireDType(op, DType.F32);
        long[] st = t.strides();
        boolean inPlace = st[2] == 1 && st[1] >= t.size(2) && (t.size(0) == 1 || st[0] == st[1] * t.size(1));
        return inPlace ? t : t.contiguous();
    }

    private static Tensor matmul2d(Tensor a, Tensor b) {
        int m = (int) a.size(0), k = (int) a.size(1), n = (int) b.size(1);
        Tensor c = Tensor.uninitialized(m, n);
        if (c.numel() == 0) return c;
        Layout la = Layout.of(a), lb = Layout.of(b);
        Tensor.k().gemm(la.trans, lb.trans, m, n, k, 1f, base(la.t), (int) la.ld, base(lb.t), (int) lb.ld, 0f, c.segment(), n);
        return c;
    }

    /** The operand's memory from its first element to the end of the storage. */
    private static MemorySegment base(Tensor t) {
        return t.storage().asSlice(t.offset() * t.dtype().bytes);
    }

    private static Tensor batched(Tensor a, Tensor b, long m, long n, long k) {
        long[] as = a.shape(), bs = b.shape();
        long[] aBatch = java.util.Arrays.copyOf(as, as.length - 2), bBatch = java.util.Arrays.copyOf(bs, bs.length - 2);
        long[] batch;
        try {
            batch = Shapes.broadcast("matmul", aBatch, bBatch);
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException("matmul: " + Shapes.str(as) + " x " + Shapes.str(bs) + " — batch dims "
                    + Shapes.str(aBatch) + " and " + Shapes.str(bBatch) + " do not broadcast");
        }
        long[] outShape = java.util.Arrays.copyOf(batch, batch.length + 2);
        outShape[batch.length] = m;
        outShape[batch.length + 1] = n;
        Tensor c = Tensor.uninitialized(outShape);
        if (c.numel() == 0) return c;
        // expand both to the full batch shape (stride-0 views, no copy), then pick GEMM layouts
        long[] aFull = java.util.Arrays.copyOf(batch, batch.length + 2), bFull = aFull.clone();
        aFull[batch.length] = m;
        aFull[batch.length + 1] = k;
        bFull[batch.length] = k;
        bFull[batch.length + 1] = n;
        Tensor ae = a.detach().expand(aFull), be = b.detach().expand(bFull);
        Layout la = Layout.of(ae), lb = Layout.of(be);
        long count = Shapes.numel(batch);
        long[] aSt = la.t.strides(), bSt = lb.t.strides();
        int nb = batch.length;
        Parallel.forRange(count, 1, (s, e) -> {
            for (long i = s; i < e; i++) {
                long rem = i, ao = la.t.offset(), bo = lb.t.offset();
                for (int d = nb - 1; d >= 0; d--) {
                    long idx = rem % batch[d];
                    rem /= batch[d];
                    ao += idx * aSt[d];
                    bo += idx * bSt[d];
                }
                MemorySegment cs = c.storage().asSlice(i * m * n * 4, m * n * 4);
                Tensor.k().gemm(la.trans, lb.trans, (int) m, (int) n, (int) k, 1f,
                        la.t.storage().asSlice(ao * 4), (int) la.ld, lb.t.storage().asSlice(bo * 4), (int) lb.ld, 0f, cs, (int) n);
            }
        });
        return c;
    }
}
