package org.realmjava.tensor;

import java.util.Arrays;
import java.util.List;
import java.util.function.DoubleBinaryOperator;
import java.util.function.DoubleUnaryOperator;

/**
 * A row-major double-precision array with the handful of operations the ops' double references
 * are written in ({@link GradCheck#checkDouble}): broadcasting arithmetic, reductions and row
 * operations along an axis, views made as copies, batched products. Written plainly, for
 * correctness only: each method is the textbook definition in double.
 */
final class DoubleRef {
    final double[] v;
    final int[] shape;

    DoubleRef(double[] v, int... shape) {
        if (v.length != numel(shape)) throw new IllegalArgumentException(v.length + " values for shape " + Arrays.toString(shape));
        this.v = v;
        this.shape = shape.clone();
    }

    /** The input array of a check with its tensor's shape. */
    static DoubleRef of(double[] v, Tensor like) {
        return new DoubleRef(v, dims(like.shape()));
    }

    static DoubleRef of(Tensor t) {
        float[] f = t.toFloatArray();
        double[] d = new double[f.length];
        for (int i = 0; i < f.length; i++) d[i] = f[i];
        return new DoubleRef(d, dims(t.shape()));
    }

    static int[] dims(long[] shape) {
        int[] s = new int[shape.length];
        for (int i = 0; i < s.length; i++) s[i] = Math.toIntExact(shape[i]);
        return s;
    }

    static int numel(int[] shape) {
        int n = 1;
        for (int s : shape) n *= s;
        return n;
    }

    int rank() {
        return shape.length;
    }

    private int axis(int a) {
        return a < 0 ? a + shape.length : a;
    }

    private static int[] strides(int[] shape) {
        int[] st = new int[shape.length];
        int s = 1;
        for (int i = shape.length - 1; i >= 0; i--) {
            st[i] = s;
            s *= shape[i];
        }
        return st;
    }

    // ---- shapes

    DoubleRef reshape(int... s) {
        int[] t = s.clone();
        int known = 1, free = -1;
        for (int i = 0; i < t.length; i++) {
            if (t[i] == -1) free = i;
            else known *= t[i];
        }
        if (free >= 0) t[free] = v.length / known;
        return new DoubleRef(v, t);
    }

    DoubleRef permute(int... order) {
        int[] out = new int[order.length];
        for (int i = 0; i < order.length; i++) out[i] = shape[order[i]];
        int[] inSt = strides(shape), idx = new int[order.length];
        double[] r = new double[v.length];
        for (int flat = 0; flat < r.length; flat++) {
            int src = 0;
            for (int i = 0; i < order.length; i++) src += idx[i] * inSt[order[i]];
            r[flat] = v[src];
            for (int i = order.length - 1; i >= 0 && ++idx[i] == out[i]; i--) idx[i] = 0;
        }
        return new DoubleRef(r, out);
    }

    DoubleRef transpose(int a, int b) {
        int[] order = new int[rank()];
        for (int i = 0; i < order.length; i++) order[i] = i;
        order[axis(a)] = axis(b);
        order[axis(b)] = axis(a);
        return permute(order);
    }

    /** The order that moves axis a last, and back. */
    private int[] lastOrder(int a) {
        int[] order = new int[rank()];
        for (int i = 0, j = 0; i < rank(); i++) if (i != a) order[j++] = i;
        order[rank() - 1] = a;
        return order;
    }

    private static int[] inverse(int[] order) {
        int[] inv = new int[order.length];
        for (int i = 0; i < order.length; i++) inv[order[i]] = i;
        return inv;
    }

    DoubleRef unsqueeze(int a) {
        int[] s = new int[rank() + 1];
        for (int i = 0, j = 0; i < s.length; i++) s[i] = i == a ? 1 : shape[j++];
        return new DoubleRef(v, s);
    }

    DoubleRef expand(int... s) {
        return zip(this, new DoubleRef(new double[numel(s)], s), (x, y) -> x);
    }

