// REALM's marginal likelihood over retrieved documents, and a fused vocabulary cross-entropy.
//
// 1. realm_marginal: for example b with retrieval scores f_bz over Z candidates (the k retrieved
//    documents, plus the null document if the caller appends one) and reader log-likelihoods
//    ll_bzt for T targets (T = 1: per sequence; T = masked tokens: per token, REALM's default),
//      log p(z|x)   = f_bz - logsumexp_z' f_bz'
//      logp_bt      = logsumexp_z (log p(z|x) + ll_bzt)          (tokens with tmask 0: logp = 0)
//      post_bzt     = exp(log p(z|x) + ll_bzt - logp_bt)         (posterior over documents)
//    and, for upstream gradients g_bt = dL/dlogp_bt,
//      dL/dll_bzt   = g_bt post_bzt
//      dL/df_bz     = sum_t g_bt (post_bzt - p(z|x))
//    all in one kernel, one block per example. Sums run in a fixed order (no atomics): the results
//    are deterministic. A target that no candidate produces (every ll -inf) gets logp = -inf and
//    zero gradients. It implements Kernels.marginalLogLikelihood(+Backward) for CudaKernels; CPU
//    reference: ScalarKernels.marginalLogLikelihood (double precision), same parity suite.
//
// 2. Fused vocabulary cross-entropy (MLM head): loss_r = logsumexp_v (h_r . e_v) - h_r . e_{y_r},
//    computed over vocabulary tiles whose logits come from cuBLAS; the full rows x V logits are
//    never stored. ce_lse_update folds a tile into a running (max, sum) per row; ce_tile_grad turns
//    a recomputed tile into g_r (softmax - onehot) in place, for the dH and dE GEMMs. Rows with
//    target < 0 are ignored. CPU reference: org.realmjava.tensor.Ops.crossEntropy.
#include "realm_common.cuh"

#define ML_THREADS 256

// Block-wide reductions in a fixed order: per-thread strided partials, then a tree in shared memory.
__device__ float block_reduce(float v, float* scratch, bool is_max) {
    scratch[threadIdx.x] = v;
    __syncthreads();
    for (int s = blockDim.x / 2; s > 0; s >>= 1) {
        if (threadIdx.x < s) {
            float a = scratch[threadIdx.x], b = scratch[threadIdx.x + s];
            scratch[threadIdx.x] = is_max ? fmaxf(a, b) : a + b;
        }
        __syncthreads();
    }
    float r = scratch[0];
    __syncthreads();
    return r;
}

// grid B, ML_THREADS threads; dynamic shared: logprior [Z] and logp [T] floats.
// gout, df, dll may be null (forward only); tmask may be null (every target counts).
extern "C" __global__ void __launch_bounds__(ML_THREADS)
realm_marginal(const float* __restrict__ f, const float* __restrict__ ll, const float* __restrict__ tmask,
               int Z, int T, const float* __restrict__ gout, float* __restrict__ logp,
               float* __restrict__ df, float* __restrict__ dll) {
    __shared__ float scratch[ML_THREADS];
    float* logprior = reinterpret_cast<float*>(realm_smem);
    float* lp = logprior + Z;
    int b = blockIdx.x;
    const float* fb = f + (long long)b * Z;
    const float* llb = ll + (long long)b * Z * T;

    float m = -INFINITY;
    for (int z = threadIdx.x; z < Z; z += blockDim.x) m = fmaxf(m, fb[z]);
    m = block_reduce(m, scratch, true);
    float s = 0.f;
    for (int z = threadIdx.x; z < Z; z += blockDim.x) s += expf(fb[z] - m);
    s = block_reduce(s, scratch, false);
    float lse = m + logf(s);
    for (int z = threadIdx.x; z < Z; z += blockDim.x) logprior[z] = fb[z] - lse;
    __syncthreads();

    int warp = threadIdx.x / 32, lane = threadIdx.x & 31, warps = blockDim.x / 32;
    for (int t = warp; t < T; t += warps) {
        bool on = tmask == nullptr || tmask[(long long)b * T + t] != 0.f;
        float mt = -INFINITY;
        if (on) for (int z = lane; z < Z; z += 32) mt = fmaxf(mt, logprior[z] + llb[(long long)z * T + t]);
        mt = warp_max(mt);
        float st = 0.f;
        if (on && mt != -INFINITY) for (int z = lane; z < Z; z += 32) st += expf(logprior[z] + llb[(long long)z * T + t] - mt);
        st = warp_sum(st);
        // no candidate produces target t (every ll -inf): logp = -inf, and its gradients are 0
        bool none = on && mt == -INFINITY;
        float v = !on ? 0.f : none ? -INFINITY : mt + logf(st);
        if (lane == 0) {
            lp[t] = v;
            logp[(long long)b * T + t] = v;
        }
        if (dll != nullptr) {
            float g = on && gout != nullptr ? gout[(long long)b * T + t] : 0.f;
            for (int z = lane; z < Z; z += 32) {
                long long at = (long long)b * Z * T + (long long)z * T + t;
                dll[at] = on && !none ? g * expf(logprior[z] + llb[(long long)z * T + t] - v) : 0.f;
            }
        }
    }
    __syncthreads();
    if (df == nullptr || gout == nullptr) return;
    for (int z = threadIdx.x; z < Z; z += blockDim.x) {
        float prior = expf(logprior[z]), acc = 0.f;
        for (int t = 0; t < T; t++) {
            if ((tmask != nullptr && tmask[(long long)b * T + t] == 0.f) || lp[t] == -INFINITY) continue;
            float g = gout[(long long)b * T + t];
            acc += g * (expf(logprior[z] + llb[(long long)z * T + t] - lp[t]) - prior);
        }
        df[(long long)b * Z + z] = acc;
    }
}

