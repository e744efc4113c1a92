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

    static MemorySegment allocate(long bytes) {
        if (ALIGNED_ALLOC == null) return Arena.ofAuto().allocate(bytes, ALIGN);
        long size = (bytes + ALIGN - 1) / ALIGN * ALIGN; // aligned_alloc wants a multiple of the alignment
        MemorySegment raw;
        try {
            raw = (MemorySegment) ALIGNED_ALLOC.invokeExact(ALIGN, size);
        } catch (Throwable t) {
            throw new IllegalStateException("aligned_alloc failed", t);
        }
        if (raw.address() == 0) throw new OutOfMemoryError("native allocation of " + size + " bytes failed");
        long address = raw.address();
        return raw.reinterpret(bytes, Arena.ofAuto(), s -> free(address));
    }

    private static void free(long address) {
        try {
            FREE.invokeExact(MemorySegment.ofAddress(address));
        } catch (Throwable t) {
            throw new IllegalStateException("free failed", t);
        }
    }
}
