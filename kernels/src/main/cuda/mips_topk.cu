// Exact maximum-inner-product top-k (MIPS) over a row-major database.
//
// Math: for query q (f32, d values) and database rows x_n (f32 or bf16 widened exactly to f32),
//   s_n = sum_j q_j * x_nj   (f32 accumulation),
// and the result is the k rows with the largest s_n, best first, ties broken by the lower row id;
// an optional excluded id per query never appears. Scores are reported as computed (f32).
// CPU reference: org.realmjava.mips.BruteForceSearch (exact scores) and FlatIndex (fast path).
//
// Regimes (chosen on the host, org.realmjava.mips.gpu.GpuFlatIndex):
//  - few queries: mips_scan_* streams the database once per chunk: a warp (or a sub-group of it,
//    for short rows) computes one row's dot with coalesced 16-byte loads, and a candidate that
//    beats the block's running k-th best is staged in shared memory; stage 1 leaves kp candidates
//    per (query, chunk), stage 2 (topk_merge) merges them per query.
//  - many queries: the host computes score tiles with cuBLAS (tensor cores for bf16) and
//    topk_tile_update folds each tile into a running per-query top-k state.
// Keys pack (score, ~id) into 64 bits (realm_common.cuh), so selection is an integer sort.
#include "realm_common.cuh"

#define MIPS_THREADS 256
#define ROUND_ROWS_PER_WARP 32
// staging room a round can fill: 8 warps x 32 rows
#define ROUND_ROWS (MIPS_THREADS / 32 * ROUND_ROWS_PER_WARP)

template <typename T, int V> struct RowLoad;

template <> struct RowLoad<float, 4> {
    static __device__ __forceinline__ float dot(const float* row, const float* q, int v) {
        float4 x = reinterpret_cast<const float4*>(row)[v];
        float4 y = reinterpret_cast<const float4*>(q)[v];
        return x.x * y.x + x.y * y.y + x.z * y.z + x.w * y.w;
    }
};
template <> struct RowLoad<float, 1> {
    static __device__ __forceinline__ float dot(const float* row, const float* q, int v) { return row[v] * q[v]; }
};
template <> struct RowLoad<u16, 8> {
    static __device__ __forceinline__ float dot(const u16* row, const float* q, int v) {
        uint4 x = reinterpret_cast<const uint4*>(row)[v];
        const float4* qq = reinterpret_cast<const float4*>(q) + 2 * v;
        float4 a = qq[0], b = qq[1];
        return __uint_as_float(x.x << 16) * a.x + __uint_as_float(x.x & 0xffff0000u) * a.y
             + __uint_as_float(x.y << 16) * a.z + __uint_as_float(x.y & 0xffff0000u) * a.w
             + __uint_as_float(x.z << 16) * b.x + __uint_as_float(x.z & 0xffff0000u) * b.y
             + __uint_as_float(x.w << 16) * b.z + __uint_as_float(x.w & 0xffff0000u) * b.w;
    }
};
template <> struct RowLoad<u16, 1> {
    static __device__ __forceinline__ float dot(const u16* row, const float* q, int v) { return bf16_to_f32(row[v]) * q[v]; }
};

// grid: x = query, y = chunk of rows. Dynamic shared memory: the query (d floats, padded to
// 16 bytes) then p keys. partial: [queries][chunks][kp] keys.
template <typename T, int V>
__device__ void scan(const T* __restrict__ db, long long n, int d, const float* __restrict__ queries,
                     const int* __restrict__ exclude, int k, int kp, int p, long long rows_per_chunk,
                     u64* __restrict__ partial) {
    unsigned char* smem = realm_smem;
    __shared__ int count;
    __shared__ u64 threshold;
    int qi = blockIdx.x, chunk = blockIdx.y;
    int dpad = (d + 3) & ~3;
    float* q = reinterpret_cast<float*>(smem);
    for (int j = threadIdx.x; j < dpad; j += blockDim.x) q[j] = j < d ? queries[(long long)qi * d + j] : 0.f;
    BlockTopK top{reinterpret_cast<u64*>(smem + dpad * sizeof(float)), &count, &threshold, k, kp, p};
    top.init(nullptr);
    long long excluded = exclude != nullptr ? (long long)exclude[qi] : -1;

    int vecs = d / V;                      // vector loads per row
    int group = 1;                         // lanes per row: a power of two >= vecs, at most 32
    while (group < vecs && group < 32) group <<= 1;
    int rows_per_step = 32 / group;
    int warp = threadIdx.x >> 5, lane = threadIdx.x & 31;
    int sub = lane / group, gl = lane % group;

    long long start = (long long)chunk * rows_per_chunk;
    long long end = min(n, start + rows_per_chunk);
    for (long long round = start; round < end; round += ROUND_ROWS) {
        // each warp takes 32 consecutive rows of this round, rows_per_step at a time
        long long warp_base = round + (long long)warp * ROUND_ROWS_PER_WARP;
        for (int s = 0; s < ROUND_ROWS_PER_WARP; s += rows_per_step) {
            long long row = warp_base + s + sub;
            float acc = 0.f;
            if (row < end) {
                const T* r = db + row * (long long)d;
                for (int v = gl; v < vecs; v += group) acc += RowLoad<T, V>::dot(r, q, v);
            }
            for (int off = group >> 1; off > 0; off >>= 1) acc += __shfl_xor_sync(0xffffffffu, acc, off);
            if (gl == 0 && row < end && row != excluded) top.offer(make_key(acc, (u32)row));
        }
        top.flush_if_needed(ROUND_ROWS);
    }
    top.flush();
    u64* out = partial + ((long long)qi * gridDim.y + chunk) * kp;
    for (int i = threadIdx.x; i < kp; i += blockDim.x) out[i] = top.keys[i];
}

