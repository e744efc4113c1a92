package org.realmjava.tensor.kernels;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

/**
 * The reference: plain loops, double-precision accumulation, no threads. Every optimized kernel
 * is tested against these. Never delete one; a fast backend that has not optimised an op
 * delegates to this class explicitly.
 */
public class ScalarKernels implements Kernels {
    static final ValueLayout.OfFloat F = ValueLayout.JAVA_FLOAT;
    static final ValueLayout.OfInt I = ValueLayout.JAVA_INT;

    static float get(MemorySegment s, long i) {
        return s.getAtIndex(F, i);
    }

    static void set(MemorySegment s, long i, float v) {
        s.setAtIndex(F, i, v);
    }

    @Override
    public String name() {
        return "scalar";
    }

    /** f(x) in double precision. */
    public static double apply(UnaryOp op, double x) {
        return switch (op) {
            case EXP -> Math.exp(x);
            case LOG -> Math.log(x);
            case SQRT -> Math.sqrt(x);
            case TANH -> Math.tanh(x);
            case RELU -> x > 0 ? x : 0.0;
            case GELU_ERF -> ScalarMath.geluErf(x);
            case GELU_TANH -> ScalarMath.geluTanh(x);
        };
    }

    /** f'(x) in double precision, given x and y = f(x). */
    public static double derivative(UnaryOp op, double x, double y) {
        return switch (op) {
            case EXP -> y;
            case LOG -> 1.0 / x;
            case SQRT -> 0.5 / y;
            case TANH -> 1.0 - y * y;
            case RELU -> x > 0 ? 1.0 : 0.0;
            case GELU_ERF -> ScalarMath.geluErfGrad(x);
            case GELU_TANH -> ScalarMath.geluTanhGrad(x);
        };
    }

    public static double apply(BinaryOp op, double a, double b) {
        return switch (op) {
            case ADD -> a + b;
            case SUB -> a - b;
            case MUL -> a * b;
            case DIV -> a / b;
        };
    }

    @Override
    public void unary(UnaryOp op, MemorySegment x, MemorySegment y, long n) {
        for (long i = 0; i < n; i++) set(y, i, (float) apply(op, get(x, i)));
    }

    @Override
    public void biasUnaryRows(UnaryOp op, MemorySegment x, MemorySegment bias, MemorySegment y, long rows, long cols) {
        for (long r = 0; r < rows; r++) {
            for (long j = 0; j < cols; j++) set(y, r * cols + j, (float) apply(op, get(x, r * cols + j) + get(bias, j)));
        }
    }

    @Override
    public boolean allFinite(MemorySegment x, long n) {
        for (long i = 0; i < n; i++) if (!Float.isFinite(get(x, i))) return false;
        return true;
    }

    @Override
    public void dropout(MemorySegment x, MemorySegment y, long n, long seed, int threshold, float scale) {
        for (long i = 0; i < n; i++) set(y, i, Integer.compareUnsigned(dropoutBits(seed, i), threshold) >= 0 ? get(x, i) * scale : 0f);
    }

    /**
     * 32 random bits for element i of a dropout mask: two rounds of Wellons' lowbias32 integer hash,
     * the first over the index's low word mixed with the seed's low word (and the index's high word),
     * the second after the seed's high word is folded in. Counter-based, so any element can be
     * computed on its own.
     */
    public static int dropoutBits(long seed, long i) {
        int h = (int) i ^ dropoutKey(seed, i >>> 32);
        h = lowbias32(h) ^ (int) (seed >>> 32);
        return lowbias32(h);
    }

    /** The per-2^32-elements part of the first round's input (constant over a vector of indices). */
    public static int dropoutKey(long seed, long indexHigh) {
        return (int) seed ^ (int) indexHigh * 0x9E3779B9;
    }

    static int lowbias32(int h) {
        h ^= h >>> 16;
        h *= 0x7feb352d;
        h ^= h >>> 15;
        h *= 0x846ca68b;
        return h ^ (h >>> 16);
    }

    @Override
    public void unaryBackward(UnaryOp op, MemorySegment x, MemorySegment y, MemorySegment dy, MemorySegment dx, long n) {
        for (long i = 0; i < n; i++) {
            set(dx, i, (float) (get(dx, i) + get(dy, i) * derivative(op, get(x, i), get(y, i))));
        }
    }

    @Override
    public void binary(BinaryOp op, MemorySegment a, MemorySegment b, MemorySegment c, long n) {
        for (long i = 0; i < n; i++) set(c, i, (float) apply(op, get(a, i), get(b, i)));
    }

