package org.realmjava.nativebind.cuda;

import static org.bytedeco.cuda.global.cublas.*;

import java.nio.file.Path;
import org.bytedeco.cuda.cublas.cublasContext;
import org.bytedeco.javacpp.FloatPointer;
import org.bytedeco.javacpp.Loader;
import org.bytedeco.javacpp.Pointer;

/**
 * cuBLAS GEMMs in the engine's row-major convention. A row-major C = op(A) op(B) is the
 * column-major C^T = op(B)^T op(A)^T, so each call passes B first; no data moves. f32 GEMMs use
 * cuBLAS's default math (true f32, no TF32), so results compare with the CPU at f32 tolerance;
 * bf16 GEMMs use tensor cores with f32 accumulation.
 */
public final class Cublas {
    private static volatile String loadError;
    private static volatile boolean loaded;

    private final CudaContext context;
    private final cublasContext handle = new cublasContext();

    private Cublas(CudaContext context) {
        this.context = context;
        check(cublasCreate_v2(handle), "cublasCreate");
    }

    static Cublas create(CudaContext context) {
        String err = load(Cuda.libraries());
        if (err != null) throw new CudaException("cuBLAS unavailable: " + err);
        return new Cublas(context);
    }

    /** For {@code realm devices}: "13.x loaded from DIR" or why not. */
    static String probe(CudaLibraries libs) {
        String err = load(libs);
        return err == null ? "loaded from " + libs.find(CudaLibraries.CUBLAS).getParent() : "unavailable (" + err + "; GEMMs stay on the CPU)";
    }

    private static synchronized String load(CudaLibraries libs) {
        if (loaded) return null;
        if (loadError != null) return loadError;
        Path lt = libs.find(CudaLibraries.CUBLAS_LT), blas = libs.find(CudaLibraries.CUBLAS);
        if (lt == null) return loadError = libs.missing(CudaLibraries.CUBLAS_LT);
        if (blas == null) return loadError = libs.missing(CudaLibraries.CUBLAS);
        for (Path p : new Path[] {lt, blas}) {
            String e = CudaLibraries.preload(p);
            if (e != null) return loadError = "cannot load " + e;
        }
        try {
            Loader.load(org.bytedeco.cuda.global.cublas.class);
        } catch (Throwable t) {
            return loadError = "cannot load the JavaCPP cuBLAS bindings: " + t.getMessage();
        }
        loaded = true;
        return null;
    }

    private static void check(int status, String call) {
        if (status != CUBLAS_STATUS_SUCCESS) {
            String name;
            try {
                name = cublasGetStatusName(status).getString();
            } catch (Throwable t) {
                name = "cublasStatus " + status;
            }
            throw new CudaException(call, name, status);
        }
    }

    /**
     * Row-major f32 C[m,n] = alpha op(A) op(B) + beta C on device pointers, with the same
     * transpose and leading-dimension conventions as the CPU {@code Kernels.gemm}.
     */
    public void sgemm(boolean transA, boolean transB, int m, int n, int k, float alpha, long a, int lda, long b, int ldb,
                      float beta, long c, int ldc) {
        context.makeCurrent();
        try (FloatPointer al = new FloatPointer(alpha); FloatPointer be = new FloatPointer(beta)) {
            check(cublasSgemm_v2(handle, transB ? CUBLAS_OP_T : CUBLAS_OP_N, transA ? CUBLAS_OP_T : CUBLAS_OP_N, n, m, k, al,
                    new FloatPointer(Pointers.at(b)), ldb, new FloatPointer(Pointers.at(a)), lda, be, new FloatPointer(Pointers.at(c)), ldc), "cublasSgemm");
        }
    }

    /** Row-major GEMM with bf16 A and B, f32 C, f32 accumulation (tensor cores). */
    public void gemmBf16(boolean transA, boolean transB, int m, int n, int k, float alpha, long a, int lda, long b, int ldb,
                         float beta, long c, int ldc) {
        context.makeCurrent();
        try (FloatPointer al = new FloatPointer(alpha); FloatPointer be = new FloatPointer(beta)) {
            int bf16 = org.bytedeco.cuda.global.cudart.CUDA_R_16BF, f32 = org.bytedeco.cuda.global.cudart.CUDA_R_32F;
            check(cublasGemmEx(handle, transB ? CUBLAS_OP_T : CUBLAS_OP_N, transA ? CUBLAS_OP_T : CUBLAS_OP_N, n, m, k, al,
                    Pointers.at(b), bf16, ldb, Pointers.at(a), bf16, lda, be, Pointers.at(c), f32, ldc, CUBLAS_COMPUTE_32F, CUBLAS_GEMM_DEFAULT), "cublasGemmEx(bf16)");
        }
    }

    /** Strided batched row-major f32 GEMM: batch i uses A + i*strideA etc. (strides in elements). */
    public void sgemmStridedBatched(boolean transA, boolean transB, int m, int n, int k, float alpha, long a, int lda, long strideA,
                                    long b, int ldb, long strideB, float beta, long c, int ldc, long strideC, int batch) {
        context.makeCurrent();
        try (FloatPointer al = new FloatPointer(alpha); FloatPointer be = new FloatPointer(beta)) {
            check(cublasSgemmStridedBatched(handle, transB ? CUBLAS_OP_T : CUBLAS_OP_N, transA ? CUBLAS_OP_T : CUBLAS_OP_N, n, m, k, al,
                    new FloatPointer(Pointers.at(b)), ldb, strideB, new FloatPointer(Pointers.at(a)), lda, strideA, be,
                    new FloatPointer(Pointers.at(c)), ldc, strideC, batch), "cublasSgemmStridedBatched");
        }
    }

}
