package org.realmjava.tensor;

import org.realmjava.tensor.kernels.Kernels;

/**
 * The packed-weight cache: a backend's packed form of a GEMM weight (panels laid out for its
 * micro-kernel, made once instead of in every inference product), kept on the weight tensor. An
 * entry is valid while the backend is the one that made it and the weight's memory has not been
 * written since: every write through the Tensor API (set, fill, copyFrom, an optimizer step,
 * {@link Tensor#markWritten}) counts in a counter shared by the tensor and its views. Per memory,
 * so an optimizer step makes only the parameters it wrote stale, not the packed weights of a
 * snapshot it never touched (an index refresh's copy of the document tower).
 */
final class PackedWeights {
    private PackedWeights() {}

    /** The packed form, the backend that made it, and the weight's write count when it was made. */
    record Entry(Object packed, Kernels by, long writes) {
        boolean validFor(Tensor w, Kernels kernels) {
            return by == kernels && writes == w.writes.get();
        }
    }

    /**
     * w [n, k] (row stride ldw)'s packed form: the cached one when still valid, else packed now
     * and cached; null when the backend keeps none or w has more than maxElements elements.
     */
    static Object of(Tensor w, int n, int k, int ldw, boolean bf16, long maxElements) {
        Kernels kernels = Tensor.k();
        Entry cached = w.packedWeight;
        if (cached != null && cached.validFor(w, kernels)) return cached.packed();
        if ((long) n * k > maxElements) return null;
        // the count is read before packing: a write during it leaves the packed form stale, not valid
        long writes = w.writes.get();
        var base = w.storage().asSlice(w.offset() * w.dtype().bytes);
        Object packed = bf16 ? kernels.packWeightBf16(base, ldw, n, k) : kernels.packWeight(base, ldw, n, k);
        if (packed != null) w.packedWeight = new Entry(packed, kernels, writes);
        return packed;
    }
}
