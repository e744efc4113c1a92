package org.realmjava.tensor;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.Arrays;
import java.util.Random;
import org.realmjava.tensor.kernels.BinaryOp;
import org.realmjava.tensor.kernels.Kernels;
import org.realmjava.tensor.kernels.UnaryOp;

/**
 * A dense, row-major, strided tensor over off-heap memory.
 *
 * <p>Storage is a {@link MemorySegment} (64-byte aligned, freed by the GC through an automatic
 * arena), so a tensor may exceed 2^31 elements and its address can be handed to native code
 * without copying. Views (reshape, transpose, permute, narrow, select, expand) share storage and
 * differ in offset, shape and strides. Kernels only see contiguous memory: ops call
 * {@link #contiguous()} first, which copies only when needed.
 *
 * <p>Autograd: a tensor with {@link #requiresGrad()} either is a leaf (its gradient accumulates in
 * {@link #grad()}) or carries the {@link Autograd.Node} that produced it.
 */
public final class Tensor {
    static final ValueLayout.OfFloat F32 = ValueLayout.JAVA_FLOAT;
    static final ValueLayout.OfShort BF16 = ValueLayout.JAVA_SHORT;
    static final ValueLayout.OfInt I32 = ValueLayout.JAVA_INT;

    private final MemorySegment data;
    private final long offset;
    private final long[] shape;
    private final long[] strides;
    private final DType dtype;

    private boolean requiresGrad;
    private boolean retainGrad;
    private Tensor grad;
    private Autograd.Node node;
    private String name;
    /** A backend's packed form of this tensor as a GEMM weight ({@link PackedWeights}). */
    volatile PackedWeights.Entry packedWeight;

    /**
     * Writes into this memory through this API (set, fill, copyFrom, optimizer steps,
     * {@link #markWritten()}); one counter shared by a tensor and every view of its memory.
     */
    final java.util.concurrent.atomic.AtomicLong writes;

    /** A tensor over fresh memory (its own write counter). */
    Tensor(MemorySegment data, long offset, long[] shape, long[] strides, DType dtype) {
        this(data, offset, shape, strides, dtype, new java.util.concurrent.atomic.AtomicLong());
    }

    /** A view: the same memory as the tensor whose write counter is passed. */
    Tensor(MemorySegment data, long offset, long[] shape, long[] strides, DType dtype, java.util.concurrent.atomic.AtomicLong writes) {
        this.data = data;
        this.offset = offset;
        this.shape = shape;
        this.strides = strides;
        this.dtype = dtype;
        this.writes = writes;
    }

    // ------------------------------------------------------------------ creation

    /**
     * Uninitialised native memory, 64-byte aligned, freed (C free) when the GC finds it
     * unreachable. Ops whose kernels overwrite every element use it directly and skip the
     * zero-fill that Arena.allocate always does (measured as the largest cost of small-batch
     * inference); {@link #zeros} fills it. When to ask for a collection is {@link NativeMemory}'s.
     */
    static MemorySegment allocate(long elements, DType dtype) {
        return NativeMemory.allocate(Math.max(1, elements) * dtype.bytes);
    }

    /**
     * Frees this tensor's memory now rather than when the GC finds it unreachable: for inference
     * code that knows an intermediate is dead (a layer's activations once the next one has read
     * them), so that its block is reused at once and no collection is needed to get it back. The
     * tensor and every view of its memory must not be used afterwards (their reads would see the
     * memory's next owner). Only a tensor that owns its memory from offset 0 and records no
     * gradient can be released; returns false when there was nothing to do (a view, an already
     * released tensor, memory not from this allocator).
     */
    public boolean release() {
        if (requiresGrad()) throw new IllegalStateException("release: the tensor is part of an autograd graph");
        return offset == 0 && NativeMemory.releaseNow(data);
    }

    /** A new tensor whose contents are undefined: only for outputs a kernel overwrites completely. */
    static Tensor uninitialized(long... shape) {
        checkShape("uninitialized", shape);
        return new Tensor(allocate(Shapes.numel(shape), DType.F32), 0, shape.clone(), Shapes.contiguousStrides(shape), DType.F32);
    }

    /** A new zero-filled tensor. */
    public static Tensor zeros(DType dtype, long... shape) {
        checkShape("zeros", shape);
        long n = Shapes.numel(shape);
        MemorySegment seg = allocate(n, dtype);
        seg.fill((byte) 0);
        return new Tensor(seg, 0, shape.clone(), Shapes.contiguousStrides(shape), dtype);
    }

