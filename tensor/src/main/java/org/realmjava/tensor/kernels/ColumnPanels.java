package org.realmjava.tensor.kernels;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

/**
 * The column-panel layout of an [m, n] f32 matrix, for intermediates that never leave the
 * kernels (the fused inference ops' QKV and FFN activations): the columns in panels of
 * {@link #WIDTH}, each panel an [m, WIDTH] row-major block, panel after panel; element (i, j) at
 * {@code (j / WIDTH) * m * WIDTH + i * WIDTH + j % WIDTH}. The last panel is allocated whole; its
 * columns past n are never written or read.
 *
 * <p>Why: a GEMM writing a row-major C stores each 8-row tile as 8 short runs one C row apart
 * (4.6 KB for a 2,048 x 1,152 QKV product); into panels the same tile is one contiguous 1 KB run.
 * Measured on the packed-weight GEMM at M = 2,048 (one JVM, alternating): 1.05-1.07x the
 * throughput on MiniLM's QKV, FFN-up and FFN-down shapes, the same bits. A head of attention (32 or
 * 64 columns) is then one or two contiguous [tokens, 32] blocks instead of a strided column strip.
 */
public final class ColumnPanels {
    /** Columns per panel: a multiple of every CPU micro-tile width (2 vectors of 4, 8 or 16 floats). */
    public static final int WIDTH = 32;
    private static final ValueLayout.OfFloat F = ValueLayout.JAVA_FLOAT;

    private ColumnPanels() {}

    /** Floats an [m, n] matrix takes in panels (whole panels). */
    public static long floats(long m, long n) {
        return (n + WIDTH - 1) / WIDTH * WIDTH * m;
    }

    /** The float index of element (i, j) of a panel matrix of m rows. */
    public static long index(long m, long i, long j) {
        return (j / WIDTH * m + i) * WIDTH + j % WIDTH;
    }

    /** dst[i * ldd + j] = element (i, j) of the [m, n] panel matrix src (the scalar reference of a read). */
    public static void toRows(MemorySegment src, int m, int n, MemorySegment dst, int ldd) {
        for (int i = 0; i < m; i++) {
            for (int j = 0; j < n; j++) dst.setAtIndex(F, (long) i * ldd + j, src.getAtIndex(F, index(m, i, j)));
        }
    }

    /** Element (i, j) of the [m, n] panel matrix dst = src[i * lds + j] (the scalar reference of a write). */
    public static void fromRows(MemorySegment src, int lds, int m, int n, MemorySegment dst) {
        for (int i = 0; i < m; i++) {
            for (int j = 0; j < n; j++) dst.setAtIndex(F, index(m, i, j), src.getAtIndex(F, (long) i * lds + j));
        }
    }
}
