package org.realmjava.tensor;

import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Random;
import org.junit.jupiter.api.Test;

/**
 * Ops with a fused inference kernel (taken when no gradient is recorded) give what their composed,
 * differentiable path gives: Ops.attention (also on column slices of one fused QKV tensor, with
 * padded keys) and Ops.linear with an activation.
 */
class FusedOpsTest {

    @Test
    void fusedMatchesComposedOnQkvSlicesWithPadding() {
        Random rng = new Random(7);
        int b = 3, len = 21, heads = 4, hd = 16, width = heads * hd;
        Tensor qkv = Tensor.uniform(rng, -1, 1, b, len, 3 * width);
        float[] m = new float[b * len];
        for (int i = 0; i < b; i++) for (int j = len - 4 * i; j < len; j++) m[i * len + j] = -1e9f;
        Tensor mask = Tensor.of(m, b, len);
        float scale = 0.25f;
        Tensor fused;
        try (var g = Autograd.noGrad()) {
            fused = Ops.attention(qkv.narrow(2, 0, width), qkv.narrow(2, width, width), qkv.narrow(2, 2 * width, width), mask, heads, scale);
        }
        // the same inputs as leaves that require grad take the composed path
        Tensor q = qkv.narrow(2, 0, width).contiguous().requiresGrad(true);
        Tensor k = qkv.narrow(2, width, width).contiguous().requiresGrad(true);
        Tensor v = qkv.narrow(2, 2 * width, width).contiguous().requiresGrad(true);
        Tensor composed = Ops.attention(q, k, v, mask, heads, scale);
        assertTrue(composed.requiresGrad(), "the composed path records the graph");
        assertFalse(fused.requiresGrad());
        Check.close("fused vs composed attention", composed.toFloatArray(), fused.toFloatArray(), 2e-6, 1e-5);
    }

    @Test
    void rejectsMismatchedShapesWithOneLine() {
        Tensor q = Tensor.zeros(2, 5, 8), mask = Tensor.zeros(2, 5);
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> Ops.attention(q, Tensor.zeros(2, 4, 8), q, mask, 2, 1f));
        assertTrue(e.getMessage().startsWith("attention: q [2, 5, 8], k [2, 4, 8]"), e.getMessage());
        assertThrows(IllegalArgumentException.class, () -> Ops.attention(q, q, q, mask, 3, 1f)); // 8 % 3 heads
    }

    @Test
    void linearWithActivationFusedMatchesComposed() {
        Random rng = new Random(11);
        Tensor x = Tensor.uniform(rng, -2, 2, 2, 5, 19), w = Tensor.uniform(rng, -0.5f, 0.5f, 37, 19), b = Tensor.uniform(rng, -1, 1, 37);
        for (org.realmjava.tensor.kernels.UnaryOp op : new org.realmjava.tensor.kernels.UnaryOp[] {
                org.realmjava.tensor.kernels.UnaryOp.GELU_ERF, org.realmjava.tensor.kernels.UnaryOp.GELU_TANH, org.realmjava.tensor.kernels.UnaryOp.RELU}) {
            Tensor fused;
            try (var g = Autograd.noGrad()) {
                fused = Ops.linear(x, w, b, op);
            }
            Tensor composed = Elementwise.unary(op, Ops.linear(x, w.detach().requiresGrad(true), b));
            assertTrue(composed.requiresGrad());
            Check.close("linear + " + op, composed.toFloatArray(), fused.toFloatArray(), 1e-6, 1e-5);
        }
    }
}
