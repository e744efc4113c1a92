// Scaled dot-product attention, flash-style: tiled over keys with an online softmax, so the
// L x L score matrix never exists in memory; the backward pass recomputes probabilities from the
// saved row log-sum-exp.
//
// Math, per (batch b, head h), queries i < Lq, keys j < Lk, head dim D (64 or 128):
//   s_ij = scale * q_i . k_j                 (keys with mask[b, j] == 0 are left out)
//   lse_i = log sum_j exp(s_ij),  p_ij = exp(s_ij - lse_i),  o_i = sum_j p_ij v_j
// Backward, with dO given:  Dvec_i = dO_i . o_i,  dp_ij = dO_i . v_j,  ds_ij = p_ij (dp_ij - Dvec_i)
//   dV_j = sum_i p_ij dO_i,  dK_j = scale sum_i ds_ij q_i,  dQ_i = scale sum_j ds_ij k_j
// A query row with no visible key outputs zeros (lse = -inf) and gets zero gradients.
// Layout: Q, O, dO [B, H, Lq, D]; K, V [B, H, Lk, D]; row-major, f32 or bf16 storage, f32
// arithmetic; lse, Dvec [B, H, Lq] f32; dQ, dK, dV f32.
// CPU reference: org.realmjava.tensor.Ops.attentionSoftmax composed with matmul (the BERT encoder's
// attention), and ScalarKernels for the softmax rows.
//
// Each backward pass gives every output row to one thread, which sums over the other axis in a
// fixed order: no atomics, so gradients are deterministic.
#include "realm_common.cuh"

#define ATT_ROWS 64   // query (or key) rows per block: one per thread
#define LOG2E 1.4426950408889634f

// Rows row0 .. row0+tile-1 of two [rows, D] matrices into shared memory with row stride `stride`
// (D for tiles every thread reads whole, D+1 for a thread's own row: distinct banks), zero past `rows`.
template <typename T, int D>
__device__ __forceinline__ void load_row_pair(const T* x, const T* y, int row0, int rows, int tile, int stride, float* xs, float* ys) {
    for (int e = threadIdx.x; e < tile * D; e += blockDim.x) {
        int r = e / D, d = e % D;
        bool in = row0 + r < rows;
        xs[r * stride + d] = in ? load_f32(x, (long long)(row0 + r) * D + d) : 0.f;
        ys[r * stride + d] = in ? load_f32(y, (long long)(row0 + r) * D + d) : 0.f;
    }
}

// 1 for visible keys j0 .. j0+tile-1 of batch item b (mask null: all keys below Lk), else 0.
__device__ __forceinline__ void load_key_mask(const float* mask, int b, int lk, int j0, int tile, float* ms) {
    for (int r = threadIdx.x; r < tile; r += blockDim.x) {
        int j = j0 + r;
        ms[r] = (j < lk && (mask == nullptr || mask[(long long)b * lk + j] != 0.f)) ? 1.f : 0.f;
    }
}

