package org.realmjava.tensor;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Random;
import org.junit.jupiter.api.Test;

/** Views share memory and index correctly; ops give the same results on views as on copies. */
class TensorViewTest {
    private final Random rng = new Random(7);

    @Test
    void viewsIndexTheSameElements() {
        Tensor x = Tensor.uniform(rng, -1, 1, 3, 4, 5);
        Tensor p = x.permute(2, 0, 1);
        assertFalse(p.isContiguous());
        assertEquals(x.get(1, 2, 3), p.get(3, 1, 2));
        Tensor n = x.narrow(1, 1, 2);
        assertEquals(x.get(2, 2, 4), n.get(2, 1, 4));
        Tensor s = x.select(2, 4);
        assertEquals(x.get(0, 3, 4), s.get(0, 3));
        Tensor e = x.select(0, 1).select(0, 1).unsqueeze(0).expand(6, 5);
        assertEquals(x.get(1, 1, 2), e.get(5, 2));
        Tensor r = x.reshape(12, -1);
        assertSame(x.storage(), r.storage()); // contiguous reshape is a view
        assertEquals(x.get(2, 3, 1), r.get(11, 1));
    }

    @Test
    void writesThroughAViewReachTheBase() {
        Tensor x = Tensor.zeros(4, 4);
        x.narrow(0, 1, 2).narrow(1, 2, 2).fill(3f);
        assertEquals(3f, x.get(2, 3));
        assertEquals(0f, x.get(0, 3));
        assertEquals(12f, x.sum().item());
    }

    @Test
    void opsOnNonContiguousViewsMatchOpsOnCopies() {
        Tensor a = Tensor.uniform(rng, -2, 2, 17, 127);
        Tensor at = a.transpose(0, 1); // [127, 17], strided
        Tensor copy = at.contiguous();
        assertTrue(copy.isContiguous());
        assertArrayEquals(copy.exp().toFloatArray(), at.exp().toFloatArray());
        assertArrayEquals(copy.softmax(-1).toFloatArray(), at.softmax(-1).toFloatArray());
        assertArrayEquals(copy.sum(0, false).toFloatArray(), at.sum(0, false).toFloatArray());
        Tensor b = Tensor.uniform(rng, -1, 1, 17, 3);
        Check.close("matmul on a transposed view", copy.matmul(b).toFloatArray(), at.matmul(b).toFloatArray(), 1e-5, 1e-5);
        Tensor w = Tensor.uniform(rng, -1, 1, 5, 17); // used as w^T, the Linear layout
        Check.close("matmul with transposed weight", copy.matmul(w.transpose(0, 1).contiguous()).toFloatArray(),
                at.matmul(w.transpose(0, 1)).toFloatArray(), 1e-5, 1e-5);
    }

    @Test
    void largeSizesStayExact() {
        // sizes that are not multiples of any vector width, through the tensor API
        for (int n : new int[] {1, 3, 17, 127, 4097}) {
            Tensor x = Tensor.uniform(rng, -3, 3, n);
            float[] v = x.toFloatArray();
            float[] y = x.relu().toFloatArray();
            for (int i = 0; i < n; i++) assertEquals(Math.max(0f, v[i]), y[i], "relu size " + n + " index " + i);
        }
    }

    @Test
    void bf16StorageRoundTrips() {
        Tensor x = Tensor.of(new float[] {1f, -2.5f, 3.14159f, 1e-3f}, 4);
        Tensor b = x.to(DType.BF16);
        assertEquals(DType.BF16, b.dtype());
        float[] back = b.toFloatArray();
        // bf16 keeps 8 significant bits: relative error below 2^-8
        Check.close("bf16 round trip", x.toFloatArray(), back, 0, 1.0 / 256);
        assertEquals(-2.5f, back[1]); // exactly representable
    }

    @Test
    void topkOrdersByValueThenLowerIndex() {
        Tensor x = Tensor.of(new float[] {0.5f, 2f, 2f, -1f, 7f, 2f}, 1, 6);
        Ops.TopK top = Ops.topk(x, 4);
        assertArrayEquals(new float[] {7f, 2f, 2f, 2f}, top.values().toFloatArray());
        assertArrayEquals(new int[] {4, 1, 2, 5}, top.indices().toIntArray());
        assertEquals(6, Ops.topk(x, 100).indices().size(-1)); // k clamps to the axis length
    }
}