// Folds a logits tile [rows][cols] (leading dimension ld) into each row's running max and sum
// of exp(logit - max). One warp per row; grid ceil(rows / 8), 256 threads.
extern "C" __global__ void ce_lse_update(const float* __restrict__ tile, long long ld, int rows, int cols,
                                         float* __restrict__ row_max, float* __restrict__ row_sum) {
    int r = blockIdx.x * (blockDim.x / 32) + threadIdx.x / 32, lane = threadIdx.x & 31;
    if (r >= rows) return;
    const float* x = tile + (long long)r * ld;
    float m = -INFINITY;
    for (int c = lane; c < cols; c += 32) m = fmaxf(m, x[c]);
    m = warp_max(m);
    float old_m = row_max[r], new_m = fmaxf(old_m, m);
    float s = 0.f;
    for (int c = lane; c < cols; c += 32) s += expf(x[c] - new_m);
    s = warp_sum(s);
    if (lane == 0) {
        float old = old_m == -INFINITY ? 0.f : row_sum[r] * expf(old_m - new_m);
        row_max[r] = new_m;
        row_sum[r] = old + s;
    }
}

// lse_r = max_r + log(sum_r), in place into row_max.
extern "C" __global__ void ce_lse_finish(float* row_max, const float* row_sum, int rows) {
    int r = blockIdx.x * blockDim.x + threadIdx.x;
    if (r < rows) row_max[r] = row_max[r] + logf(row_sum[r]);
}

// In place: tile[r][c] = g_r * (exp(logit - lse_r) - [col_base + c == y_r]) (0 for ignored rows),
// where g_r = scale (the caller passes 1 / counted rows for a mean). Also writes
// loss_r = lse_r - logit_{y_r} when y_r falls in this tile. One warp per row.
extern "C" __global__ void ce_tile_grad(float* __restrict__ tile, long long ld, int rows, int cols, long long col_base,
                                        const int* __restrict__ targets, const float* __restrict__ lse, float scale,
                                        float* __restrict__ loss) {
    int r = blockIdx.x * (blockDim.x / 32) + threadIdx.x / 32, lane = threadIdx.x & 31;
    if (r >= rows) return;
    float* x = tile + (long long)r * ld;
    int y = targets[r];
    if (y < 0) {
        for (int c = lane; c < cols; c += 32) x[c] = 0.f;
        if (lane == 0 && col_base == 0) loss[r] = 0.f;
        return;
    }
    float l = lse[r];
    for (int c = lane; c < cols; c += 32) {
        bool hit = col_base + c == y;
        if (hit) loss[r] = l - x[c];
        x[c] = scale * (expf(x[c] - l) - (hit ? 1.f : 0.f));
    }
}