    public static Tensor zeros(long... shape) {
        return zeros(DType.F32, shape);
    }

    public static Tensor full(float value, long... shape) {
        Tensor t = zeros(shape);
        t.fillFresh(value);
        return t;
    }

    public static Tensor ones(long... shape) {
        return full(1f, shape);
    }

    public static Tensor scalar(float value) {
        return full(value);
    }

    /** An f32 tensor holding a copy of values (row-major), of the given shape. */
    public static Tensor of(float[] values, long... shape) {
        if (shape.length == 0 && values.length != 1) shape = new long[] {values.length};
        checkShape("of", shape);
        if (Shapes.numel(shape) != values.length) {
            throw new IllegalArgumentException("of: " + values.length + " values do not fill shape " + Shapes.str(shape));
        }
        Tensor t = zeros(shape);
        MemorySegment.copy(values, 0, t.data, F32, 0, values.length);
        return t;
    }

    /** An i32 tensor holding a copy of values. */
    public static Tensor ofInts(int[] values, long... shape) {
        if (shape.length == 0) shape = new long[] {values.length};
        checkShape("ofInts", shape);
        if (Shapes.numel(shape) != values.length) {
            throw new IllegalArgumentException("ofInts: " + values.length + " values do not fill shape " + Shapes.str(shape));
        }
        Tensor t = zeros(DType.I32, shape);
        MemorySegment.copy(values, 0, t.data, I32, 0, values.length);
        return t;
    }

    /** Standard normal samples times std, from a seeded generator. */
    public static Tensor randn(Random rng, float std, long... shape) {
        Tensor t = zeros(shape);
        long n = t.numel();
        for (long i = 0; i < n; i++) t.data.setAtIndex(F32, i, (float) (rng.nextGaussian() * std));
        return t;
    }

    /** Uniform samples in [lo, hi). */
    public static Tensor uniform(Random rng, float lo, float hi, long... shape) {
        Tensor t = zeros(shape);
        long n = t.numel();
        for (long i = 0; i < n; i++) t.data.setAtIndex(F32, i, lo + (hi - lo) * rng.nextFloat());
        return t;
    }

    private static void checkShape(String op, long[] shape) {
        for (long d : shape) {
            if (d < 0) throw new IllegalArgumentException(op + ": negative dimension in shape " + Shapes.str(shape));
        }
    }

    // ------------------------------------------------------------------ basic facts

    public long[] shape() {
        return shape.clone();
    }

    public long[] strides() {
        return strides.clone();
    }

    public int rank() {
        return shape.length;
    }

    public long size(int axis) {
        return shape[Shapes.axis("size", axis, shape.length)];
    }

    public long numel() {
        return Shapes.numel(shape);
    }

    public DType dtype() {
        return dtype;
    }

    public long offset() {
        return offset;
    }

    public String name() {
        return name;
    }

    public Tensor named(String n) {
        this.name = n;
        return this;
    }

    public boolean isContiguous() {
        long expected = 1;
        for (int i = shape.length - 1; i >= 0; i--) {
            if (shape[i] != 1 && strides[i] != expected) return false;
            expected *= shape[i];
        }
        return true;
    }

    /** The memory of a contiguous tensor, exactly numel elements long. */
    public MemorySegment segment() {
        if (!isContiguous()) throw new IllegalStateException("segment: tensor of shape " + Shapes.str(shape) + " is not contiguous");
        return data.asSlice(offset * dtype.bytes, Math.max(0, numel()) * dtype.bytes);
    }

    /** The f32 memory of a contiguous f32 tensor, for kernels. */
    MemorySegment f32(String op) {
        requireDType(op, DType.F32);
        return segment();
    }

    /**
     * The tensor as f32 for computing: f32 as is, bf16 widened (a copy, outside the graph: bf16
     * is a storage type and never requires a gradient), i32 rejected.
     */
    static Tensor computeF32(String op, Tensor t) {
        return switch (t.dtype) {
            case F32 -> t;
            case BF16 -> t.to(DType.F32);
            case I32 -> throw new IllegalArgumentException(op + ": expected a F32 (or BF16) tensor, got I32 of shape " + Shapes.str(t.shape));
        };
    }

