package org.realmjava.nativebind.cuda;

/** A failed CUDA, cuBLAS or NVRTC call: carries the error's name and the call that returned it. */
public final class CudaException extends RuntimeException {
    private final String errorName;
    private final String call;

    public CudaException(String call, String errorName, int code) {
        super(call + " failed: " + errorName + " (" + code + ")");
        this.call = call;
        this.errorName = errorName;
    }

    public CudaException(String message) {
        super(message);
        this.call = "";
        this.errorName = "";
    }

    public String errorName() {
        return errorName;
    }

    public String call() {
        return call;
    }
}
