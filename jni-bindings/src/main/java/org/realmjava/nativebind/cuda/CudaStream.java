package org.realmjava.nativebind.cuda;

import static org.bytedeco.cuda.global.cudart.*;

import org.bytedeco.cuda.cudart.CUstream_st;

/** A non-blocking CUDA stream (does not synchronize with the legacy default stream). */
public final class CudaStream implements AutoCloseable {
    private final CudaContext context;
    private final CUstream_st stream = new CUstream_st();

    public CudaStream(CudaContext context) {
        this.context = context;
        context.makeCurrent();
        CudaCheck.driver(cuStreamCreate(stream, CU_STREAM_NON_BLOCKING), "cuStreamCreate");
    }

    CUstream_st handle() {
        return stream;
    }

    public void synchronize() {
        context.makeCurrent();
        CudaCheck.driver(cuStreamSynchronize(stream), "cuStreamSynchronize");
    }

    @Override
    public void close() {
        context.makeCurrent();
        CudaCheck.driver(cuStreamDestroy(stream), "cuStreamDestroy");
    }
}
