package org.realmjava.tensor;

import java.util.Arrays;

/** Sum and max over axes; sumToShape undoes broadcasting in backward passes. */
final class Reductions {
    private Reductions() {}

    static Tensor sumAll(Tensor x) {
        Tensor xc = x.contiguous();
        Tensor y = Tensor.zeros();
        Tensor.k().sumAxis(xc.f32("sum"), y.segment(), 1, xc.numel(), 1);
        long[] shape = x.shape();
        return Autograd.record("sum", y, g -> Autograd.accumulate(x, g.reshape(ones(shape.length)).expand(shape).contiguous()), x);
    }

    private static long[] ones(int rank) {
        long[] s = new long[rank];
        Arrays.fill(s, 1);
        return s;
    }

    static Tensor sum(Tensor x, int axis, boolean keepDim) {
        int d = Shapes.axis("sum", axis, x.rank());
        long[] shape = x.shape();
        long[] oli = Shapes.outerLenInner(shape, d);
        Tensor xc = x.contiguous();
        Tensor y = Tensor.uninitialized(keepDim ? Shapes.withOne(shape, d) : Shapes.without(shape, d));
        Tensor.k().sumAxis(xc.f32("sum"), y.segment(), oli[0], oli[1], oli[2]);
        return Autograd.record("sum", y, g -> {
            Tensor gk = keepDim ? g : g.unsqueeze(d);
            Autograd.accumulate(x, gk.expand(shape).contiguous());
        }, x);
    }

    /**
     * Mean of each segment of rows: x is [T, d] (or [1, T, d]), segment s the rows starts[s] ..
     * starts[s] + lens[s] - 1; out [segments, d]. Summed by the sum kernel and divided by the
     * count, as a masked mean of a padded batch is (BertEncoder.poolMean). Inference only.
     */
    static Tensor segmentMean(Tensor x, int[] starts, int[] lens) {
        if (Autograd.needsGrad(x)) throw new IllegalArgumentException("segmentMean: inference only (no gradient), but the input records one");
        Tensor rows = x.rank() == 3 && x.size(0) == 1 ? x.reshape(x.size(1), x.size(2)) : x;
        if (rows.rank() != 2 || starts.length != lens.length) {
            throw new IllegalArgumentException("segmentMean: need [T, d] rows and as many starts as lengths, got " + Shapes.str(x.shape())
                    + ", " + starts.length + " starts, " + lens.length + " lengths");
        }
        long t = rows.size(0), d = rows.size(1);
        Tensor xc = rows.contiguous();
        Tensor sums = Tensor.uninitialized(starts.length, d);
        float[] counts = new float[starts.length];
        for (int s = 0; s < starts.length; s++) {
            if (starts[s] < 0 || lens[s] <= 0 || (long) starts[s] + lens[s] > t) {
                throw new IllegalArgumentException("segmentMean: segment " + s + " (start " + starts[s] + ", length " + lens[s] + ") is empty or outside the " + t + " rows");
            }
            Tensor.k().sumAxis(xc.f32("segmentMean").asSlice(4L * starts[s] * d, 4L * lens[s] * d), sums.segment().asSlice(4L * s * d, 4L * d), 1, lens[s], d);
            counts[s] = lens[s];
        }
        return sums.div(Tensor.of(counts, starts.length, 1));
    }

    static Tensor max(Tensor x, int axis, boolean keepDim) {
        int d = Shapes.axis("max", axis, x.rank());
        long[] shape = x.shape();
        long[] oli = Shapes.outerLenInner(shape, d);
        Tensor xc = x.contiguous();
        long[] outShape = keepDim ? Shapes.withOne(shape, d) : Shapes.without(shape, d);
        Tensor y = Tensor.zeros(outShape);
        Tensor arg = Tensor.zeros(DType.I32, outShape);
        Tensor.k().maxAxis(xc.f32("max"), y.segment(), arg.segment(), oli[0], oli[1], oli[2]);
        return Autograd.record("max", y, g -> {
            Tensor dx = Tensor.zeros(shape);
            var gs = g.contiguous().segment();
            var as = arg.segment();
            var ds = dx.segment();
            long outer = oli[0], len = oli[1], inner = oli[2];
            for (long o = 0; o < outer; o++) {
                for (long i = 0; i < inner; i++) {
                    long a = as.getAtIndex(Tensor.I32, o * inner + i);
                    ds.setAtIndex(Tensor.F32, (o * len + a) * inner + i, gs.getAtIndex(Tensor.F32, o * inner + i));
                }
            }
            Autograd.accumulate(x, dx);
        }, x);
    }

    /** Sums g over the axes that broadcasting expanded, so that the result has the given shape. */
    static Tensor sumToShape(Tensor g, long[] shape) {
        long[] gs = g.shape();
        if (Arrays.equals(gs, shape)) return g;
        Tensor r = g;
        int lead = gs.length - shape.length;
        for (int i = 0; i < lead; i++) r = sum(r, 0, false);
        for (int i = 0; i < shape.length; i++) {
            if (shape[i] == 1 && r.shape()[i] != 1) r = sum(r, i, true);
        }
        if (!Arrays.equals(r.shape(), shape)) {
            throw new IllegalStateException("sumToShape: cannot reduce " + Shapes.str(gs) + " to " + Shapes.str(shape));
        }
        return r;
    }
}
