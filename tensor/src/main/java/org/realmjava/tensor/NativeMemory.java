package org.realmjava.tensor;

import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.MethodHandle;

/**
 * C aligned_alloc/free through the FFM linker: native memory without the zero-fill of
 * Arena.allocate, tied to an automatic arena so the GC frees it. Falls back to Arena.allocate
 * (zeroed) where the C library cannot be linked.
 *
 * <p>Large blocks are pooled: when the GC finds a tensor's block unreachable, a block of at least
 * {@link #POOL_MIN_BYTES} goes to a free list of its size class instead of to C free, and the next
 * request of that class takes it back. glibc serves such sizes with fresh mmap pages, so without
 * the pool every activation of every layer paid page faults and kernel zeroing on first touch
 * (measured: a GELU over 4096 x 1536 took 19 ms, of which the kernel itself is ~5 ms). Size classes
 * are 1/8 of a power of two apart (at most 12.5% slack), and the pool holds at most
 * {@code -Drealm.poolBytes} (default 1 GiB); beyond that blocks are freed.
 *
 * <p>Collections: tensor memory is freed when the GC finds the tensor unreachable, but tensors are
 * small Java objects, so the heap alone would rarely trigger a collection while native memory piles
 * up (fresh pages on every allocation: measured at 90% of inference time in page faults and
 * zeroing). Like direct ByteBuffers, {@link #allocate} asks for a collection after
 * {@code -Drealm.nativeGcBudgetBytes} (default 512 MiB) of native allocation; memory returned
 * early through {@link #releaseNow} counts against that budget no more.
 */
final class NativeMemory {
    private static final MethodHandle ALIGNED_ALLOC, FREE;
    private static final long ALIGN = 64;

    static {
        MethodHandle alloc = null, free = null;
        try {
            Linker linker = Linker.nativeLinker();
            var lookup = linker.defaultLookup();
            alloc = linker.downcallHandle(lookup.find("aligned_alloc").orElseThrow(),
                    FunctionDescriptor.of(ValueLayout.ADDRESS, ValueLayout.JAVA_LONG, ValueLayout.JAVA_LONG));
            free = linker.downcallHandle(lookup.find("free").orElseThrow(), FunctionDescriptor.ofVoid(ValueLayout.ADDRESS));
        } catch (Throwable t) {
            alloc = null;
        }
        ALIGNED_ALLOC = alloc;
        FREE = free;
    }

    private NativeMemory() {}

    static final long POOL_MIN_BYTES = 256 << 10;
    private static final long POOL_MAX_BYTES = Long.getLong("realm.poolBytes", 1L << 30);
    private static final java.util.concurrent.ConcurrentHashMap<Long, java.util.concurrent.ConcurrentLinkedDeque<Long>> POOL =
            new java.util.concurrent.ConcurrentHashMap<>();
    private static final java.util.concurrent.atomic.AtomicLong POOLED = new java.util.concurrent.atomic.AtomicLong();

    /** The size class of a request: a multiple of 64, rounded up to 1/8 of its power of two for large blocks. */
    static long sizeClass(long bytes) {
        long size = (bytes + ALIGN - 1) / ALIGN * ALIGN; // aligned_alloc wants a multiple of the alignment
        if (size < POOL_MIN_BYTES) return size;
        long step = Long.highestOneBit(size) >> 3;
        return (size + step - 1) / step * step;
    }

    /** Bytes waiting in the pool (for tests and diagnostics). */
    static long pooledBytes() {
        return POOLED.get();
    }

    /** Native bytes allocated since the last collection this class asked for. */
    private static final java.util.concurrent.atomic.AtomicLong SINCE_GC = new java.util.concurrent.atomic.AtomicLong();
    private static final long GC_BUDGET = Long.getLong("realm.nativeGcBudgetBytes", 512L << 20);

