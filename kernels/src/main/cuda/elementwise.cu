// Element-wise and normalization kernels of the GPU backend. Each has a CPU reference in
// org.realmjava.tensor.kernels.ScalarKernels (named per kernel below); the GPU op tests compare
// against it. f32 storage unless the name says bf16; rows are contiguous with `cols` elements.
//
//  layer_norm_fwd        y = (x - mean) * rstd * gamma + beta, rstd = 1/sqrt(var + eps)     (layerNormRows)
//  layer_norm_bwd_dx     dx += rstd * (dy*gamma - mean(dy*gamma) - xhat * mean(dy*gamma*xhat)) (layerNormRowsBackward)
//  layer_norm_bwd_params dgamma += sum_rows dy * xhat, dbeta += sum_rows dy (two fixed-order passes)
//  gelu_fwd / gelu_bwd   y = x/2 (1 + erf(x/sqrt 2)); dx += dy (Phi(x) + x phi(x))            (unary GELU)
//  softmax_rows          y = softmax(scale * x + mask_bias) per row                      (scaledMaskedSoftmaxRows)
//  adamw_step            decoupled-weight-decay Adam (Loshchilov and Hutter)              (adamw)
//  cast_f32_bf16 / cast_bf16_f32   round to nearest even / exact widening                (DType.toBf16 / fromBf16)
// Backward kernels accumulate into their outputs (+=), as the CPU kernels do for autograd.
// Reductions use a fixed tree: results are deterministic run to run.
#include "realm_common.cuh"

#define EW_THREADS 256

__device__ float block_sum(float v, float* scratch) {
    scratch[threadIdx.x] = v;
    __syncthreads();
    for (int s = blockDim.x / 2; s > 0; s >>= 1) {
        if (threadIdx.x < s) scratch[threadIdx.x] += scratch[threadIdx.x + s];
        __syncthreads();
    }
    float r = scratch[0];
    __syncthreads();
    return r;
}

__device__ float block_max(float v, float* scratch) {
    scratch[threadIdx.x] = v;
    __syncthreads();
    for (int s = blockDim.x / 2; s > 0; s >>= 1) {
        if (threadIdx.x < s) scratch[threadIdx.x] = fmaxf(scratch[threadIdx.x], scratch[threadIdx.x + s]);
        __syncthreads();
    }
    float r = scratch[0];
    __syncthreads();
    return r;
}

// One block per row. mean and rstd are saved for the backward pass.
extern "C" __global__ void __launch_bounds__(EW_THREADS)
layer_norm_fwd(const float* __restrict__ x, const float* __restrict__ gamma, const float* __restrict__ beta,
               float* __restrict__ y, float* __restrict__ mean_out, float* __restrict__ rstd_out, int cols, float eps) {
    __shared__ float scratch[EW_THREADS];
    long long base = (long long)blockIdx.x * cols;
    float s = 0.f;
    for (int c = threadIdx.x; c < cols; c += blockDim.x) s += x[base + c];
    float mean = block_sum(s, scratch) / cols;
    float v = 0.f;
    for (int c = threadIdx.x; c < cols; c += blockDim.x) {
        float d = x[base + c] - mean;
        v += d * d;
    }
    float rstd = rsqrtf(block_sum(v, scratch) / cols + eps);
    for (int c = threadIdx.x; c < cols; c += blockDim.x) y[base + c] = (x[base + c] - mean) * rstd * gamma[c] + beta[c];
    if (threadIdx.x == 0) {
        mean_out[blockIdx.x] = mean;
        rstd_out[blockIdx.x] = rstd;
    }
}

extern "C" __global__ void __launch_bounds__(EW_THREADS)
layer_norm_bwd_dx(const float* __restrict__ x, const float* __restrict__ gamma, const float* __restrict__ mean,
                  const float* __restrict__ rstd, const float* __restrict__ dy, float* __restrict__ dx, int cols) {
    __shared__ float scratch[EW_THREADS];
    long long base = (long long)blockIdx.x * cols;
    float mu = mean[blockIdx.x], rs = rstd[blockIdx.x];
    float a = 0.f, b = 0.f;
    for (int c = threadIdx.x; c < cols; c += blockDim.x) {
        float g = dy[base + c] * gamma[c];
        a += g;
        b += g * (x[base + c] - mu) * rs;
    }
    float mg = block_sum(a, scratch) / cols, mgx = block_sum(b, scratch) / cols;
    for (int c = threadIdx.x; c < cols; c += blockDim.x) {
        float xhat = (x[base + c] - mu) * rs;
        dx[base + c] += rs * (dy[base + c] * gamma[c] - mg - xhat * mgx);
    }
}

// Pass 1: partial sums over chunks of rows: grid (ceil(cols / 256), chunks); partial [chunks][2][cols].
extern "C" __global__ void layer_norm_bwd_params(const float* __restrict__ x, const float* __restrict__ mean,
                                                 const float* __restrict__ rstd, const float* __restrict__ dy,
                                                 long long rows, int cols, long long rows_per_chunk, float* __restrict__ partial) {
    int c = blockIdx.x * blockDim.x + threadIdx.x;
    if (c >= cols) return;
    long long r0 = (long long)blockIdx.y * rows_per_chunk, r1 = min(rows, r0 + rows_per_chunk);
    float g = 0.f, bsum = 0.f;
    for (long long r = r0; r < r1; r++) {
        float d = dy[r * cols + c];
        g += d * (x[r * cols + c] - mean[r]) * rstd[r];
        bsum += d;
    }
    partial[((long long)blockIdx.y * 2) * cols + c] = g;
    partial[((long long)blockIdx.y * 2 + 1) * cols + c] = bsum;
}