    void requireDType(String op, DType expected) {
        if (dtype != expected) {
            throw new IllegalArgumentException(op + ": expected a " + expected + " tensor, got " + dtype + " of shape " + Shapes.str(shape));
        }
    }

    MemorySegment storage() {
        return data;
    }

    static Kernels k() {
        return Backend.current().kernels();
    }

    // ------------------------------------------------------------------ element access (slow path, for tests and small work)

    long flatOffset(long... index) {
        if (index.length != shape.length) {
            throw new IllegalArgumentException("index: " + index.length + " indices for a tensor of rank " + shape.length);
        }
        long o = offset;
        for (int i = 0; i < index.length; i++) {
            if (index[i] < 0 || index[i] >= shape[i]) {
                throw new IndexOutOfBoundsException("index: " + Arrays.toString(index) + " out of bounds for shape " + Shapes.str(shape));
            }
            o += index[i] * strides[i];
        }
        return o;
    }

    public float get(long... index) {
        long o = flatOffset(index);
        return switch (dtype) {
            case F32 -> data.getAtIndex(F32, o);
            case BF16 -> DType.fromBf16(data.getAtIndex(BF16, o));
            case I32 -> data.getAtIndex(I32, o);
        };
    }

    public int getInt(long... index) {
        requireDType("getInt", DType.I32);
        return data.getAtIndex(I32, flatOffset(index));
    }

    /**
     * Declares that this tensor's memory was written in place (through {@link #segment()} or a
     * kernel): caches derived from it or from any view of its memory ({@link PackedWeights}) are
     * dropped, others stay.
     * Optimizers and the in-place methods here call it themselves.
     */
    public Tensor markWritten() {
        writes.incrementAndGet();
        return this;
    }

    public void set(float value, long... index) {
        markWritten();
        long o = flatOffset(index);
        switch (dtype) {
            case F32 -> data.setAtIndex(F32, o, value);
            case BF16 -> data.setAtIndex(BF16, o, DType.toBf16(value));
            case I32 -> data.setAtIndex(I32, o, (int) value);
        }
    }

    /** The single value of a one-element tensor. */
    public float item() {
        if (numel() != 1) throw new IllegalStateException("item: tensor of shape " + Shapes.str(shape) + " has " + numel() + " elements, not 1");
        return get(new long[shape.length]);
    }

    /** All values in row-major order, converted to float. */
    public float[] toFloatArray() {
        Tensor c = (dtype == DType.F32 ? this : to(DType.F32)).contiguous();
        return c.segment().toArray(F32);
    }

    public int[] toIntArray() {
        requireDType("toIntArray", DType.I32);
        return contiguous().segment().toArray(I32);
    }

    /** Sets every element (no autograd; for initialisation). */
    public Tensor fill(float value) {
        markWritten();
        return fillFresh(value);
    }

    /** fill without counting a write: for tensors this package has just allocated (nothing caches them yet). */
    Tensor fillFresh(float value) {
        requireDType("fill", DType.F32);
        if (isContiguous()) {
            MemorySegment s = segment();
            if (value == 0f) s.fill((byte) 0);
            else for (long i = 0, n = numel(); i < n; i++) s.setAtIndex(F32, i, value);
        } else {
            StridedCopy.copy(full(value, shape), this);
        }
        return this;
    }

    /** Copies src (same shape, same dtype) into this tensor's memory, which may be a view. No autograd. */
    public Tensor copyFrom(Tensor src) {
        markWritten();
        return copyFromFresh(src);
    }

    /** copyFrom without counting a write: for tensors this package has just allocated. */
    Tensor copyFromFresh(Tensor src) {
        if (!Arrays.equals(shape, src.shape)) {
            throw new IllegalArgumentException("copyFrom: shape " + Shapes.str(src.shape) + " into " + Shapes.str(shape));
        }
        StridedCopy.copy(src.dtype == dtype ? src : src.to(dtype), this);
        return this;
    }

    // ------------------------------------------------------------------ autograd

    public boolean requiresGrad() {
        return requiresGrad;
    }

    /** Marks a leaf as a parameter whose gradient is accumulated. */
    public Tensor requiresGrad(boolean value) {
        if (value && dtype != DType.F32) throw new IllegalArgumentException("requiresGrad: only f32 tensors can require gradients, not " + dtype);
        if (node != null && !value) throw new IllegalStateException("requiresGrad(false) on a non-leaf: use detach()");
        this.requiresGrad = value;
        return this;
    }