// Forward. grid (ceil(Lq / 64), B * H), 64 threads. Dynamic shared: q rows [64][D+1] (padded:
// each thread walks its own row, so column accesses fall in distinct banks), K and V tiles
// [BK][D] (every thread reads the same key: a broadcast), mask tile [BK].
template <typename T, int D, int BK>
__device__ void attn_fwd(const T* __restrict__ Q, const T* __restrict__ K, const T* __restrict__ V,
                         const float* __restrict__ mask, int H, int Lq, int Lk, float scale,
                         T* __restrict__ O, float* __restrict__ lse) {
    float* qs = reinterpret_cast<float*>(realm_smem);
    float* ks = qs + ATT_ROWS * (D + 1);
    float* vs = ks + BK * D;
    float* ms = vs + BK * D;
    int bh = blockIdx.y, b = bh / H;
    int i0 = blockIdx.x * ATT_ROWS, t = threadIdx.x, i = i0 + t;
    const T* q = Q + (long long)bh * Lq * D;
    const T* k = K + (long long)bh * Lk * D;
    const T* v = V + (long long)bh * Lk * D;
    float c = scale * LOG2E; // work in base 2: exp2f is one instruction
    for (int e = t; e < ATT_ROWS * D; e += blockDim.x) {
        int r = e / D, d = e % D;
        qs[r * (D + 1) + d] = (i0 + r < Lq) ? load_f32(q, (long long)(i0 + r) * D + d) * c : 0.f;
    }
    float o[D];
#pragma unroll
    for (int d = 0; d < D; d++) o[d] = 0.f;
    float m = -INFINITY, l = 0.f;
    float* myq = qs + t * (D + 1);
    for (int j0 = 0; j0 < Lk; j0 += BK) {
        __syncthreads();
        load_row_pair<T, D>(k, v, j0, Lk, BK, D, ks, vs);
        load_key_mask(mask, b, Lk, j0, BK, ms);
        __syncthreads();
        float s[BK];
        float tile_max = -INFINITY;
#pragma unroll 4
        for (int r = 0; r < BK; r++) {
            float acc = 0.f;
#pragma unroll
            for (int d = 0; d < D; d++) acc += myq[d] * ks[r * D + d];
            s[r] = ms[r] != 0.f ? acc : -INFINITY;
            tile_max = fmaxf(tile_max, s[r]);
        }
        float m_new = fmaxf(m, tile_max);
        if (m_new == -INFINITY) continue; // nothing visible yet
        float corr = exp2f(m - m_new);
        l *= corr;
#pragma unroll
        for (int d = 0; d < D; d++) o[d] *= corr;
#pragma unroll 2
        for (int r = 0; r < BK; r++) {
            float p = exp2f(s[r] - m_new);
            l += p;
#pragma unroll
            for (int d = 0; d < D; d++) o[d] += p * vs[r * D + d];
        }
        m = m_new;
    }
    if (i < Lq) {
        float inv = l > 0.f ? 1.f / l : 0.f;
        T* out = O + ((long long)bh * Lq + i) * D;
#pragma unroll
        for (int d = 0; d < D; d++) store_f32(out, d, o[d] * inv);
        lse[(long long)bh * Lq + i] = l > 0.f ? (m + log2f(l)) / LOG2E : -INFINITY;
    }
}

// Dvec_i = dO_i . O_i, one warp per row. grid ceil(rows / 8), 256 threads.
template <typename T>
__device__ void attn_bwd_dot(const T* __restrict__ dO, const T* __restrict__ O, long long rows, int D, float* __restrict__ dvec) {
    long long row = (long long)blockIdx.x * (blockDim.x / 32) + threadIdx.x / 32;
    int lane = threadIdx.x & 31;
    if (row >= rows) return;
    float acc = 0.f;
    for (int d = lane; d < D; d += 32) acc += load_f32(dO, row * D + d) * load_f32(O, row * D + d);
    acc = warp_sum(acc);
    if (lane == 0) dvec[row] = acc;
}

