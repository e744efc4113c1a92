package org.realmjava.mips;

/** Rows of f32 vectors that can be read in any order without holding them all on the heap. */
public interface VectorSource extends AutoCloseable {
    int dim();

    long count();

    /** Copies rows [start, start + rows) into dst (row-major, rows * dim floats). */
    void read(long start, int rows, float[] dst);

    @Override
    default void close() {}

    /** A source over a matrix already in memory. */
    static VectorSource of(FloatMatrix m) {
        return new VectorSource() {
            @Override
            public int dim() {
                return m.dim();
            }

            @Override
            public long count() {
                return m.rows();
            }

            @Override
            public void read(long start, int rows, float[] dst) {
                System.arraycopy(m.data(), (int) start * m.dim(), dst, 0, rows * m.dim());
            }
        };
    }
}
