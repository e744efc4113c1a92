package org.realmjava.nativebind;

import org.bytedeco.javacpp.FloatPointer;
import org.bytedeco.javacpp.Loader;
import org.bytedeco.javacpp.Pointer;
import org.bytedeco.openblas.global.openblas_full;

/**
 * OpenBLAS through the JavaCPP presets, on raw native addresses.
 *
 * <p>Callers pass addresses of off-heap memory (for example {@code MemorySegment.address()}),
 * so no data is copied. This class checks nothing about shapes: the caller validates them
 * first, because a bad leading dimension here is a native crash, not an exception.
 */
public final class OpenBlas {
    private static final int ROW_MAJOR = 101;
    private static final int NO_TRANS = 111;
    private static final int TRANS = 112;

    private static final String LOAD_ERROR;

    static {
        String error = null;
        try {
            Loader.load(openblas_full.class);
        } catch (Throwable t) {
            error = t.getClass().getSimpleName() + ": " + t.getMessage();
        }
        LOAD_ERROR = error;
    }

    private OpenBlas() {}

    /** True when the native library loaded on this machine. */
    public static boolean available() {
        return LOAD_ERROR == null;
    }

    /** Why the library did not load, or null when it did. */
    public static String loadError() {
        return LOAD_ERROR;
    }

    /** The OpenBLAS build string (version, core type it chose, thread model). */
    public static String config() {
        requireLoaded();
        return openblas_full.openblas_get_config().getString() + " core=" + openblas_full.openblas_get_corename().getString();
    }

    /** The name of the kernel set OpenBLAS chose for this processor (or was told to use by OPENBLAS_CORETYPE), e.g. "Haswell". */
    public static String coreName() {
        requireLoaded();
        return openblas_full.openblas_get_corename().getString();
    }

    /**
     * The vector width in bits of the SGEMM kernels of the core set {@code name} (as
     * {@link #coreName()} reports it): 512 for the AVX-512 sets, 256 for the AVX2/AVX ones, 128
     * otherwise (SSE, NEON, unknown names).
     */
    public static int kernelVectorBits(String name) {
        String n = name.trim().toLowerCase(java.util.Locale.ROOT);
        if (n.equals("skylakex") || n.equals("cooperlake") || n.equals("sapphirerapids") || n.equals("zen4") || n.equals("zen5")) return 512;
        if (n.equals("haswell") || n.equals("zen") || n.equals("sandybridge") || n.equals("excavator") || n.equals("steamroller")
                || n.equals("piledriver") || n.equals("bulldozer") || n.equals("skylake")) return 256;
        return 128;
    }

    public static void setThreads(int threads) {
        requireLoaded();
        openblas_full.openblas_set_num_threads(threads);
    }

    /**
     * Row-major {@code C = alpha * op(A) op(B) + beta * C} on native addresses, where op is an
     * optional transpose; A is m x k after op, B is k x n after op, C is m x n.
     */
    public static void sgemm(boolean transA, boolean transB, int m, int n, int k, float alpha,
                             long a, int lda, long b, int ldb, float beta, long c, int ldc) {
        requireLoaded();
        try (Address pa = new Address(a); Address pb = new Address(b); Address pc = new Address(c)) {
            openblas_full.cblas_sgemm(ROW_MAJOR, transA ? TRANS : NO_TRANS, transB ? TRANS : NO_TRANS,
                    m, n, k, alpha, pa, lda, pb, ldb, beta, pc, ldc);
        }
    }

    private static void requireLoaded() {
        if (LOAD_ERROR != null) throw new IllegalStateException("OpenBLAS is not available: " + LOAD_ERROR);
    }

    /** A FloatPointer over memory that someone else owns; closing it frees nothing. */
    private static final class Address extends FloatPointer {
        Address(long address) {
            super((Pointer) null);
            this.address = address;
        }

        @Override
        public void close() {
            this.address = 0; // the memory belongs to the caller
        }
    }
}