// dV (PASS_DV) or dK for the 64 key rows of this block, one thread per key row j.
// grid (ceil(Lk / 64), B * H), 64 threads. Dynamic shared: own k rows and v rows [64][D+1],
// query tile q [BQ][D], dO tile [BQ][D], lse and Dvec [BQ].
template <typename T, int D, int BQ, bool PASS_DV>
__device__ void attn_bwd_kv(const T* __restrict__ Q, const T* __restrict__ K, const T* __restrict__ V,
                            const T* __restrict__ dO, const float* __restrict__ mask, const float* __restrict__ lse,
                            const float* __restrict__ dvec, int H, int Lq, int Lk, float scale, float* __restrict__ grad) {
    float* kr = reinterpret_cast<float*>(realm_smem);
    float* vr = kr + ATT_ROWS * (D + 1);
    float* qt = vr + ATT_ROWS * (D + 1);
    float* gt = qt + BQ * D;
    float* lt = gt + BQ * D;
    float* dt = lt + BQ;
    int bh = blockIdx.y, b = bh / H;
    int j0 = blockIdx.x * ATT_ROWS, t = threadIdx.x, j = j0 + t;
    const T* q = Q + (long long)bh * Lq * D;
    const T* k = K + (long long)bh * Lk * D;
    const T* v = V + (long long)bh * Lk * D;
    const T* go = dO + (long long)bh * Lq * D;
    load_row_pair<T, D>(k, v, j0, Lk, ATT_ROWS, D + 1, kr, vr);
    bool visible = j < Lk && (mask == nullptr || mask[(long long)b * Lk + j] != 0.f);
    float acc[D];
#pragma unroll
    for (int d = 0; d < D; d++) acc[d] = 0.f;
    const float* myk = kr + t * (D + 1);
    const float* myv = vr + t * (D + 1);
    float c = scale * LOG2E;
    for (int i0 = 0; i0 < Lq; i0 += BQ) {
        __syncthreads();
        load_row_pair<T, D>(q, go, i0, Lq, BQ, D, qt, gt);
        for (int r = t; r < BQ; r += blockDim.x) {
            bool in = i0 + r < Lq;
            lt[r] = in ? lse[(long long)bh * Lq + i0 + r] * LOG2E : INFINITY; // p = 0 for rows past Lq
            dt[r] = in ? dvec[(long long)bh * Lq + i0 + r] : 0.f;
        }
        __syncthreads();
        if (!visible) continue;
        for (int r = 0; r < BQ; r++) {
            float s = 0.f;
#pragma unroll
            for (int d = 0; d < D; d++) s += qt[r * D + d] * myk[d];
            // rows past Lq (lt = +inf) and rows with no visible key (lse = -inf) take no part
            float p = (lt[r] == INFINITY || lt[r] == -INFINITY) ? 0.f : exp2f(s * c - lt[r]);
            if (PASS_DV) {
#pragma unroll
                for (int d = 0; d < D; d++) acc[d] += p * gt[r * D + d];
            } else {
                float dp = 0.f;
#pragma unroll
                for (int d = 0; d < D; d++) dp += gt[r * D + d] * myv[d];
                float ds = p * (dp - dt[r]) * scale;
#pragma unroll
                for (int d = 0; d < D; d++) acc[d] += ds * qt[r * D + d];
            }
        }
    }
    if (j < Lk) {
        float* out = grad + ((long long)bh * Lk + j) * D;
#pragma unroll
        for (int d = 0; d < D; d++) out[d] = acc[d];
    }
}

// dQ for the 64 query rows of this block, one thread per query row i.
// grid (ceil(Lq / 64), B * H), 64 threads. Dynamic shared: own q and dO rows [64][D+1], K and V
// tiles [BK][D], mask tile [BK].
template <typename T, int D, int BK>
__device__ void attn_bwd_q(const T* __restrict__ Q, const T* __restrict__ K, const T* __restrict__ V,
                           const T* __restrict__ dO, const float* __restrict__ mask, const float* __restrict__ lse,
                           const float* __restrict__ dvec, int H, int Lq, int Lk, float scale, float* __restrict__ dQ) {
    float* qr = reinterpret_cast<float*>(realm_smem);
    float* gr = qr + ATT_ROWS * (D + 1);
    float* ks = gr + ATT_ROWS * (D + 1);
    float* vs = ks + BK * D;
    float* ms = vs + BK * D;
    int bh = blockIdx.y, b = bh / H;
    int i0 = blockIdx.x * ATT_ROWS, t = threadIdx.x, i = i0 + t;
    const T* q = Q + (long long)bh * Lq * D;
    const T* k = K + (long long)bh * Lk * D;
    const T* v = V + (long long)bh * Lk * D;
    const T* go = dO + (long long)bh * Lq * D;
    load_row_pair<T, D>(q, go, i0, Lq, ATT_ROWS, D + 1, qr, gr);
    float myl = i < Lq ? lse[(long long)bh * Lq + i] * LOG2E : INFINITY;
    float myd = i < Lq ? dvec[(long long)bh * Lq + i] : 0.f;
    float acc[D];
#pragma unroll
    for (int d = 0; d < D; d++) acc[d] = 0.f;
    const float* myq = qr + t * (D + 1);
    const float* myg = gr + t * (D + 1);
    float c = scale * LOG2E;
    for (int j0 = 0; j0 < Lk; j0 += BK) {
        __syncthreads();
        load_row_pair<T, D>(k, v, j0, Lk, BK, D, ks, vs);
        load_key_mask(mask, b, Lk, j0, BK, ms);
        __syncthreads();
        if (myl == INFINITY || myl == -INFINITY) continue;
        for (int r = 0; r < BK; r++) {
            if (ms[r] == 0.f) continue;
            float s = 0.f, dp = 0.f;
#pragma unroll
            for (int d = 0; d < D; d++) {
                s += myq[d] * ks[r * D + d];
                dp += myg[d] * vs[r * D + d];
            }
            float ds = exp2f(s * c - myl) * (dp - myd) * scale;
#pragma unroll
            for (int d = 0; d < D; d++) acc[d] += ds * ks[r * D + d];
        }
    }
    if (i < Lq) {
        float* out = dQ + ((long long)bh * Lq + i) * D;
#pragma unroll
        for (int d = 0; d < D; d++) out[d] = acc[d];
    }
}

