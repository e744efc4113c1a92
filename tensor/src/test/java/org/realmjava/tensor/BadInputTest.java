package org.realmjava.tensor;

import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.function.Executable;

/** Bad shapes, dtypes and indices: an exception naming the op and the shapes, never a JVM crash. */
class BadInputTest {
    private static void rejects(Executable e, String... mustMention) {
        Exception ex = assertThrows(RuntimeException.class, e);
        for (String s : mustMention) {
            assertTrue(ex.getMessage().contains(s), "message '" + ex.getMessage() + "' should mention '" + s + "'");
        }
    }

    @Test
    void shapeMismatches() {
        rejects(() -> Tensor.zeros(32, 384).matmul(Tensor.zeros(128, 384)), "matmul", "[32, 384]", "[128, 384]", "384 and 128");
        rejects(() -> Tensor.zeros(3, 4).add(Tensor.zeros(5)), "add", "[3, 4]", "[5]");
        rejects(() -> Tensor.zeros(2, 3, 4).matmul(Tensor.zeros(5, 4, 2)), "matmul", "[2, 3, 4]", "[5, 4, 2]");
        rejects(() -> Tensor.zeros(6).reshape(4, -1), "reshape", "[6]");
        rejects(() -> Ops.layerNorm(Tensor.zeros(2, 8), Tensor.ones(7), Tensor.zeros(8), 1e-5f), "layerNorm", "[2, 8]", "[7]");
        rejects(() -> Ops.concat(List.of(Tensor.zeros(2, 3), Tensor.zeros(3, 3)), 1), "concat", "[2, 3]", "[3, 3]");
        rejects(() -> Tensor.zeros(2, 3).softmax(2), "axis 2");
    }

    @Test
    void wrongDtypes() {
        rejects(() -> Tensor.ofInts(new int[] {1, 2}).exp(), "exp", "F32", "I32");
        rejects(() -> Ops.embedding(Tensor.zeros(3, 2), Tensor.zeros(2)), "indexSelect", "I32");
        rejects(() -> Ops.crossEntropy(Tensor.zeros(2, 3), Tensor.zeros(2), -100, 0f), "crossEntropy", "I32");
    }

    @Test
    void outOfRangeIndices() {
        rejects(() -> Ops.embedding(Tensor.zeros(10, 4), Tensor.ofInts(new int[] {3, 10})), "id 10", "10 rows");
        rejects(() -> Ops.embedding(Tensor.zeros(10, 4), Tensor.ofInts(new int[] {-1})), "id -1");
        rejects(() -> Ops.crossEntropy(Tensor.zeros(2, 3), Tensor.ofInts(new int[] {0, 3}), -100, 0f), "target 3", "3 classes");
        rejects(() -> Tensor.zeros(3, 4).get(3, 0), "[3, 0]", "[3, 4]");
        rejects(() -> Tensor.zeros(3, 4).narrow(1, 2, 3), "narrow", "[3, 4]");
        rejects(() -> Ops.topk(Tensor.zeros(3), 0), "topk", "k");
    }
}