    @Override
    public void binaryRow(BinaryOp op, MemorySegment a, MemorySegment b, MemorySegment c, long rows, long cols) {
        for (long r = 0; r < rows; r++) {
            for (long j = 0; j < cols; j++) set(c, r * cols + j, (float) apply(op, get(a, r * cols + j), get(b, j)));
        }
    }

    @Override
    public void scale(MemorySegment x, float s, MemorySegment y, long n) {
        for (long i = 0; i < n; i++) set(y, i, s * get(x, i));
    }

    @Override
    public void axpy(float alpha, MemorySegment x, MemorySegment y, long n) {
        for (long i = 0; i < n; i++) set(y, i, get(y, i) + alpha * get(x, i));
    }

    @Override
    public void sumAxis(MemorySegment x, MemorySegment y, long outer, long len, long inner) {
        for (long o = 0; o < outer; o++) {
            for (long i = 0; i < inner; i++) {
                double s = 0;
                for (long a = 0; a < len; a++) s += get(x, (o * len + a) * inner + i);
                set(y, o * inner + i, (float) s);
            }
        }
    }

    @Override
    public void maxAxis(MemorySegment x, MemorySegment y, MemorySegment arg, long outer, long len, long inner) {
        for (long o = 0; o < outer; o++) {
            for (long i = 0; i < inner; i++) {
                float best = Float.NEGATIVE_INFINITY;
                int bestA = 0;
                for (long a = 0; a < len; a++) {
                    float v = get(x, (o * len + a) * inner + i);
                    if (v > best || Float.isNaN(v) && !Float.isNaN(best)) {
                        best = v;
                        bestA = (int) a;
                    }
                }
                set(y, o * inner + i, best);
                arg.setAtIndex(I, o * inner + i, bestA);
            }
        }
    }

    @Override
    public void softmaxRows(MemorySegment x, MemorySegment y, long rows, long cols) {
        for (long r = 0; r < rows; r++) {
            long base = r * cols;
            double max = Double.NEGATIVE_INFINITY;
            for (long j = 0; j < cols; j++) max = Math.max(max, get(x, base + j));
            double sum = 0;
            for (long j = 0; j < cols; j++) sum += Math.exp(get(x, base + j) - max);
            for (long j = 0; j < cols; j++) set(y, base + j, (float) (Math.exp(get(x, base + j) - max) / sum));
        }
    }

    @Override
    public void scaledMaskedSoftmaxRows(MemorySegment x, float scale, MemorySegment mask, long rowsPerMask, MemorySegment y, long rows, long cols) {
        double[] z = new double[(int) cols];
        for (long r = 0; r < rows; r++) {
            long base = r * cols, mbase = (r / rowsPerMask) * cols;
            double max = Double.NEGATIVE_INFINITY;
            for (int j = 0; j < cols; j++) {
                z[j] = (double) (scale * get(x, base + j)) + get(mask, mbase + j);
                max = Math.max(max, z[j]);
            }
            double sum = 0;
            for (int j = 0; j < cols; j++) sum += Math.exp(z[j] - max);
            for (int j = 0; j < cols; j++) set(y, base + j, (float) (Math.exp(z[j] - max) / sum));
        }
    }

    @Override
    public void attention(MemorySegment q, int ldq, MemorySegment k, int ldk, MemorySegment v, int ldv, MemorySegment mask,
                          MemorySegment out, int ldo, int batch, int len, int heads, int headDim, float scale) {
        double[] z = new double[len];
        for (int b = 0; b < batch; b++) {
            for (int h = 0; h < heads; h++) {
                for (int i = 0; i < len; i++) {
                    attentionProbabilities(q, ldq, k, ldk, mask, b, h, i, len, headDim, scale, z);
                    attentionOutput(z, v, ldv, out, ldo, b, h, i, len, headDim);
                }
            }
        }
    }