#define ATT_ARGS_FWD(T) const T* Q, const T* K, const T* V, const float* mask, int H, int Lq, int Lk, float scale, T* O, float* lse
#define ATT_ARGS_BWD(T) const T* Q, const T* K, const T* V, const T* dO, const float* mask, const float* lse, const float* dvec, \
    int H, int Lq, int Lk, float scale, float* grad

// Tile sizes: BK keys (forward, dQ) and BQ queries (dK, dV) per shared-memory tile.
#define ATT_ENTRY(NAME, T, D, BK, BQ)                                                                              \
    extern "C" __global__ void __launch_bounds__(ATT_ROWS) attn_fwd_##NAME##_d##D(ATT_ARGS_FWD(T)) {               \
        attn_fwd<T, D, BK>(Q, K, V, mask, H, Lq, Lk, scale, O, lse);                                               \
    }                                                                                                              \
    extern "C" __global__ void __launch_bounds__(ATT_ROWS) attn_bwd_dv_##NAME##_d##D(ATT_ARGS_BWD(T)) {            \
        attn_bwd_kv<T, D, BQ, true>(Q, K, V, dO, mask, lse, dvec, H, Lq, Lk, scale, grad);                         \
    }                                                                                                              \
    extern "C" __global__ void __launch_bounds__(ATT_ROWS) attn_bwd_dk_##NAME##_d##D(ATT_ARGS_BWD(T)) {            \
        attn_bwd_kv<T, D, BQ, false>(Q, K, V, dO, mask, lse, dvec, H, Lq, Lk, scale, grad);                        \
    }                                                                                                              \
    extern "C" __global__ void __launch_bounds__(ATT_ROWS) attn_bwd_dq_##NAME##_d##D(ATT_ARGS_BWD(T)) {            \
        attn_bwd_q<T, D, BK>(Q, K, V, dO, mask, lse, dvec, H, Lq, Lk, scale, grad);                                \
    }

ATT_ENTRY(f32, float, 64, 32, 16)
ATT_ENTRY(f32, float, 128, 16, 16)
ATT_ENTRY(bf16, u16, 64, 32, 16)
ATT_ENTRY(bf16, u16, 128, 16, 16)

extern "C" __global__ void attn_bwd_dot_f32(const float* dO, const float* O, long long rows, int D, float* dvec) {
    attn_bwd_dot<float>(dO, O, rows, D, dvec);
}
extern "C" __global__ void attn_bwd_dot_bf16(const u16* dO, const u16* O, long long rows, int D, float* dvec) {
    attn_bwd_dot<u16>(dO, O, rows, D, dvec);
}
