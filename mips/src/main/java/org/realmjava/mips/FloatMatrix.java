package org.realmjava.mips;

/** A small dense row-major f32 matrix held on the heap (queries, test data). */
public record FloatMatrix(float[] data, int rows, int dim) {
    public FloatMatrix {
        if ((long) rows * dim != data.length) {
            throw new IllegalArgumentException("FloatMatrix: " + data.length + " values for " + rows + " x " + dim);
        }
    }

    public float get(int row, int col) {
        return data[row * dim + col];
    }

    public float[] row(int r) {
        float[] out = new float[dim];
        System.arraycopy(data, r * dim, out, 0, dim);
        return out;
    }
}