    @Override
    public void attentionTrainForward(MemorySegment q, int ldq, MemorySegment k, int ldk, MemorySegment v, int ldv, MemorySegment mask,
                                      MemorySegment out, int ldo, MemorySegment stats, MemorySegment probs, int batch, int len, int heads,
                                      int headDim, float scale, long seed, int threshold, float keepScale) {
        double[] z = new double[len];
        for (int b = 0; b < batch; b++) {
            for (int h = 0; h < heads; h++) {
                for (int i = 0; i < len; i++) {
                    long row = ((long) b * heads + h) * len + i, row0 = row * len;
                    attentionScores(q, ldq, k, ldk, mask, b, h, i, len, headDim, scale, z);
                    double max = Double.NEGATIVE_INFINITY;
                    for (int j = 0; j < len; j++) max = Math.max(max, z[j]);
                    float m = (float) max;
                    double sum = 0;
                    for (int j = 0; j < len; j++) sum += Math.exp(z[j] - m);
                    float inv = (float) (1 / sum);
                    set(stats, 2 * row, m);
                    set(stats, 2 * row + 1, inv);
                    for (int j = 0; j < len; j++) {
                        z[j] = Math.exp(z[j] - m) * inv;
                        if (probs != null) set(probs, row0 + j, (float) z[j]);
                        z[j] *= keep(seed, row0 + j, threshold, keepScale);
                    }
                    attentionOutput(z, v, ldv, out, ldo, b, h, i, len, headDim);
                }
            }
        }
    }

    /** z[j] = scale * q_i . k_j + mask[b, j] for query i of head h in batch b. */
    private static void attentionScores(MemorySegment q, int ldq, MemorySegment k, int ldk, MemorySegment mask,
                                        int b, int h, int i, int len, int headDim, float scale, double[] z) {
        int col = h * headDim;
        long qi = ((long) b * len + i) * ldq + col;
        for (int j = 0; j < len; j++) {
            long kj = ((long) b * len + j) * ldk + col;
            double dot = 0;
            for (int d = 0; d < headDim; d++) dot += (double) get(q, qi + d) * get(k, kj + d);
            z[j] = scale * dot + get(mask, (long) b * len + j);
        }
    }

    /** z[j] = softmax_j(scale * q_i . k_j + mask[b, j]) for query i of head h in batch b. */
    private static void attentionProbabilities(MemorySegment q, int ldq, MemorySegment k, int ldk, MemorySegment mask,
                                               int b, int h, int i, int len, int headDim, float scale, double[] z) {
        attentionScores(q, ldq, k, ldk, mask, b, h, i, len, headDim, scale, z);
        double max = Double.NEGATIVE_INFINITY;
        for (int j = 0; j < len; j++) max = Math.max(max, z[j]);
        double sum = 0;
        for (int j = 0; j < len; j++) {
            z[j] = Math.exp(z[j] - max);
            sum += z[j];
        }
        for (int j = 0; j < len; j++) z[j] /= sum;
    }

    /** out[b, i, head h] = sum_j z[j] v[b, j, head h]. */
    private static void attentionOutput(double[] z, MemorySegment v, int ldv, MemorySegment out, int ldo, int b, int h, int i, int len, int headDim) {
        int col = h * headDim;
        long oi = ((long) b * len + i) * ldo + col;
        for (int d = 0; d < headDim; d++) {
            double acc = 0;
            for (int j = 0; j < len; j++) acc += z[j] * get(v, ((long) b * len + j) * ldv + col + d);
            set(out, oi + d, (float) acc);
        }
    }

    @Override
    public void attentionBackward(MemorySegment q, int ldq, MemorySegment k, int ldk, MemorySegment v, int ldv, MemorySegment mask,
                                  MemorySegment stats, MemorySegment probs, MemorySegment dOut, int ldd, MemorySegment dq, MemorySegment dk,
                                  MemorySegment dv, int ldg, int batch, int len, int heads, int headDim, float scale, long seed, int threshold,
                                  float keepScale) {
        double[][] ds = new double[len][len], pm = new double[len][len];
        double[] p = new double[len];
        for (int b = 0; b < batch; b++) {
            for (int h = 0; h < heads; h++) {
                int col = h * headDim;
                for (int i = 0; i < len; i++) {
                    long row = ((long) b * heads + h) * len + i, row0 = row * len, oi = ((long) b * len + i) * ldd + col;
                    if (probs != null) {
                        for (int j = 0; j < len; j++) p[j] = get(probs, row0 + j);
                    } else {
                        // the probabilities again, from the scores and the row's stats
                        attentionScores(q, ldq, k, ldk, mask, b, h, i, len, headDim, scale, p);
                        double m = get(stats, 2 * row), inv = get(stats, 2 * row + 1);
                        for (int j = 0; j < len; j++) p[j] = Math.exp(p[j] - m) * inv;
                    }
                    double dot = 0;
                    for (int j = 0; j < len; j++) {
                        double keep = keep(seed, row0 + j, threshold, keepScale);
                        double dpd = 0;
                        for (int d = 0; d < headDim; d++) dpd += (double) get(dOut, oi + d) * get(v, ((long) b * len + j) * ldv + col + d);
                        ds[i][j] = dpd * keep; // dP for now
                        pm[i][j] = p[j] * keep;
                        dot += ds[i][j] * p[j];
                    }
                    for (int j = 0; j < len; j++) ds[i][j] = p[j] * (ds[i][j] - dot) * scale;
                }
                for (int i = 0; i < len; i++) {
                    for (int d = 0; d < headDim; d++) {
                        double gq = 0, gk = 0, gv = 0;
                        for (int j = 0; j < len; j++) {
                            gq += ds[i][j] * get(k, ((long) b * len + j) * ldk + col + d);
                            gk += ds[j][i] * get(q, ((long) b * len + j) * ldq + col + d);
                            gv += pm[j][i] * get(dOut, ((long) b * len + j) * ldd + col + d);
                        }
                        long gi = ((long) b * len + i) * ldg + col + d;
                        set(dq, gi, (float) gq);
                        set(dk, gi, (float) gk);
                        set(dv, gi, (float) gv);
                    }
                }
            }
        }
    }