    /** Uninitialised native memory, 64-byte aligned, freed (C free or the pool) when the GC finds it unreachable. */
    static MemorySegment allocate(long bytes) {
        if (SINCE_GC.addAndGet(bytes) > GC_BUDGET) {
            SINCE_GC.set(0);
            System.gc();
        }
        if (ALIGNED_ALLOC == null) return Arena.ofAuto().allocate(bytes, ALIGN);
        long size = sizeClass(bytes);
        long address = 0;
        if (size >= POOL_MIN_BYTES) {
            var free = POOL.get(size);
            Long reused = free == null ? null : free.poll();
            if (reused != null) {
                POOLED.addAndGet(-size);
                address = reused;
            }
        }
        if (address == 0) {
            MemorySegment raw;
            try {
                raw = (MemorySegment) ALIGNED_ALLOC.invokeExact(ALIGN, size);
            } catch (Throwable t) {
                throw new IllegalStateException("aligned_alloc failed", t);
            }
            if (raw.address() == 0) {
                drainPool(); // give pooled blocks back to C and try once more
                try {
                    raw = (MemorySegment) ALIGNED_ALLOC.invokeExact(ALIGN, size);
                } catch (Throwable t) {
                    throw new IllegalStateException("aligned_alloc failed", t);
                }
                if (raw.address() == 0) throw new OutOfMemoryError("native allocation of " + size + " bytes failed");
            }
            address = raw.address();
        }
        Block block = new Block(address, size);
        MemorySegment segment = MemorySegment.ofAddress(address).reinterpret(bytes, Arena.ofAuto(), s -> block.release());
        block.segment = new java.lang.ref.WeakReference<>(segment); // weak: the GC must still find the segment unreachable
        LIVE.put(address, block);
        return segment;
    }

    /**
     * A block handed out by {@link #allocate}: returned once, either when the GC finds its segment
     * unreachable or earlier through {@link #releaseNow}.
     */
    private static final class Block {
        final long address, size;
        final java.util.concurrent.atomic.AtomicBoolean returned = new java.util.concurrent.atomic.AtomicBoolean();
        /** The segment handed out for this block: a later block at the same address belongs to another. */
        java.lang.ref.WeakReference<MemorySegment> segment;

        Block(long address, long size) {
            this.address = address;
            this.size = size;
        }

        boolean release() {
            if (!returned.compareAndSet(false, true)) return false;
            LIVE.remove(address, this);
            NativeMemory.release(address, size);
            return true;
        }
    }

    /** Blocks handed out and not yet returned, by address (for {@link #releaseNow}). */
    private static final java.util.concurrent.ConcurrentHashMap<Long, Block> LIVE = new java.util.concurrent.ConcurrentHashMap<>();

    /**
     * Returns the block that starts at seg's address now, instead of when the GC finds it
     * unreachable; the segment's later cleanup then does nothing. True when a block was returned
     * (false: not a block of ours, e.g. the Arena fallback, or already returned).
     */
    static boolean releaseNow(MemorySegment seg) {
        Block b = LIVE.get(seg.address());
        // the address may already belong to a newer block (this one released, its memory reused)
        if (b == null || b.segment.get() != seg || !b.release()) return false;
        long bytes = seg.byteSize();
        SINCE_GC.updateAndGet(v -> Math.max(0, v - bytes)); // memory back without a collection
        return true;
    }

    private static void release(long address, long size) {
        if (size >= POOL_MIN_BYTES && POOLED.addAndGet(size) <= POOL_MAX_BYTES) {
            POOL.computeIfAbsent(size, k -> new java.util.concurrent.ConcurrentLinkedDeque<>()).push(address);
            return;
        }
        if (size >= POOL_MIN_BYTES) POOLED.addAndGet(-size);
        free(address);
    }

    /** Frees every pooled block. */
    static void drainPool() {
        for (var e : POOL.entrySet()) {
            Long a;
            while ((a = e.getValue().poll()) != null) {
                POOLED.addAndGet(-e.getKey());
                free(a);
            }
        }
    }

    private static void free(long address) {
        try {
            FREE.invokeExact(MemorySegment.ofAddress(address));
        } catch (Throwable t) {
            throw new IllegalStateException("free failed", t);
        }
    }
}
