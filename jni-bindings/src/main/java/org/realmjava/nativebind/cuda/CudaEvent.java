package org.realmjava.nativebind.cuda;

import static org.bytedeco.cuda.global.cudart.*;

import org.bytedeco.cuda.cudart.CUevent_st;

/** A CUDA event, for timing GPU work between two points of a stream (the default one if null). */
public final class CudaEvent implements AutoCloseable {
    private final CudaContext context;
    private final CUevent_st event = new CUevent_st();

    public CudaEvent(CudaContext context) {
        this.context = context;
        context.makeCurrent();
        CudaCheck.driver(cuEventCreate(event, CU_EVENT_DEFAULT), "cuEventCreate");
    }

    public CudaEvent record(CudaStream stream) {
        context.makeCurrent();
        CudaCheck.driver(cuEventRecord(event, stream == null ? null : stream.handle()), "cuEventRecord");
        return this;
    }

    public void synchronize() {
        context.makeCurrent();
        CudaCheck.driver(cuEventSynchronize(event), "cuEventSynchronize");
    }

    /** Milliseconds between {@code start} and this event (both recorded and this one completed). */
    public float millisSince(CudaEvent start) {
        synchronize();
        float[] ms = new float[1];
        CudaCheck.driver(cuEventElapsedTime(ms, start.event, event), "cuEventElapsedTime");
        return ms[0];
    }

    @Override
    public void close() {
        context.makeCurrent();
        CudaCheck.driver(cuEventDestroy(event), "cuEventDestroy");
    }
}
