package org.realmjava.tensor;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import org.realmjava.tensor.parallel.Parallel;

/**
 * Copies between two tensors of the same shape and element size with any strides: the one way
 * views become contiguous. Runs of the innermost axis that are contiguous on both sides move
 * with one bulk copy; others element by element.
 */
final class StridedCopy {
    private StridedCopy() {}

    private static final jdk.incubator.vector.VectorSpecies<Float> F = org.realmjava.tensor.simd.SimdSpecies.FLOAT;
    /**
     * Runs up to this many floats move by vector loads and stores: MemorySegment.copy costs ~60 ns a
     * call, which made the head permute of attention ([b, L, heads, 32] -> [b, heads, L, 32]) run
     * at 2.5 ns per element.
     */
    private static final long SHORT_RUN = 256;

    private static void copyShortRun(MemorySegment s, long so, MemorySegment d, long doff, long inner) {
        long j = 0;
        long bound = F.loopBound(inner);
        for (; j < bound; j += F.length()) {
            jdk.incubator.vector.FloatVector.fromMemorySegment(F, s, (so + j) * 4, java.nio.ByteOrder.nativeOrder())
                    .intoMemorySegment(d, (doff + j) * 4, java.nio.ByteOrder.nativeOrder());
        }
        for (; j < inner; j++) d.setAtIndex(ValueLayout.JAVA_FLOAT, doff + j, s.getAtIndex(ValueLayout.JAVA_FLOAT, so + j));
    }

    static void copy(Tensor src, Tensor dst) {
        if (src.dtype().bytes != dst.dtype().bytes) {
            throw new IllegalArgumentException("copy: " + src.dtype() + " into " + dst.dtype() + " needs a conversion (use to())");
        }
        long[] shape = src.shape();
        long n = Shapes.numel(shape);
        if (n == 0) return;
        int bytes = src.dtype().bytes;
        MemorySegment s = src.storage(), d = dst.storage();
        if (shape.length == 0) {
            MemorySegment.copy(s, src.offset() * bytes, d, dst.offset() * bytes, bytes);
            return;
        }
        long[] ss = src.strides(), ds = dst.strides();
        int r = shape.length;
        long inner = shape[r - 1];
        long rows = n / inner;
        long sInner = ss[r - 1], dInner = ds[r - 1];
        Parallel.forRange(rows, Math.max(1, (1 << 16) / inner), (start, end) -> {
            long[] idx = new long[r - 1];
            // multi-index of row `start`
            long rem = start;
            for (int i = r - 2; i >= 0; i--) {
                idx[i] = rem % shape[i];
                rem /= shape[i];
            }
            for (long row = start; row < end; row++) {
                long so = src.offset(), doff = dst.offset();
                for (int i = 0; i < r - 1; i++) {
                    so += idx[i] * ss[i];
                    doff += idx[i] * ds[i];
                }
                if (sInner == 1 && dInner == 1 && bytes == 4 && inner <= SHORT_RUN) {
                    copyShortRun(s, so, d, doff, inner);
                } else if (sInner == 1 && dInner == 1) {
                    MemorySegment.copy(s, so * bytes, d, doff * bytes, inner * bytes);
                } else if (bytes == 4) {
                    for (long j = 0; j < inner; j++) {
                        d.setAtIndex(ValueLayout.JAVA_INT, doff + j * dInner, s.getAtIndex(ValueLayout.JAVA_INT, so + j * sInner));
                    }
                } else {
                    for (long j = 0; j < inner; j++) {
                        d.setAtIndex(ValueLayout.JAVA_SHORT, doff + j * dInner, s.getAtIndex(ValueLayout.JAVA_SHORT, so + j * sInner));
                    }
                }
                for (int i = r - 2; i >= 0; i--) {
                    if (++idx[i] < shape[i]) break;
                    idx[i] = 0;
                }
            }
        });
    }
}
