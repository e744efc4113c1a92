// Shared device helpers for the realm-java kernels (included by every .cu family; NVRTC gets it
// as a named header). No CUDA headers are needed: bf16 is handled as its raw 16 bits.
#pragma once

// NVRTC compiles without the host math headers that define INFINITY under nvcc
#ifndef INFINITY
#define INFINITY __int_as_float(0x7f800000)
#endif

typedef unsigned long long u64;
typedef unsigned int u32;
typedef unsigned short u16;

// The block's dynamic shared memory (sized at launch), declared once for every kernel.
extern __shared__ __align__(16) unsigned char realm_smem[];

// bf16 is the top half of an f32: widening is a shift, exact.
__device__ __forceinline__ float bf16_to_f32(u16 h) { return __uint_as_float(((u32)h) << 16); }

// Typed element access for kernels templated on the storage type (f32, or bf16 as u16).
__device__ __forceinline__ float load_f32(const float* p, long long i) { return p[i]; }
__device__ __forceinline__ float load_f32(const u16* p, long long i) { return __uint_as_float(((u32)p[i]) << 16); }

// f32 -> bf16, round to nearest even; NaN stays NaN (same rule as DType.toBf16 on the CPU).
__device__ __forceinline__ u16 f32_to_bf16(float f) {
    u32 u = __float_as_uint(f);
    if ((u & 0x7fffffffu) > 0x7f800000u) return (u16)((u >> 16) | 0x40);
    u += 0x7fffu + ((u >> 16) & 1u);
    return (u16)(u >> 16);
}

__device__ __forceinline__ void store_f32(float* p, long long i, float v) { p[i] = v; }
__device__ __forceinline__ void store_f32(u16* p, long long i, float v) { p[i] = f32_to_bf16(v); }

// Sum over a full warp (every lane gets it).
__device__ __forceinline__ float warp_sum(float v) {
    for (int off = 16; off > 0; off >>= 1) v += __shfl_xor_sync(0xffffffffu, v, off);
    return v;
}
__device__ __forceinline__ float warp_max(float v) {
    for (int off = 16; off > 0; off >>= 1) v = fmaxf(v, __shfl_xor_sync(0xffffffffu, v, off));
    return v;
}

// Top-k keys: one u64 per candidate, larger = better. High half: the score's bits mapped so
// unsigned order is float order; low half: ~id, so equal scores prefer the lower id (the CPU
// TopKCollector's tie rule). Key 0 is "empty" (no real candidate has it: ids < 2^32 - 1).
__device__ __forceinline__ u32 ordered_bits(float f) {
    u32 u = __float_as_uint(f);
    return (u & 0x80000000u) ? ~u : (u | 0x80000000u);
}
__device__ __forceinline__ float from_ordered_bits(u32 o) {
    u32 u = (o & 0x80000000u) ? (o & 0x7fffffffu) : ~o;
    return __uint_as_float(u);
}
__device__ __forceinline__ u64 make_key(float score, u32 id) {
    return ((u64)ordered_bits(score) << 32) | (u64)(0xffffffffu - id);
}
__device__ __forceinline__ u32 key_id(u64 key) { return 0xffffffffu - (u32)(key & 0xffffffffu); }
__device__ __forceinline__ float key_score(u64 key) { return from_ordered_bits((u32)(key >> 32)); }

// Bitonic sort of n (a power of two) keys in shared memory, descending, by the whole block.
__device__ __forceinline__ void bitonic_sort_desc(u64* keys, int n) {
    for (int size = 2; size <= n; size <<= 1) {
        for (int stride = size >> 1; stride > 0; stride >>= 1) {
            for (int i = threadIdx.x; i < n; i += blockDim.x) {
                int j = i ^ stride;
                if (j > i) {
                    bool desc = (i & size) == 0;
                    u64 a = keys[i], b = keys[j];
                    if (desc ? (a < b) : (a > b)) { keys[i] = b; keys[j] = a; }
                }
            }
            __syncthreads();
        }
    }
}

// A block's running top-k: keys[0, kp) hold the best so far (sorted after each flush), keys[kp, p)
// is a staging area that threads append to when a candidate beats the threshold (the current
// k-th best). A flush sorts all p keys and keeps the best kp. Every call below is block-wide.
struct BlockTopK {
    u64* keys;      // shared, p entries
    int* count;     // shared: staged candidates
    u64* threshold; // shared: a candidate must be > this
    int k, kp, p;

    __device__ void init(const u64* initial) {
        for (int i = threadIdx.x; i < p; i += blockDim.x) keys[i] = (initial != nullptr && i < kp) ? initial[i] : 0ull;
        if (threadIdx.x == 0) *count = 0;
        __syncthreads();
        if (threadIdx.x == 0) *threshold = initial != nullptr ? keys[k - 1] : 0ull;
        __syncthreads();
    }
    // Called by one thread per candidate, between block-wide syncs.
    __device__ __forceinline__ void offer(u64 key) {
        if (key > *threshold) {
            int at = atomicAdd(count, 1);
            keys[kp + at] = key;
        }
    }
    __device__ void flush() {
        __syncthreads();
        int staged = *count;
        for (int i = kp + staged + threadIdx.x; i < p; i += blockDim.x) keys[i] = 0ull;
        __syncthreads();
        bitonic_sort_desc(keys, p);
        if (threadIdx.x == 0) { *count = 0; *threshold = keys[k - 1]; }
        __syncthreads();
    }
    // Flushes when fewer than `room` staging slots are left.
    __device__ void flush_if_needed(int room) {
        __syncthreads();
        if (*count > p - kp - room) flush();
    }
};