    // ---- elementwise

    DoubleRef map(DoubleUnaryOperator f) {
        double[] r = new double[v.length];
        for (int i = 0; i < r.length; i++) r[i] = f.applyAsDouble(v[i]);
        return new DoubleRef(r, shape);
    }

    /** f(a, b) with numpy broadcasting. */
    static DoubleRef zip(DoubleRef a, DoubleRef b, DoubleBinaryOperator f) {
        int rank = Math.max(a.rank(), b.rank());
        int[] out = new int[rank], as = pad(a.shape, rank), bs = pad(b.shape, rank);
        for (int i = 0; i < rank; i++) {
            if (as[i] != bs[i] && as[i] != 1 && bs[i] != 1) throw new IllegalArgumentException(Arrays.toString(a.shape) + " vs " + Arrays.toString(b.shape));
            out[i] = Math.max(as[i], bs[i]);
        }
        int[] ast = strides(as), bst = strides(bs), idx = new int[rank];
        double[] r = new double[numel(out)];
        for (int flat = 0; flat < r.length; flat++) {
            int ia = 0, ib = 0;
            for (int i = 0; i < rank; i++) {
                if (as[i] != 1) ia += idx[i] * ast[i];
                if (bs[i] != 1) ib += idx[i] * bst[i];
            }
            r[flat] = f.applyAsDouble(a.v[ia], b.v[ib]);
            for (int i = rank - 1; i >= 0 && ++idx[i] == out[i]; i--) idx[i] = 0;
        }
        return new DoubleRef(r, out);
    }

    private static int[] pad(int[] s, int rank) {
        int[] p = new int[rank];
        Arrays.fill(p, 1);
        System.arraycopy(s, 0, p, rank - s.length, s.length);
        return p;
    }

    DoubleRef add(DoubleRef o) {
        return zip(this, o, Double::sum);
    }

    DoubleRef sub(DoubleRef o) {
        return zip(this, o, (x, y) -> x - y);
    }

    DoubleRef mul(DoubleRef o) {
        return zip(this, o, (x, y) -> x * y);
    }

    DoubleRef div(DoubleRef o) {
        return zip(this, o, (x, y) -> x / y);
    }

    DoubleRef scale(double s) {
        return map(x -> x * s);
    }

    // ---- along an axis: each row of the axis moved last

    /** A function of one row (the values along the axis) to its new values (same length, or 1 when reducing). */
    @FunctionalInterface
    interface Row {
        double[] apply(double[] row);
    }

    DoubleRef alongAxis(int a, boolean keep, Row f) {
        a = axis(a);
        int[] order = lastOrder(a);
        DoubleRef moved = permute(order);
        int n = shape[a], rows = v.length / Math.max(1, n);
        double[] first = f.apply(Arrays.copyOfRange(moved.v, 0, n));
        int m = first.length;
        double[] r = new double[rows * m];
        for (int i = 0; i < rows; i++) System.arraycopy(i == 0 ? first : f.apply(Arrays.copyOfRange(moved.v, i * n, (i + 1) * n)), 0, r, i * m, m);
        int[] ms = moved.shape.clone();
        ms[ms.length - 1] = m;
        DoubleRef back = new DoubleRef(r, ms).permute(inverse(order));
        if (m != 1 || keep) return back;
        int[] s = new int[rank() - 1];
        for (int i = 0, j = 0; i < rank(); i++) if (i != a) s[j++] = shape[i];
        return new DoubleRef(back.v, s);
    }

    DoubleRef sum(int a, boolean keep) {
        return alongAxis(a, keep, row -> new double[] {Arrays.stream(row).sum()});
    }

    DoubleRef sumAll() {
        return new DoubleRef(new double[] {Arrays.stream(v).sum()}, new int[0]);
    }

    DoubleRef mean(int a, boolean keep) {
        int n = shape[axis(a)];
        return sum(a, keep).scale(1.0 / n);
    }