    /** Keeps the gradient of a non-leaf tensor after backward (for inspection and tests). */
    public Tensor retainGrad() {
        this.retainGrad = true;
        return this;
    }

    boolean retainsGrad() {
        return retainGrad;
    }

    public Tensor grad() {
        return grad;
    }

    public void zeroGrad() {
        grad = null;
    }

    public Autograd.Node node() {
        return node;
    }

    void setNode(Autograd.Node n) {
        this.node = n;
        this.requiresGrad = true;
    }

    void accumulateGrad(Tensor g) {
        if (grad == null) {
            grad = g.isContiguous() && g.storage() != data ? g : g.copy();
        } else {
            grad.addInPlace(g);
        }
    }

    /** Backward from a scalar (one-element) tensor, seeded with 1. */
    public void backward() {
        if (numel() != 1) {
            throw new IllegalStateException("backward: needs a one-element tensor, got shape " + Shapes.str(shape) + "; pass a seed gradient");
        }
        Autograd.backward(this, full(1f, shape));
    }

    /** Backward seeded with d(loss)/d(this). */
    public void backward(Tensor seed) {
        if (!Arrays.equals(seed.shape, shape)) {
            throw new IllegalArgumentException("backward: seed shape " + Shapes.str(seed.shape) + " differs from " + Shapes.str(shape));
        }
        Autograd.backward(this, seed);
    }

    /** Same storage, no graph, no gradient. */
    public Tensor detach() {
        return new Tensor(data, offset, shape, strides, dtype, writes);
    }

    /** this += other in place (same shape; no autograd). Used for gradient accumulation. */
    void addInPlace(Tensor other) {
        Tensor o = other.contiguous();
        if (isContiguous()) {
            k().axpy(1f, o.segment(), segment(), numel());
        } else {
            copyFrom(Elementwise.binary("add", BinaryOp.ADD, this, o));
        }
    }

    // ------------------------------------------------------------------ views

    /** The same values in a new shape; one dimension may be -1. Copies only a non-contiguous tensor. */
    public Tensor reshape(long... newShape) {
        long[] s = newShape.clone();
        int infer = -1;
        long known = 1;
        for (int i = 0; i < s.length; i++) {
            if (s[i] == -1) {
                if (infer >= 0) throw new IllegalArgumentException("reshape: more than one -1 in " + Arrays.toString(newShape));
                infer = i;
            } else {
                if (s[i] < 0) throw new IllegalArgumentException("reshape: negative dimension in " + Arrays.toString(newShape));
                known *= s[i];
            }
        }
        long n = numel();
        if (infer >= 0) {
            if (known == 0 || n % known != 0) {
                throw new IllegalArgumentException("reshape: cannot reshape " + Shapes.str(shape) + " into " + Arrays.toString(newShape));
            }
            s[infer] = n / known;
        }
        if (Shapes.numel(s) != n) {
            throw new IllegalArgumentException("reshape: " + Shapes.str(shape) + " (" + n + " elements) into " + Shapes.str(s) + " (" + Shapes.numel(s) + ")");
        }
        Tensor c = contiguous();
        Tensor out = new Tensor(c.data, c.offset, s, Shapes.contiguousStrides(s), dtype, c.writes);
        long[] original = shape;
        return Autograd.record("reshape", out, g -> Autograd.accumulate(c, g.reshape(original)), c);
    }

    /** Swaps two axes (a view). */
    public Tensor transpose(int a, int b) {
        int x = Shapes.axis("transpose", a, rank()), y = Shapes.axis("transpose", b, rank());
        int[] perm = new int[rank()];
        for (int i = 0; i < perm.length; i++) perm[i] = i;
        perm[x] = y;
        perm[y] = x;
        return permute(perm);
    }

    /** Reorders axes: out.shape[i] = shape[dims[i]] (a view). */
    public Tensor permute(int... dims) {
        if (dims.length != rank()) throw new IllegalArgumentException("permute: " + dims.length + " axes for rank " + rank());
        long[] s = new long[dims.length], st = new long[dims.length];
        int[] inverse = new int[dims.length];
        boolean[] seen = new boolean[dims.length];
        for (int i = 0; i < dims.length; i++) {
            int d = Shapes.axis("permute", dims[i], rank());
            if (seen[d]) throw new IllegalArgumentException("permute: axis " + d + " repeated in " + Arrays.toString(dims));
            seen[d] = true;
            s[i] = shape[d];
            st[i] = strides[d];
            inverse[d] = i;
        }
        Tensor out = new Tensor(data, offset, s, st, dtype, writes);
        return Autograd.record("permute", out, g -> Autograd.accumulate(this, g.permute(inverse)), this);
    }

