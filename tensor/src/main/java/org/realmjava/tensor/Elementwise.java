package org.realmjava.tensor;

import java.util.Arrays;
import org.realmjava.tensor.kernels.BinaryOp;
import org.realmjava.tensor.kernels.UnaryOp;

/** Element-wise ops with broadcasting, forward and backward side by side. */
final class Elementwise {
    private Elementwise() {}

    static Tensor unary(UnaryOp op, Tensor input) {
        String name = op.name().toLowerCase();
        Tensor x = Tensor.computeF32(name, input);
        Tensor xc = x.contiguous();
        Tensor y = Tensor.uninitialized(x.shape());
        Tensor.k().unary(op, xc.f32(name), y.segment(), y.numel());
        return Autograd.record(name, y, g -> {
            Tensor dx = Tensor.zeros(x.shape());
            Tensor.k().unaryBackward(op, xc.segment(), y.segment(), g.contiguous().segment(), dx.segment(), dx.numel());
            Autograd.accumulate(x, dx);
        }, x);
    }

    static Tensor scale(Tensor x, float s) {
        Tensor xc = x.contiguous();
        Tensor y = Tensor.uninitialized(x.shape());
        Tensor.k().scale(xc.f32("scale"), s, y.segment(), y.numel());
        return Autograd.record("scale", y, g -> Autograd.accumulate(x, scale(g, s)), x);
    }

    static Tensor addScalar(Tensor x, float s) {
        return binary("add", BinaryOp.ADD, x, Tensor.full(s, 1));
    }

    /** c = a op b with NumPy broadcasting. */
    static Tensor binary(String name, BinaryOp op, Tensor first, Tensor second) {
        Tensor a = Tensor.computeF32(name, first), b = Tensor.computeF32(name, second);
        long[] shape = Shapes.broadcast(name, a.shape(), b.shape());
        Tensor c = Tensor.uninitialized(shape);
        long n = c.numel();
        if (Arrays.equals(a.shape(), shape) && Arrays.equals(b.shape(), shape)) {
            Tensor.k().binary(op, a.contiguous().segment(), b.contiguous().segment(), c.segment(), n);
        } else if (Arrays.equals(a.shape(), shape) && isTrailingRow(b.shape(), shape)) {
            long cols = Math.max(1, b.numel());
            Tensor.k().binaryRow(op, a.contiguous().segment(), b.contiguous().segment(), c.segment(), n / cols, cols);
        } else {
            Tensor ae = a.detach().expand(shape).contiguous(), be = b.detach().expand(shape).contiguous();
            Tensor.k().binary(op, ae.segment(), be.segment(), c.segment(), n);
        }
        return Autograd.record(name, c, g -> {
            switch (op) {
                case ADD -> {
                    Autograd.accumulate(a, Reductions.sumToShape(g, a.shape()));
                    Autograd.accumulate(b, Reductions.sumToShape(g, b.shape()));
                }
                case SUB -> {
                    Autograd.accumulate(a, Reductions.sumToShape(g, a.shape()));
                    if (b.requiresGrad()) Autograd.accumulate(b, Reductions.sumToShape(scale(g, -1f), b.shape()));
                }
                case MUL -> {
                    if (a.requiresGrad()) Autograd.accumulate(a, Reductions.sumToShape(g.mul(b), a.shape()));
                    if (b.requiresGrad()) Autograd.accumulate(b, Reductions.sumToShape(g.mul(a), b.shape()));
                }
                case DIV -> {
                    if (a.requiresGrad()) Autograd.accumulate(a, Reductions.sumToShape(g.div(b), a.shape()));
                    // d(a/b)/db = -a/b^2 = -c/b
                    if (b.requiresGrad()) Autograd.accumulate(b, Reductions.sumToShape(scale(g.mul(c).div(b), -1f), b.shape()));
                }
            }
        }, a, b);
    }

    /** True when small (without leading 1s) equals the trailing dims of full. */
    private static boolean isTrailingRow(long[] small, long[] full) {
        int lead = 0;
        while (lead < small.length && small[lead] == 1) lead++;
        int len = small.length - lead;
        if (len > full.length) return false;
        for (int i = 0; i < len; i++) if (small[lead + i] != full[full.length - len + i]) return false;
        return true;
    }

    /** out = value where mask != 0, x elsewhere; mask broadcasts to x. The gradient is zero under the mask. */
    static Tensor maskedFill(Tensor x, Tensor mask, float value) {
        x.requireDType("maskedFill", DType.F32);
        long[] shape = x.shape();
        if (!Arrays.equals(Shapes.broadcast("maskedFill", shape, mask.shape()), shape)) {
            throw new IllegalArgumentException("maskedFill: mask " + Shapes.str(mask.shape()) + " does not broadcast to " + Shapes.str(shape));
        }
        Tensor m = mask.detach().to(DType.F32).expand(shape).contiguous();
        Tensor xc = x.contiguous();
        Tensor out = Tensor.zeros(shape);
        var ms = m.segment();
        var xs = xc.segment();
        var os = out.segment();
        for (long i = 0, n = out.numel(); i < n; i++) {
            os.setAtIndex(Tensor.F32, i, ms.getAtIndex(Tensor.F32, i) != 0f ? value : xs.getAtIndex(Tensor.F32, i));
        }
        return Autograd.record("maskedFill", out, g -> {
            Tensor keep = Tensor.ones(shape).sub(m);
            Autograd.accumulate(x, g.mul(keep));
        }, x);
    }
}