    DoubleRef max(int a, boolean keep) {
        return alongAxis(a, keep, row -> new double[] {Arrays.stream(row).max().orElseThrow()});
    }

    static double[] softmaxRow(double[] row) {
        double max = Arrays.stream(row).max().orElseThrow(), sum = 0;
        double[] p = new double[row.length];
        for (int i = 0; i < row.length; i++) sum += p[i] = Math.exp(row[i] - max);
        for (int i = 0; i < row.length; i++) p[i] /= sum;
        return p;
    }

    static double logSumExpRow(double[] row) {
        double max = Arrays.stream(row).max().orElseThrow(), sum = 0;
        for (double x : row) sum += Math.exp(x - max);
        return max + Math.log(sum);
    }

    DoubleRef softmax(int a) {
        return alongAxis(a, true, DoubleRef::softmaxRow);
    }

    DoubleRef logSoftmax(int a) {
        return alongAxis(a, true, row -> {
            double lse = logSumExpRow(row);
            return Arrays.stream(row).map(x -> x - lse).toArray();
        });
    }

    DoubleRef logSumExp(int a, boolean keep) {
        return alongAxis(a, keep, row -> new double[] {logSumExpRow(row)});
    }

    DoubleRef narrow(int a, int start, int len) {
        return alongAxis(a, true, row -> Arrays.copyOfRange(row, start, start + len));
    }

    DoubleRef select(int a, int i) {
        DoubleRef n = narrow(a, i, 1);
        int[] s = new int[rank() - 1];
        for (int k = 0, j = 0; k < rank(); k++) if (k != axis(a)) s[j++] = shape[k];
        return new DoubleRef(n.v, s);
    }

    /** Picks slices along axis a by ids (a flat list; the axis becomes ids.length long). */
    DoubleRef indexSelect(int a, int[] ids) {
        return alongAxis(a, true, row -> Arrays.stream(ids).mapToDouble(i -> row[i]).toArray());
    }

    static DoubleRef concat(List<DoubleRef> parts, int a) {
        DoubleRef first = parts.get(0);
        int ax = first.axis(a);
        int[] order = first.lastOrder(ax);
        List<DoubleRef> moved = parts.stream().map(p -> p.permute(order)).toList();
        int rows = first.v.length / first.shape[ax], total = parts.stream().mapToInt(p -> p.shape[ax]).sum();
        double[] r = new double[rows * total];
        for (int i = 0; i < rows; i++) {
            int at = i * total;
            for (DoubleRef p : moved) {
                int n = p.shape[p.rank() - 1];
                System.arraycopy(p.v, i * n, r, at, n);
                at += n;
            }
        }
        int[] ms = moved.get(0).shape.clone();
        ms[ms.length - 1] = total;
        return new DoubleRef(r, ms).permute(inverse(order));
    }

    static DoubleRef stack(List<DoubleRef> parts, int a) {
        return concat(parts.stream().map(p -> p.unsqueeze(a)).toList(), a);
    }

    // ---- products