    /** Elements start .. start+length-1 along axis (a view). */
    public Tensor narrow(int axis, long start, long length) {
        int d = Shapes.axis("narrow", axis, rank());
        if (start < 0 || length < 0 || start + length > shape[d]) {
            throw new IndexOutOfBoundsException("narrow: [" + start + ", " + (start + length) + ") outside axis " + d + " of shape " + Shapes.str(shape));
        }
        long[] s = shape.clone();
        s[d] = length;
        Tensor out = new Tensor(data, offset + start * strides[d], s, strides, dtype, writes);
        return Autograd.record("narrow", out, g -> {
            Tensor full = zeros(shape);
            full.narrowView(d, start, length).copyFromFresh(g);
            Autograd.accumulate(this, full);
        }, this);
    }

    private Tensor narrowView(int d, long start, long length) {
        long[] s = shape.clone();
        s[d] = length;
        return new Tensor(data, offset + start * strides[d], s, strides, dtype, writes);
    }

    /** [start, end) along axis; negative indices count from the end. */
    public Tensor slice(int axis, long start, long end) {
        int d = Shapes.axis("slice", axis, rank());
        long s0 = start < 0 ? start + shape[d] : start, e0 = end < 0 ? end + shape[d] : end;
        return narrow(d, s0, e0 - s0);
    }

    /** Index i along axis, removing that axis (a view). */
    public Tensor select(int axis, long index) {
        int d = Shapes.axis("select", axis, rank());
        return narrow(d, index, 1).squeeze(d);
    }

    /** Adds an axis of size 1 at position axis (0..rank). */
    public Tensor unsqueeze(int axis) {
        int d = axis < 0 ? axis + rank() + 1 : axis;
        if (d < 0 || d > rank()) throw new IllegalArgumentException("unsqueeze: axis " + axis + " for rank " + rank());
        long[] s = new long[rank() + 1], st = new long[rank() + 1];
        for (int i = 0, j = 0; i < s.length; i++) {
            if (i == d) {
                s[i] = 1;
                st[i] = j < rank() ? strides[j] * shape[j] : 1;
            } else {
                s[i] = shape[j];
                st[i] = strides[j];
                j++;
            }
        }
        Tensor out = new Tensor(data, offset, s, st, dtype, writes);
        return Autograd.record("unsqueeze", out, g -> Autograd.accumulate(this, g.squeeze(d)), this);
    }

    /** Removes an axis of size 1. */
    public Tensor squeeze(int axis) {
        int d = Shapes.axis("squeeze", axis, rank());
        if (shape[d] != 1) throw new IllegalArgumentException("squeeze: axis " + d + " has size " + shape[d] + " in " + Shapes.str(shape));
        long[] s = Shapes.without(shape, d), st = new long[rank() - 1];
        for (int i = 0, j = 0; i < rank(); i++) if (i != d) st[j++] = strides[i];
        Tensor out = new Tensor(data, offset, s, st, dtype, writes);
        return Autograd.record("squeeze", out, g -> Autograd.accumulate(this, g.unsqueeze(d)), this);
    }

    /** Broadcasts to a larger shape with stride 0 on the expanded axes (a view). */
    public Tensor expand(long... target) {
        long[] full = Shapes.broadcast("expand", shape, target);
        if (!Arrays.equals(full, target)) {
            throw new IllegalArgumentException("expand: shape " + Shapes.str(shape) + " cannot expand to " + Arrays.toString(target));
        }
        long[] st = new long[target.length];
        int lead = target.length - rank();
        for (int i = 0; i < target.length; i++) {
            if (i < lead) st[i] = 0;
            else st[i] = shape[i - lead] == 1 && target[i] != 1 ? 0 : strides[i - lead];
        }
        Tensor out = new Tensor(data, offset, target.clone(), st, dtype, writes);
        return Autograd.record("expand", out, g -> Autograd.accumulate(this, Reductions.sumToShape(g, shape)), this);
    }

    /** This tensor when contiguous; otherwise a contiguous copy (gradient flows through). */
    public Tensor contiguous() {
        if (isContiguous()) return this;
        return copy();
    }