// Pass 2: dgamma, dbeta += sums of the chunks in chunk order.
extern "C" __global__ void layer_norm_bwd_params_finish(const float* __restrict__ partial, int chunks, int cols,
                                                        float* __restrict__ dgamma, float* __restrict__ dbeta) {
    int c = blockIdx.x * blockDim.x + threadIdx.x;
    if (c >= cols) return;
    float g = 0.f, b = 0.f;
    for (int k = 0; k < chunks; k++) {
        g += partial[((long long)k * 2) * cols + c];
        b += partial[((long long)k * 2 + 1) * cols + c];
    }
    dgamma[c] += g;
    dbeta[c] += b;
}

#define INV_SQRT2 0.70710678118654752f
#define INV_SQRT_2PI 0.39894228040143268f

extern "C" __global__ void gelu_fwd(const float* __restrict__ x, float* __restrict__ y, long long n) {
    for (long long i = (long long)blockIdx.x * blockDim.x + threadIdx.x; i < n; i += (long long)gridDim.x * blockDim.x) {
        float v = x[i];
        y[i] = 0.5f * v * (1.f + erff(v * INV_SQRT2));
    }
}

// dx += dy * (Phi(x) + x * phi(x))
extern "C" __global__ void gelu_bwd(const float* __restrict__ x, const float* __restrict__ dy, float* __restrict__ dx, long long n) {
    for (long long i = (long long)blockIdx.x * blockDim.x + threadIdx.x; i < n; i += (long long)gridDim.x * blockDim.x) {
        float v = x[i];
        float cdf = 0.5f * (1.f + erff(v * INV_SQRT2));
        float pdf = INV_SQRT_2PI * expf(-0.5f * v * v);
        dx[i] += dy[i] * (cdf + v * pdf);
    }
}

// y = softmax(scale * x + bias) per row; bias [groups][cols] is shared by rows_per_group
// consecutive rows (attention: one key mask per batch item, rows = heads x queries), or null.
extern "C" __global__ void __launch_bounds__(EW_THREADS)
softmax_rows(const float* __restrict__ x, const float* __restrict__ bias, long long rows_per_group, float scale,
             float* __restrict__ y, int cols) {
    __shared__ float scratch[EW_THREADS];
    long long base = (long long)blockIdx.x * cols;
    const float* bb = bias != nullptr ? bias + (blockIdx.x / rows_per_group) * cols : nullptr;
    float m = -INFINITY;
    for (int c = threadIdx.x; c < cols; c += blockDim.x) m = fmaxf(m, scale * x[base + c] + (bb ? bb[c] : 0.f));
    m = block_max(m, scratch);
    float s = 0.f;
    for (int c = threadIdx.x; c < cols; c += blockDim.x) s += expf(scale * x[base + c] + (bb ? bb[c] : 0.f) - m);
    float inv = 1.f / block_sum(s, scratch);
    for (int c = threadIdx.x; c < cols; c += blockDim.x) y[base + c] = expf(scale * x[base + c] + (bb ? bb[c] : 0.f) - m) * inv;
}

extern "C" __global__ void adamw_step(float* __restrict__ p, const float* __restrict__ g, float* __restrict__ m,
                                      float* __restrict__ v, long long n, float lr, float beta1, float beta2, float eps,
                                      float weight_decay, float bc1, float bc2) {
    for (long long i = (long long)blockIdx.x * blockDim.x + threadIdx.x; i < n; i += (long long)gridDim.x * blockDim.x) {
        float gi = g[i];
        float mi = beta1 * m[i] + (1.f - beta1) * gi;
        float vi = beta2 * v[i] + (1.f - beta2) * gi * gi;
        m[i] = mi;
        v[i] = vi;
        p[i] -= lr * ((mi / bc1) / (sqrtf(vi / bc2) + eps) + weight_decay * p[i]);
    }
}

extern "C" __global__ void cast_f32_bf16(const float* __restrict__ x, u16* __restrict__ y, long long n) {
    for (long long i = (long long)blockIdx.x * blockDim.x + threadIdx.x; i < n; i += (long long)gridDim.x * blockDim.x) y[i] = f32_to_bf16(x[i]);
}

extern "C" __global__ void cast_bf16_f32(const u16* __restrict__ x, float* __restrict__ y, long long n) {
    for (long long i = (long long)blockIdx.x * blockDim.x + threadIdx.x; i < n; i += (long long)gridDim.x * blockDim.x) y[i] = bf16_to_f32(x[i]);
}

// Benchmark and test data made on the device (10M x 128 vectors would not fit a JVM array):
// x[i] = uniform in [-1, 1) from a 64-bit integer hash of (seed, i) (splitmix64 finalizer).
extern "C" __global__ void fill_uniform(float* __restrict__ x, long long n, unsigned long long seed) {
    for (long long i = (long long)blockIdx.x * blockDim.x + threadIdx.x; i < n; i += (long long)gridDim.x * blockDim.x) {
        u64 z = seed + 0x9e3779b97f4a7c15ull * (u64)(i + 1);
        z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
        z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
        z ^= z >> 31;
        x[i] = (float)(z >> 40) * (1.0f / 8388608.0f) - 1.0f; // 24 random bits
    }
}
