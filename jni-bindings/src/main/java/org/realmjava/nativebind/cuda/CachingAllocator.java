package org.realmjava.nativebind.cuda;

import java.util.ArrayDeque;
import java.util.Map;
import java.util.TreeMap;

/**
 * Device memory with a cache, so that the allocations of every training step (same sizes each
 * time) cost a map lookup instead of a synchronizing cuMemAlloc/cuMemFree. Sizes are rounded (to
 * 512 bytes below 1 MiB, to 2 MiB above) and freed blocks wait, by rounded size, for the next
 * request of that size. When the device is out of memory the cache is returned to the driver and
 * the allocation retried once. The raw allocator is an interface so the policy is tested without
 * a GPU.
 */
public final class CachingAllocator {
    /** cuMemAlloc / cuMemFree, or a fake in tests. alloc throws {@link CudaException} when out of memory. */
    public interface Raw {
        long alloc(long bytes);

        void free(long ptr);
    }

    private static final long SMALL = 1L << 20, SMALL_STEP = 512, LARGE_STEP = 2L << 20;

    private final Raw raw;
    private final TreeMap<Long, ArrayDeque<Long>> cache = new TreeMap<>();
    private long inUse, cached, peak, rawAllocs;

    public CachingAllocator(Raw raw) {
        this.raw = raw;
    }

    /** The size a request of {@code bytes} occupies. */
    public static long rounded(long bytes) {
        if (bytes <= 0) return SMALL_STEP;
        long step = bytes < SMALL ? SMALL_STEP : LARGE_STEP;
        return (bytes + step - 1) / step * step;
    }

    /** A device pointer to at least {@code bytes} bytes; give it back with {@link #release}. */
    public synchronized long allocate(long bytes) {
        long size = rounded(bytes);
        ArrayDeque<Long> free = cache.get(size);
        long ptr;
        if (free != null && !free.isEmpty()) {
            ptr = free.pop();
            cached -= size;
        } else {
            try {
                ptr = raw.alloc(size);
            } catch (CudaException e) {
                if (cached == 0) throw e;
                emptyCache();
                ptr = raw.alloc(size);
            }
            rawAllocs++;
        }
        inUse += size;
        peak = Math.max(peak, inUse);
        return ptr;
    }

    /** Returns a block obtained with {@code allocate(bytes)} to the cache. */
    public synchronized void release(long ptr, long bytes) {
        long size = rounded(bytes);
        cache.computeIfAbsent(size, s -> new ArrayDeque<>()).push(ptr);
        inUse -= size;
        cached += size;
    }

    /** Gives every cached block back to the driver. */
    public synchronized void emptyCache() {
        for (Map.Entry<Long, ArrayDeque<Long>> e : cache.entrySet()) {
            for (long p : e.getValue()) raw.free(p);
        }
        cache.clear();
        cached = 0;
    }

    public synchronized long bytesInUse() {
        return inUse;
    }

    public synchronized long bytesCached() {
        return cached;
    }

    public synchronized long peakBytes() {
        return peak;
    }

    /** How many times the raw allocator was called (cache misses). */
    public synchronized long rawAllocations() {
        return rawAllocs;
    }
}