    /** Matrix product over the last two axes with broadcast batch axes; a 1-d left operand is a row vector. */
    DoubleRef matmul(DoubleRef b) {
        if (rank() == 1) {
            DoubleRef r = unsqueeze(0).matmul(b);
            int[] s = Arrays.copyOfRange(r.shape, 0, r.rank() - 2);
            int[] out = Arrays.copyOf(s, s.length + 1);
            out[s.length] = r.shape[r.rank() - 1];
            return new DoubleRef(r.v, out);
        }
        int m = shape[rank() - 2], k = shape[rank() - 1], n = b.shape[b.rank() - 1];
        if (b.shape[b.rank() - 2] != k) throw new IllegalArgumentException("matmul " + Arrays.toString(shape) + " x " + Arrays.toString(b.shape));
        int batchRank = Math.max(rank(), b.rank()) - 2;
        int[] ab = pad(Arrays.copyOf(shape, rank() - 2), batchRank), bb = pad(Arrays.copyOf(b.shape, b.rank() - 2), batchRank), ob = new int[batchRank];
        for (int i = 0; i < batchRank; i++) ob[i] = Math.max(ab[i], bb[i]);
        int batches = numel(ob);
        int[] ast = strides(ab), bst = strides(bb), idx = new int[batchRank];
        double[] r = new double[batches * m * n];
        for (int t = 0; t < batches; t++) {
            int ia = 0, ib = 0;
            for (int i = 0; i < batchRank; i++) {
                if (ab[i] != 1) ia += idx[i] * ast[i];
                if (bb[i] != 1) ib += idx[i] * bst[i];
            }
            for (int i = 0; i < m; i++) {
                for (int j = 0; j < n; j++) {
                    double s = 0;
                    for (int p = 0; p < k; p++) s += v[(ia * m + i) * k + p] * b.v[(ib * k + p) * n + j];
                    r[(t * m + i) * n + j] = s;
                }
            }
            for (int i = batchRank - 1; i >= 0 && ++idx[i] == ob[i]; i--) idx[i] = 0;
        }
        int[] out = Arrays.copyOf(ob, batchRank + 2);
        out[batchRank] = m;
        out[batchRank + 1] = n;
        return new DoubleRef(r, out);
    }

    /** x W^T + bias (bias may be null): a Linear layer. */
    static DoubleRef linear(DoubleRef x, DoubleRef w, DoubleRef bias) {
        DoubleRef y = x.matmul(w.transpose(0, 1));
        return bias == null ? y : y.add(bias);
    }

    // ---- scalar functions

    /** erf by its Maclaurin series (|x| <= 3: ~1e-15; the checks use |x| < 2). */
    static double erf(double x) {
        double sum = 0, term = x;
        for (int n = 0; n < 120; n++) {
            double add = term / (2 * n + 1);
            sum += add;
            if (Math.abs(add) < 1e-18 * Math.abs(sum)) break;
            term *= -x * x / (n + 1);
        }
        return 2 / Math.sqrt(Math.PI) * sum;
    }

    static double geluErf(double x) {
        return 0.5 * x * (1 + erf(x / Math.sqrt(2)));
    }

    static double geluTanh(double x) {
        return 0.5 * x * (1 + Math.tanh(Math.sqrt(2 / Math.PI) * (x + 0.044715 * x * x * x)));
    }

    /**
     * Multi-head attention as {@link Ops#attention} defines it: q, k, v [batch, len, heads * d],
     * mask [batch, len] added to the scaled scores; probabilities times keep [batch, heads, len, len]
     * (dropout's kept-and-scaled mask, or null).
     */
    static DoubleRef attention(DoubleRef q, DoubleRef k, DoubleRef v, DoubleRef mask, int heads, double scale, DoubleRef keep) {
        int b = q.shape[0], len = q.shape[1], d = q.shape[2] / heads;
        DoubleRef qh = q.reshape(b, len, heads, d).permute(0, 2, 1, 3), kh = k.reshape(b, len, heads, d).permute(0, 2, 1, 3),
                vh = v.reshape(b, len, heads, d).permute(0, 2, 1, 3);
        DoubleRef p = qh.matmul(kh.transpose(2, 3)).scale(scale).add(mask.reshape(b, 1, 1, len)).softmax(-1);
        if (keep != null) p = p.mul(keep);
        return p.matmul(vh).permute(0, 2, 1, 3).reshape(b, len, heads * d);
    }

    static DoubleRef layerNorm(DoubleRef x, DoubleRef gamma, DoubleRef beta, double eps) {
        DoubleRef centred = x.sub(x.mean(-1, true));
        DoubleRef var = centred.mul(centred).mean(-1, true);
        return centred.div(var.map(s -> Math.sqrt(s + eps))).mul(gamma).add(beta);
    }
}