    /** A contiguous copy that owns new memory (gradient flows through). */
    public Tensor copy() {
        Tensor out = zeros(dtype, shape);
        StridedCopy.copy(this, out);
        return Autograd.record("copy", out, g -> Autograd.accumulate(this, g), this);
    }

    /** Converts the element type (f32 compute, bf16 storage, i32 ids). Gradient flows only f32 to f32. */
    public Tensor to(DType target) {
        if (target == dtype) return this;
        Tensor src = contiguous();
        Tensor out = zeros(target, shape);
        long n = numel();
        MemorySegment s = src.segment(), d = out.segment();
        for (long i = 0; i < n; i++) {
            float v = switch (dtype) {
                case F32 -> s.getAtIndex(F32, i);
                case BF16 -> DType.fromBf16(s.getAtIndex(BF16, i));
                case I32 -> s.getAtIndex(I32, i);
            };
            switch (target) {
                case F32 -> d.setAtIndex(F32, i, v);
                case BF16 -> d.setAtIndex(BF16, i, DType.toBf16(v));
                case I32 -> d.setAtIndex(I32, i, (int) v);
            }
        }
        return out;
    }

    // ------------------------------------------------------------------ ops (see the op classes for formulas)

    public Tensor add(Tensor o) { return Elementwise.binary("add", BinaryOp.ADD, this, o); }
    public Tensor sub(Tensor o) { return Elementwise.binary("sub", BinaryOp.SUB, this, o); }
    public Tensor mul(Tensor o) { return Elementwise.binary("mul", BinaryOp.MUL, this, o); }
    public Tensor div(Tensor o) { return Elementwise.binary("div", BinaryOp.DIV, this, o); }
    public Tensor add(float s) { return Elementwise.addScalar(this, s); }
    public Tensor scale(float s) { return Elementwise.scale(this, s); }
    public Tensor neg() { return Elementwise.scale(this, -1f); }
    public Tensor exp() { return Elementwise.unary(UnaryOp.EXP, this); }
    public Tensor log() { return Elementwise.unary(UnaryOp.LOG, this); }
    public Tensor sqrt() { return Elementwise.unary(UnaryOp.SQRT, this); }
    public Tensor tanh() { return Elementwise.unary(UnaryOp.TANH, this); }
    public Tensor relu() { return Elementwise.unary(UnaryOp.RELU, this); }
    /** GELU, exact erf form: x * Phi(x). */
    public Tensor gelu() { return Elementwise.unary(UnaryOp.GELU_ERF, this); }
    /** GELU, tanh approximation (Hendrycks and Gimpel). */
    public Tensor geluTanh() { return Elementwise.unary(UnaryOp.GELU_TANH, this); }

    public Tensor sum() { return Reductions.sumAll(this); }
    public Tensor sum(int axis, boolean keepDim) { return Reductions.sum(this, axis, keepDim); }
    public Tensor mean() { return Reductions.sumAll(this).scale(1f / numel()); }
    public Tensor mean(int axis, boolean keepDim) { return Reductions.sum(this, axis, keepDim).scale(1f / size(axis)); }
    public Tensor max(int axis, boolean keepDim) { return Reductions.max(this, axis, keepDim); }
    public Tensor softmax(int axis) { return RowOps.softmax(this, axis); }
    public Tensor logSoftmax(int axis) { return RowOps.logSoftmax(this, axis); }
    public Tensor logSumExp(int axis, boolean keepDim) { return RowOps.logSumExp(this, axis, keepDim); }

    /** Matrix product with batch broadcasting: [..., m, k] x [..., k, n]. */
    public Tensor matmul(Tensor o) { return LinearAlgebra.matmul(this, o); }

    /** Positions where mask (same shape or broadcastable, f32 0/1) is non-zero take value. */
    public Tensor maskedFill(Tensor mask, float value) { return Elementwise.maskedFill(this, mask, value); }

    @Override
    public String toString() {
        StringBuilder sb = new StringBuilder("Tensor(").append(dtype).append(' ').append(Shapes.str(shape));
        if (name != null) sb.append(' ').append(name);
        if (numel() <= 16) sb.append(' ').append(Arrays.toString(toFloatArray()));
        if (requiresGrad) sb.append(node == null ? " leaf" : " grad_fn=" + node.op());
        return sb.append(')').toString();
    }
}