    private static double keep(long seed, long index, int threshold, float keepScale) {
        return Integer.compareUnsigned(dropoutBits(seed, index), threshold) >= 0 ? keepScale : 0;
    }

    @Override
    public void softmaxRowsBackward(MemorySegment y, MemorySegment dy, MemorySegment dx, long rows, long cols) {
        for (long r = 0; r < rows; r++) {
            long base = r * cols;
            double dot = 0;
            for (long j = 0; j < cols; j++) dot += (double) get(dy, base + j) * get(y, base + j);
            for (long j = 0; j < cols; j++) {
                set(dx, base + j, (float) (get(dx, base + j) + get(y, base + j) * (get(dy, base + j) - dot)));
            }
        }
    }

    private static double logSumExp(MemorySegment x, long base, long cols) {
        double max = Double.NEGATIVE_INFINITY;
        for (long j = 0; j < cols; j++) max = Math.max(max, get(x, base + j));
        if (max == Double.NEGATIVE_INFINITY) return max; // all -inf (fully masked row)
        double sum = 0;
        for (long j = 0; j < cols; j++) sum += Math.exp(get(x, base + j) - max);
        return max + Math.log(sum);
    }

    @Override
    public void logSoftmaxRows(MemorySegment x, MemorySegment y, long rows, long cols) {
        for (long r = 0; r < rows; r++) {
            long base = r * cols;
            double lse = logSumExp(x, base, cols);
            for (long j = 0; j < cols; j++) set(y, base + j, (float) (get(x, base + j) - lse));
        }
    }

    @Override
    public void logSoftmaxRowsBackward(MemorySegment y, MemorySegment dy, MemorySegment dx, long rows, long cols) {
        for (long r = 0; r < rows; r++) {
            long base = r * cols;
            double sum = 0;
            for (long j = 0; j < cols; j++) sum += get(dy, base + j);
            for (long j = 0; j < cols; j++) {
                set(dx, base + j, (float) (get(dx, base + j) + get(dy, base + j) - Math.exp(get(y, base + j)) * sum));
            }
        }
    }

    @Override
    public void logSumExpRows(MemorySegment x, MemorySegment y, long rows, long cols) {
        for (long r = 0; r < rows; r++) set(y, r, (float) logSumExp(x, r * cols, cols));
    }

    @Override
    public void layerNormRows(MemorySegment x, MemorySegment gamma, MemorySegment beta, MemorySegment y,
                              MemorySegment mean, MemorySegment rstd, long rows, long cols, float eps) {
        for (long r = 0; r < rows; r++) {
            long base = r * cols;
            double mu = 0;
            for (long j = 0; j < cols; j++) mu += get(x, base + j);
            mu /= cols;
            double var = 0;
            for (long j = 0; j < cols; j++) {
                double d = get(x, base + j) - mu;
                var += d * d;
            }
            var /= cols;
            double rs = 1.0 / Math.sqrt(var + eps);
            for (long j = 0; j < cols; j++) {
                set(y, base + j, (float) ((get(x, base + j) - mu) * rs * get(gamma, j) + get(beta, j)));
            }
            set(mean, r, (float) mu);
            set(rstd, r, (float) rs);
        }
    }

