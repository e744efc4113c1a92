package org.realmjava.tensor;

/** Element types. Compute is f32; bf16 is a storage type; i32 holds ids and indices. */
public enum DType {
    F32(4), BF16(2), I32(4);

    public final int bytes;

    DType(int bytes) {
        this.bytes = bytes;
    }

    /** Rounds an f32 to bf16 (round to nearest even; NaN stays NaN). */
    public static short toBf16(float f) {
        int bits = Float.floatToRawIntBits(f);
        if (Float.isNaN(f)) return (short) ((bits >>> 16) | 0x40);
        int rounding = 0x7FFF + ((bits >>> 16) & 1);
        return (short) ((bits + rounding) >>> 16);
    }

    public static float fromBf16(short h) {
        return Float.intBitsToFloat((h & 0xFFFF) << 16);
    }
}
