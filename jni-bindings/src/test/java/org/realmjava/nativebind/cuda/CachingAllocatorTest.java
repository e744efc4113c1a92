package org.realmjava.nativebind.cuda;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.HashMap;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** The caching allocator's policy against a fake device with a fixed capacity. */
class CachingAllocatorTest {
    /** A device of `capacity` bytes: hands out increasing addresses, fails like cuMemAlloc when full. */
    static final class FakeDevice implements CachingAllocator.Raw {
        final long capacity;
        final Map<Long, Long> live = new HashMap<>();
        long next = 1L << 32, used, frees;

        FakeDevice(long capacity) {
            this.capacity = capacity;
        }

        @Override
        public long alloc(long bytes) {
            if (used + bytes > capacity) throw new CudaException("cuMemAlloc(" + bytes + " bytes)", "CUDA_ERROR_OUT_OF_MEMORY", 2);
            long p = next;
            next += bytes;
            live.put(p, bytes);
            used += bytes;
            return p;
        }

        @Override
        public void free(long ptr) {
            Long b = live.remove(ptr);
            if (b == null) throw new IllegalStateException("double or foreign free of " + ptr);
            used -= b;
            frees++;
        }
    }

    @Test
    void roundsSmallAndLargeRequests() {
        assertEquals(512, CachingAllocator.rounded(0));
        assertEquals(512, CachingAllocator.rounded(1));
        assertEquals(1024, CachingAllocator.rounded(513));
        assertEquals(1L << 20, CachingAllocator.rounded((1L << 20) - 1));
        assertEquals(2L << 20, CachingAllocator.rounded((1L << 20) + 1));
        assertEquals(4L << 20, CachingAllocator.rounded((2L << 20) + 1));
    }

    @Test
    void reusesFreedBlocksOfTheSameRoundedSize() {
        FakeDevice dev = new FakeDevice(1L << 30);
        CachingAllocator a = new CachingAllocator(dev);
        long p = a.allocate(1000);
        a.release(p, 1000);
        assertEquals(1024, a.bytesCached());
        long q = a.allocate(700); // rounds to 1024 as well: the cached block comes back
        assertEquals(p, q);
        assertEquals(1, a.rawAllocations());
        long r = a.allocate(5000);
        assertNotEquals(q, r);
        assertEquals(2, a.rawAllocations());
        assertEquals(1024 + 5120, a.bytesInUse());
        assertEquals(a.bytesInUse(), a.peakBytes());
    }

    @Test
    void outOfMemoryEmptiesTheCacheAndRetriesOnce() {
        FakeDevice dev = new FakeDevice(8L << 20);
        CachingAllocator a = new CachingAllocator(dev);
        long p = a.allocate(6L << 20);
        a.release(p, 6L << 20);
        long q = a.allocate(4L << 20); // 6 MiB cached + 4 MiB > 8 MiB: the cache goes back first
        assertEquals(1, dev.frees);
        assertEquals(0, a.bytesCached());
        assertTrue(dev.live.containsKey(q));
        CudaException e = assertThrows(CudaException.class, () -> a.allocate(6L << 20));
        assertEquals("CUDA_ERROR_OUT_OF_MEMORY", e.errorName());
        a.release(q, 4L << 20);
        a.emptyCache();
        assertEquals(0, dev.used);
    }
}
