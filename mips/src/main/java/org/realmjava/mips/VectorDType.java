package org.realmjava.mips;

/**
 * How an index stores its vectors. Compute is always f32: bf16 is widened on load, int8 is
 * multiplied by a per-vector scale (x ~ scale * q, scale = max|x| / 127).
 */
public enum VectorDType {
    F32(4), BF16(2), INT8(1);

    public final int bytes;

    VectorDType(int bytes) {
        this.bytes = bytes;
    }

    public static VectorDType parse(String s) {
        return switch (s.toLowerCase()) {
            case "f32", "float32" -> F32;
            case "bf16", "bfloat16" -> BF16;
            case "int8", "i8" -> INT8;
            default -> throw new IllegalArgumentException("unknown dtype '" + s + "': use f32, bf16 or int8");
        };
    }
}