    @Override
    public void biasResidualLayerNormRows(MemorySegment x, MemorySegment bias, MemorySegment residual, MemorySegment gamma, MemorySegment beta,
                                          MemorySegment y, long rows, long cols, float eps) {
        double[] s = new double[(int) cols];
        for (long r = 0; r < rows; r++) {
            long base = r * cols;
            double mu = 0;
            for (int j = 0; j < cols; j++) {
                // the sum rounded to f32 first, as the composed ops (linear, add) would store it
                s[j] = (float) ((float) (get(x, base + j) + get(bias, j)) + get(residual, base + j));
                mu += s[j];
            }
            mu /= cols;
            double var = 0;
            for (int j = 0; j < cols; j++) var += (s[j] - mu) * (s[j] - mu);
            var /= cols;
            double rs = 1.0 / Math.sqrt(var + eps);
            for (int j = 0; j < cols; j++) set(y, base + j, (float) ((s[j] - mu) * rs * get(gamma, j) + get(beta, j)));
        }
    }

    @Override
    public void layerNormRowsBackward(MemorySegment x, MemorySegment gamma, MemorySegment mean, MemorySegment rstd,
                                      MemorySegment dy, MemorySegment dx, MemorySegment dgamma, MemorySegment dbeta,
                                      long rows, long cols) {
        for (long r = 0; r < rows; r++) {
            long base = r * cols;
            double mu = get(mean, r), rs = get(rstd, r);
            double meanG = 0, meanGX = 0;
            for (long j = 0; j < cols; j++) {
                double xhat = (get(x, base + j) - mu) * rs;
                double g = (double) get(dy, base + j) * get(gamma, j);
                meanG += g;
                meanGX += g * xhat;
            }
            meanG /= cols;
            meanGX /= cols;
            for (long j = 0; j < cols; j++) {
                double xhat = (get(x, base + j) - mu) * rs;
                double g = (double) get(dy, base + j) * get(gamma, j);
                set(dx, base + j, (float) (get(dx, base + j) + rs * (g - meanG - xhat * meanGX)));
                set(dgamma, j, (float) (get(dgamma, j) + get(dy, base + j) * xhat));
                set(dbeta, j, get(dbeta, j) + get(dy, base + j));
            }
        }
    }

    @Override
    public void gemm(boolean transA, boolean transB, int m, int n, int k, float alpha,
                     MemorySegment a, int lda, MemorySegment b, int ldb, float beta, MemorySegment c, int ldc) {
        for (int i = 0; i < m; i++) {
            for (int j = 0; j < n; j++) {
                double s = 0;
                for (int p = 0; p < k; p++) {
                    float av = transA ? get(a, (long) p * lda + i) : get(a, (long) i * lda + p);
                    float bv = transB ? get(b, (long) j * ldb + p) : get(b, (long) p * ldb + j);
                    s += (double) av * bv;
                }
                long ci = (long) i * ldc + j;
                double old = beta == 0f ? 0.0 : beta * (double) get(c, ci);
                set(c, ci, (float) (alpha * s + old));
            }
        }
    }

    @Override
    public void gemmBf16B(boolean transA, boolean transB, int m, int n, int k, float alpha,
                          MemorySegment a, int lda, MemorySegment b, int ldb, float beta, MemorySegment c, int ldc) {
        for (int i = 0; i < m; i++) {
            for (int j = 0; j < n; j++) {
                double s = 0;
                for (int p = 0; p < k; p++) {
                    float av = transA ? get(a, (long) p * lda + i) : get(a, (long) i * lda + p);
                    long bi = transB ? (long) j * ldb + p : (long) p * ldb + j;
                    float bv = Float.intBitsToFloat(b.getAtIndex(ValueLayout.JAVA_SHORT, bi) << 16);
                    s += (double) av * bv;
                }
                long ci = (long) i * ldc + j;
                double old = beta == 0f ? 0.0 : beta * (double) get(c, ci);
                set(c, ci, (float) (alpha * s + old));
            }
        }
    }

    // ---------------------------------------------------------------- REALM marginal likelihood

    @Override
    public void marginalLogLikelihood(MemorySegment f, MemorySegment ll, MemorySegment mask, MemorySegment logp, int batch, int z, int t) {
        double[] out = marginalLogLikelihood(doubles(f, (long) batch * z), doubles(ll, (long) batch * z * t),
                mask == null ? null : doubles(mask, (long) batch * t), batch, z, t);
        for (int i = 0; i < out.length; i++) set(logp, i, (float) out[i]);
    }

