package org.realmjava.nativebind.cuda;

import java.lang.foreign.MemorySegment;
import org.bytedeco.javacpp.Pointer;

/** JavaCPP pointers over raw addresses: host MemorySegments and device addresses passed as void*. */
final class Pointers {
    private Pointers() {}

    static Pointer at(long address) {
        return new Pointer() {
            {
                this.address = address;
            }
        };
    }

    static Pointer of(MemorySegment s) {
        if (!s.isNative()) throw new IllegalArgumentException("CUDA copies need native (off-heap) memory, not a heap segment");
        return at(s.address());
    }
}
