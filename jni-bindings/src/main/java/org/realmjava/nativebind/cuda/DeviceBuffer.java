package org.realmjava.nativebind.cuda;

import java.lang.foreign.MemorySegment;

/**
 * Device memory from a context's caching allocator. Closing returns it to the cache (not to the
 * driver). Copies take native MemorySegments (host tensors are native already) and are synchronous.
 */
public final class DeviceBuffer implements AutoCloseable {
    private final CudaContext context;
    private final long ptr;
    private final long bytes;
    private boolean closed;

    DeviceBuffer(CudaContext context, long ptr, long bytes) {
        this.context = context;
        this.ptr = ptr;
        this.bytes = bytes;
    }

    /** The device address (CUdeviceptr). */
    public long address() {
        if (closed) throw new IllegalStateException("device buffer already closed");
        return ptr;
    }

    public long bytes() {
        return bytes;
    }

    /** Copies {@code src} (at most this buffer's size) to the start of this buffer. */
    public DeviceBuffer upload(MemorySegment src) {
        context.copyToDevice(address(), src, Math.min(bytes, src.byteSize()));
        return this;
    }

    /** Copies the start of this buffer into {@code dst} (at most this buffer's size). */
    public void download(MemorySegment dst) {
        context.copyToHost(dst, address(), Math.min(bytes, dst.byteSize()));
    }

    /** Sets every byte to zero. */
    public DeviceBuffer zero() {
        context.memsetZero(address(), bytes);
        return this;
    }

    @Override
    public void close() {
        if (!closed) {
            closed = true;
            context.allocator().release(ptr, bytes);
        }
    }
}
