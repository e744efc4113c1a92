package org.realmjava.nativebind.cuda;

import org.bytedeco.javacpp.BytePointer;

/** Turns CUDA return codes into {@link CudaException}s that name the error and the call. */
public final class CudaCheck {
    private CudaCheck() {}

    public static void driver(int rc, String call) {
        if (rc != 0) throw new CudaException(call, driverErrorName(rc), rc);
    }

    public static void runtime(int rc, String call) {
        if (rc != 0) {
            BytePointer name = org.bytedeco.cuda.global.cudart.cudaGetErrorName(rc);
            throw new CudaException(call, name == null ? "cudaError " + rc : name.getString(), rc);
        }
    }

    public static String driverErrorName(int rc) {
        BytePointer p = new BytePointer((BytePointer) null);
        int r = org.bytedeco.cuda.global.cudart.cuGetErrorName(rc, p);
        return r == 0 && p.address() != 0 ? p.getString() : "CUresult " + rc;
    }
}
