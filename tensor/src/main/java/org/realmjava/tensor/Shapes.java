package org.realmjava.tensor;

import java.util.Arrays;

/** Shape arithmetic shared by the ops. */
final class Shapes {
    private Shapes() {}

    static long numel(long[] shape) {
        long n = 1;
        for (long d : shape) n = Math.multiplyExact(n, d);
        return n;
    }

    static long[] contiguousStrides(long[] shape) {
        long[] s = new long[shape.length];
        long acc = 1;
        for (int i = shape.length - 1; i >= 0; i--) {
            s[i] = acc;
            acc *= Math.max(1, shape[i]);
        }
        return s;
    }

    static String str(long[] shape) {
        return Arrays.toString(shape);
    }

    /** Normalises a possibly negative axis against rank. */
    static int axis(String op, int axis, int rank) {
        int a = axis < 0 ? axis + rank : axis;
        if (a < 0 || a >= rank) {
            throw new IllegalArgumentException(op + ": axis " + axis + " out of range for a tensor of rank " + rank);
        }
        return a;
    }

    /** NumPy broadcasting of two shapes, or an error naming the op and both shapes. */
    static long[] broadcast(String op, long[] a, long[] b) {
        int rank = Math.max(a.length, b.length);
        long[] out = new long[rank];
        for (int i = 0; i < rank; i++) {
            long da = i < rank - a.length ? 1 : a[i - (rank - a.length)];
            long db = i < rank - b.length ? 1 : b[i - (rank - b.length)];
            if (da != db && da != 1 && db != 1) {
                throw new IllegalArgumentException(op + ": shapes " + str(a) + " and " + str(b)
                        + " do not broadcast (dim " + i + ": " + da + " vs " + db + ")");
            }
            out[i] = da == 1 ? db : da;
        }
        return out;
    }

    static long[] without(long[] shape, int axis) {
        long[] out = new long[shape.length - 1];
        for (int i = 0, j = 0; i < shape.length; i++) if (i != axis) out[j++] = shape[i];
        return out;
    }

    static long[] withOne(long[] shape, int axis) {
        long[] out = shape.clone();
        out[axis] = 1;
        return out;
    }

    /** product of dims before axis, the axis, product after. */
    static long[] outerLenInner(long[] shape, int axis) {
        long outer = 1, inner = 1;
        for (int i = 0; i < axis; i++) outer *= shape[i];
        for (int i = axis + 1; i < shape.length; i++) inner *= shape[i];
        return new long[] {outer, shape[axis], inner};
    }
}