extern "C" __global__ void __launch_bounds__(MIPS_THREADS)
mips_scan_f32(const float* db, long long n, int d, const float* queries, const int* exclude, int k, int kp, int p,
              long long rows_per_chunk, u64* partial) {
    if ((d & 3) == 0) scan<float, 4>(db, n, d, queries, exclude, k, kp, p, rows_per_chunk, partial);
    else scan<float, 1>(db, n, d, queries, exclude, k, kp, p, rows_per_chunk, partial);
}

extern "C" __global__ void __launch_bounds__(MIPS_THREADS)
mips_scan_bf16(const u16* db, long long n, int d, const float* queries, const int* exclude, int k, int kp, int p,
               long long rows_per_chunk, u64* partial) {
    if ((d & 7) == 0) scan<u16, 8>(db, n, d, queries, exclude, k, kp, p, rows_per_chunk, partial);
    else scan<u16, 1>(db, n, d, queries, exclude, k, kp, p, rows_per_chunk, partial);
}

// Stage 2: per query (grid x), the best kp of `per_query` candidate keys; state [queries][kp].
extern "C" __global__ void __launch_bounds__(MIPS_THREADS)
topk_merge(const u64* __restrict__ cand, long long per_query, int k, int kp, int p, u64* __restrict__ state) {
    unsigned char* smem = realm_smem;
    __shared__ int count;
    __shared__ u64 threshold;
    BlockTopK top{reinterpret_cast<u64*>(smem), &count, &threshold, k, kp, p};
    top.init(nullptr);
    const u64* c = cand + (long long)blockIdx.x * per_query;
    for (long long base = 0; base < per_query; base += blockDim.x) {
        long long i = base + threadIdx.x;
        if (i < per_query && c[i] != 0ull) top.offer(c[i]);
        top.flush_if_needed(blockDim.x);
    }
    top.flush();
    for (int i = threadIdx.x; i < kp; i += blockDim.x) state[(long long)blockIdx.x * kp + i] = top.keys[i];
}

// Many-query regime: folds one score tile (scores[q * ld + j] = s for row row_base + j) into the
// running state of each query (grid x = query).
extern "C" __global__ void __launch_bounds__(MIPS_THREADS)
topk_tile_update(const float* __restrict__ scores, long long ld, long long row_base, int tile_rows,
                 const int* __restrict__ exclude, int k, int kp, int p, u64* __restrict__ state) {
    unsigned char* smem = realm_smem;
    __shared__ int count;
    __shared__ u64 threshold;
    int qi = blockIdx.x;
    BlockTopK top{reinterpret_cast<u64*>(smem), &count, &threshold, k, kp, p};
    top.init(state + (long long)qi * kp);
    long long excluded = exclude != nullptr ? (long long)exclude[qi] : -1;
    const float* s = scores + (long long)qi * ld;
    for (int base = 0; base < tile_rows; base += blockDim.x) {
        int j = base + threadIdx.x;
        if (j < tile_rows && row_base + j != excluded) top.offer(make_key(s[j], (u32)(row_base + j)));
        top.flush_if_needed(blockDim.x);
    }
    top.flush();
    for (int i = threadIdx.x; i < kp; i += blockDim.x) state[(long long)qi * kp + i] = top.keys[i];
}

// Decodes the state into ids (-1 where fewer than k rows exist) and scores, [queries][k].
extern "C" __global__ void topk_decode(const u64* __restrict__ state, int queries, int k, int kp, int* ids, float* scores) {
    long long i = (long long)blockIdx.x * blockDim.x + threadIdx.x;
    if (i >= (long long)queries * k) return;
    long long qi = i / k, r = i % k;
    u64 key = state[qi * kp + r];
    ids[i] = key == 0ull ? -1 : (int)key_id(key);
    scores[i] = key == 0ull ? __int_as_float(0xff800000) : key_score(key);
}
