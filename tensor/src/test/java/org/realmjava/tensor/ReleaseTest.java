package org.realmjava.tensor;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Random;
import org.junit.jupiter.api.Test;

/** Tensor.release: a dead intermediate's block goes back at once, exactly once, and only an owner's. */
class ReleaseTest {
    @Test
    void aReleasedBlockIsPooledAndReusedWithoutACollection() {
        long rows = 256, cols = 1024; // 1 MiB: a pooled size class
        Tensor a = Tensor.zeros(rows, cols);
        long before = NativeMemory.pooledBytes();
        long address = a.segment().address();
        assertTrue(a.release());
        assertTrue(NativeMemory.pooledBytes() >= before + rows * cols * 4, "the block went to the pool");
        assertFalse(a.release(), "a second release does nothing");
        // requests of that size take the block back (after any blocks a cleaner thread pushed meanwhile)
        java.util.List<Tensor> held = new java.util.ArrayList<>();
        Tensor b = null;
        for (int i = 0; i < 64 && b == null; i++) {
            Tensor t = Tensor.zeros(rows, cols);
            if (t.segment().address() == address) b = t;
            else held.add(t);
        }
        assertTrue(b != null, "the released block was not handed out again");
        b.fill(2f);
        assertFalse(a.release(), "releasing a again must not free b, which now owns the address");
        Tensor c = Tensor.zeros(rows, cols);
        assertTrue(c.segment().address() != address, "b's block is still b's");
        assertEquals(2f * rows * cols, b.sum().item(), 1e-3);
    }

    @Test
    void viewsAndGraphTensorsAreNotReleased() {
        Tensor a = Tensor.uniform(new Random(3), -1, 1, 8, 8);
        float before = a.get(5, 5);
        assertFalse(a.narrow(0, 2, 3).release(), "a view at an offset does not own the block");
        Tensor.zeros(8, 8).fill(7f); // a fresh tensor of the same size must not land on a's memory
        assertEquals(before, a.get(5, 5));
        Tensor w = Tensor.uniform(new Random(4), -1, 1, 4, 4).requiresGrad(true);
        assertThrows(IllegalStateException.class, w::release);
    }

    @Test
    void theCollectorDoesNotReturnAReleasedBlockAgain() {
        // release many blocks, drop them, collect: each block must be in the pool once, so two
        // live tensors taken from the pool afterwards never share memory
        long size = 300 * 1024 / 4;
        for (int i = 0; i < 64; i++) Tensor.zeros(size).release();
        System.gc();
        try {
            Thread.sleep(200); // cleaners run on their own thread
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        java.util.Set<Long> seen = new java.util.HashSet<>();
        java.util.List<Tensor> keep = new java.util.ArrayList<>();
        for (int i = 0; i < 128; i++) {
            Tensor t = Tensor.zeros(size);
            keep.add(t);
            assertTrue(seen.add(t.segment().address()), "two live tensors got the same block");
        }
        assertEquals(128, keep.size());
    }
}
