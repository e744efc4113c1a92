package org.realmjava.tensor;

/**
 * Softmax, log-softmax, logsumexp and layer norm: each runs on the last axis of a contiguous
 * tensor; another axis is moved last with a transpose, and autograd handles the transposes.
 */
final class RowOps {
    private RowOps() {}

    private static boolean isLast(Tensor x, int axis) {
        return Shapes.axis("row op", axis, x.rank()) == x.rank() - 1;
    }

    static Tensor softmax(Tensor x, int axis) {
        if (!isLast(x, axis)) return softmax(x.transpose(axis, -1), -1).transpose(axis, -1);
        Tensor xc = x.contiguous();
        long cols = x.size(-1), rows = cols == 0 ? 0 : x.numel() / cols;
        Tensor y = Tensor.uninitialized(x.shape());
        Tensor.k().softmaxRows(xc.f32("softmax"), y.segment(), rows, cols);
        return Autograd.record("softmax", y, g -> {
            Tensor dx = Tensor.zeros(x.shape());
            Tensor.k().softmaxRowsBackward(y.segment(), g.contiguous().segment(), dx.segment(), rows, cols);
            Autograd.accumulate(x, dx);
        }, x);
    }

    static Tensor logSoftmax(Tensor x, int axis) {
        if (!isLast(x, axis)) return logSoftmax(x.transpose(axis, -1), -1).transpose(axis, -1);
        Tensor xc = x.contiguous();
        long cols = x.size(-1), rows = cols == 0 ? 0 : x.numel() / cols;
        Tensor y = Tensor.uninitialized(x.shape());
        Tensor.k().logSoftmaxRows(xc.f32("logSoftmax"), y.segment(), rows, cols);
        return Autograd.record("logSoftmax", y, g -> {
            Tensor dx = Tensor.zeros(x.shape());
            Tensor.k().logSoftmaxRowsBackward(y.segment(), g.contiguous().segment(), dx.segment(), rows, cols);
            Autograd.accumulate(x, dx);
        }, x);
    }

    /** log sum exp over axis; d/dx = softmax(x) times the incoming gradient. */
    static Tensor logSumExp(Tensor x, int axis, boolean keepDim) {
        if (!isLast(x, axis)) {
            Tensor r = logSumExp(x.transpose(axis, -1), -1, true).transpose(axis, -1);
            return keepDim ? r : r.squeeze(axis);
        }
        Tensor xc = x.contiguous();
        long cols = x.size(-1), rows = cols == 0 ? 0 : x.numel() / cols;
        long[] keptShape = Shapes.withOne(x.shape(), x.rank() - 1);
        Tensor y = Tensor.zeros(keptShape);
        Tensor.k().logSumExpRows(xc.f32("logSumExp"), y.segment(), rows, cols);
        Tensor out = keepDim ? y : y.detach().squeeze(x.rank() - 1);
        return Autograd.record("logSumExp", out, g -> {
            Tensor gk = keepDim ? g : g.unsqueeze(-1);
            Autograd.accumulate(x, xc.sub(y).exp().mul(gk));
        }, x);
    }

    /**
     * softmax(scale * scores + mask) over the last axis, fused (one output, no intermediate
     * tensors). scores is [b, ..., cols] with rowsPerMask rows per mask row; mask is
     * [b, cols] and gets no gradient. d/dscores = scale * softmax backward.
     */
    static Tensor scaledMaskedSoftmax(Tensor scores, float scale, Tensor mask) {
        long cols = scores.size(-1), rows = cols == 0 ? 0 : scores.numel() / cols;
        long maskRows = mask.numel() / Math.max(1, cols);
        if (mask.size(-1) != cols || maskRows == 0 || rows % maskRows != 0) {
            throw new IllegalArgumentException("attention softmax: scores " + Shapes.str(scores.shape()) + " and mask " + Shapes.str(mask.shape())
                    + " — the mask needs [batch, " + cols + "] with batch dividing the score rows");
        }
        Tensor xc = scores.contiguous(), mc = mask.detach().contiguous();
        Tensor y = Tensor.uninitialized(scores.shape());
        Tensor.k().scaledMaskedSoftmaxRows(xc.f32("attention softmax"), scale, mc.f32("attention softmax"), rows / maskRows, y.segment(), rows, cols);
        return Autograd.record("scaledMaskedSoftmax", y, g -> {
            Tensor dx = Tensor.zeros(scores.shape());
            Tensor.k().softmaxRowsBackward(y.segment(), g.contiguous().segment(), dx.segment(), rows, cols);
            Tensor.k().scale(dx.segment(), scale, dx.segment(), dx.numel());
            Autograd.accumulate(scores, dx);
        }, scores);
    }

    /** Layer norm over the last axis with learned gamma and beta ([cols] each). */
    static Tensor layerNorm(Tensor x, Tensor gamma, Tensor beta, float eps) {
        long cols = x.size(-1);
        if (gamma.rank() != 1 || gamma.size(0) != cols || beta.rank() != 1 || beta.size(0) != cols) {
            throw new IllegalArgumentException("layerNorm: input " + Shapes.str(x.shape()) + " needs gamma and beta of shape [" + cols
                    + "], got " + Shapes.str(gamma.shape()) + " and " + Shapes.str(beta.shape()));
        }
        long rows = cols == 0 ? 0 : x.numel() / cols;
        Tensor xc = x.contiguous(), gc = gamma.contiguous(), bc = beta.contiguous();
        Tensor y = Tensor.uninitialized(x.shape());
        Tensor mean = Tensor.uninitialized(rows), rstd = Tensor.uninitialized(rows);
        Tensor.k().layerNormRows(xc.f32("layerNorm"), gc.f32("layerNorm"), bc.f32("layerNorm"), y.segment(),
                mean.segment(), rstd.segment(), rows, cols, eps);
        return Autograd.record("layerNorm", y, g -> {
            Tensor dx = Tensor.zeros(x.shape()), dg = Tensor.zeros(cols), db = Tensor.zeros(cols);
            Tensor.k().layerNormRowsBackward(xc.segment(), gc.segment(), mean.segment(), rstd.segment(),
                    g.contiguous().segment(), dx.segment(), dg.segment(), db.segment(), rows, cols);
            Autograd.accumulate(x, dx);
            Autograd.accumulate(gamma, dg);
            Autograd.accumulate(beta, db);
        }, x, gamma, beta);
    }
}