    @Override
    public void marginalLogLikelihoodBackward(MemorySegment f, MemorySegment ll, MemorySegment mask, MemorySegment logp, MemorySegment g,
                                              MemorySegment df, MemorySegment dll, int batch, int z, int t) {
        double[] gf = new double[batch * z], gll = new double[batch * z * t];
        // logp is recomputed in double rather than read: the reference stays exact to double rounding
        marginalLogLikelihoodBackward(doubles(f, gf.length), doubles(ll, gll.length), mask == null ? null : doubles(mask, (long) batch * t),
                doubles(g, (long) batch * t), gf, gll, batch, z, t);
        for (int i = 0; i < gf.length; i++) set(df, i, (float) (get(df, i) + gf[i]));
        for (int i = 0; i < gll.length; i++) set(dll, i, (float) (get(dll, i) + gll[i]));
    }

    /** {@link Kernels#marginalLogLikelihood} in double precision (also the finite-difference oracle of the tests). */
    public static double[] marginalLogLikelihood(double[] f, double[] ll, double[] mask, int batch, int z, int t) {
        double[] logp = new double[batch * t];
        double[] logPrior = new double[z];
        for (int b = 0; b < batch; b++) {
            logPriors(f, b, z, logPrior);
            for (int j = 0; j < t; j++) logp[b * t + j] = targetLogMarginal(ll, mask, logPrior, b, z, t, j);
        }
        return logp;
    }

    /** {@link Kernels#marginalLogLikelihoodBackward} in double precision, accumulating into df and dll. */
    public static void marginalLogLikelihoodBackward(double[] f, double[] ll, double[] mask, double[] g, double[] df, double[] dll,
                                                     int batch, int z, int t) {
        double[] logPrior = new double[z];
        for (int b = 0; b < batch; b++) {
            logPriors(f, b, z, logPrior);
            for (int j = 0; j < t; j++) {
                double lp = targetLogMarginal(ll, mask, logPrior, b, z, t, j);
                if ((mask != null && mask[b * t + j] == 0) || lp == Double.NEGATIVE_INFINITY) continue;
                double gj = g[b * t + j];
                for (int c = 0; c < z; c++) {
                    int at = (b * z + c) * t + j;
                    double post = Math.exp(logPrior[c] + ll[at] - lp);
                    dll[at] += gj * post;
                    df[b * z + c] += gj * (post - Math.exp(logPrior[c]));
                }
            }
        }
    }

    private static void logPriors(double[] f, int b, int z, double[] logPrior) {
        double max = Double.NEGATIVE_INFINITY;
        for (int c = 0; c < z; c++) max = Math.max(max, f[b * z + c]);
        double sum = 0;
        for (int c = 0; c < z; c++) sum += Math.exp(f[b * z + c] - max);
        double lse = max + Math.log(sum);
        for (int c = 0; c < z; c++) logPrior[c] = f[b * z + c] - lse;
    }

    private static double targetLogMarginal(double[] ll, double[] mask, double[] logPrior, int b, int z, int t, int j) {
        if (mask != null && mask[b * t + j] == 0) return 0;
        double max = Double.NEGATIVE_INFINITY;
        for (int c = 0; c < z; c++) max = Math.max(max, logPrior[c] + ll[(b * z + c) * t + j]);
        if (max == Double.NEGATIVE_INFINITY) return max; // no candidate can produce this target
        double sum = 0;
        for (int c = 0; c < z; c++) sum += Math.exp(logPrior[c] + ll[(b * z + c) * t + j] - max);
        return max + Math.log(sum);
    }

    private static double[] doubles(MemorySegment s, long n) {
        double[] out = new double[Math.toIntExact(n)];
        for (int i = 0; i < out.length; i++) out[i] = get(s, i);
        return out;
    }

    @Override
    public void adamw(MemorySegment param, MemorySegment grad, MemorySegment m, MemorySegment v, long n,
                      float lr, float beta1, float beta2, float eps, float weightDecay, float bc1, float bc2) {
        for (long i = 0; i < n; i++) {
            double g = get(grad, i);
            double mi = beta1 * (double) get(m, i) + (1 - beta1) * g;
            double vi = beta2 * (double) get(v, i) + (1 - beta2) * g * g;
            double p = get(param, i);
            double update = (mi / bc1) / (Math.sqrt(vi / bc2) + eps) + weightDecay * p;
            set(m, i, (float) mi);
            set(v, i, (float) vi);
            set(param, i, (float) (p - lr * update));
        }
    }

    @Override
    public String toString() {
        return name();
    }
}
