package org.realmjava.tensor;

import java.lang.foreign.MemorySegment;

/**
 * REALM's two loss ops: the marginal log-likelihood over retrieved documents (kernel
 * {@code marginalLogLikelihood}, scalar reference in ScalarKernels) and the log-probability of
 * each row's target under a vocabulary softmax (what the reader gives for one masked token under
 * one candidate document), built from the log-softmax kernels.
 */
final class RealmLosses {
    private RealmLosses() {}

    static Tensor marginalLogLikelihood(Tensor f, Tensor ll, Tensor mask) {
        f.requireDType("marginalLogLikelihood", DType.F32);
        ll.requireDType("marginalLogLikelihood", DType.F32);
        if (f.rank() != 2 || ll.rank() != 3 || ll.size(0) != f.size(0) || ll.size(1) != f.size(1)) {
            throw new IllegalArgumentException("marginalLogLikelihood: scores " + Shapes.str(f.shape()) + " and log-likelihoods "
                    + Shapes.str(ll.shape()) + " — need [batch, z] and [batch, z, t]");
        }
        int batch = (int) f.size(0), z = (int) f.size(1), t = (int) ll.size(2);
        if (z == 0) throw new IllegalArgumentException("marginalLogLikelihood: no candidates (z = 0)");
        if (mask != null) {
            mask.requireDType("marginalLogLikelihood", DType.F32);
            if (mask.rank() != 2 || mask.size(0) != batch || mask.size(1) != t) {
                throw new IllegalArgumentException("marginalLogLikelihood: mask " + Shapes.str(mask.shape()) + " — need [" + batch + ", " + t + "]");
            }
        }
        Tensor fc = f.contiguous(), llc = ll.contiguous(), mc = mask == null ? null : mask.contiguous();
        MemorySegment ms = mc == null ? null : mc.segment();
        Tensor logp = Tensor.uninitialized(batch, t);
        Tensor.k().marginalLogLikelihood(fc.segment(), llc.segment(), ms, logp.segment(), batch, z, t);
        return Autograd.record("marginalLogLikelihood", logp, g -> {
            Tensor df = Tensor.zeros(batch, z), dll = Tensor.zeros(batch, z, t);
            Tensor.k().marginalLogLikelihoodBackward(fc.segment(), llc.segment(), ms, logp.segment(), g.contiguous().segment(),
                    df.segment(), dll.segment(), batch, z, t);
            if (f.requiresGrad()) Autograd.accumulate(f, df);
            if (ll.requiresGrad()) Autograd.accumulate(ll, dll);
        }, f, ll);
    }

    static Tensor targetLogProb(Tensor logits, Tensor targets) {
        logits.requireDType("targetLogProb", DType.F32);
        targets.requireDType("targetLogProb", DType.I32);
        if (logits.rank() != 2 || targets.rank() != 1 || targets.size(0) != logits.size(0)) {
            throw new IllegalArgumentException("targetLogProb: logits " + Shapes.str(logits.shape()) + " and targets " + Shapes.str(targets.shape())
                    + " — need [n, classes] and [n]");
        }
        int n = (int) logits.size(0), classes = (int) logits.size(1);
        int[] y = targets.toIntArray();
        for (int i = 0; i < n; i++) {
            if (y[i] < 0 || y[i] >= classes) {
                throw new IndexOutOfBoundsException("targetLogProb: target " + y[i] + " at row " + i + " out of range for " + classes + " classes");
            }
        }
        Tensor logp = Tensor.uninitialized(n, classes);
        Tensor.k().logSoftmaxRows(logits.contiguous().segment(), logp.segment(), n, classes);
        MemorySegment lp = logp.segment();
        float[] picked = new float[n];
        for (int i = 0; i < n; i++) picked[i] = lp.getAtIndex(Tensor.F32, (long) i * classes + y[i]);
        Tensor out = Tensor.of(picked, n);
        return Autograd.record("targetLogProb", out, g -> {
            // d out_i / d logits[i, :] = onehot(y_i) - softmax: the log-softmax backward of a one-hot dy
            float[] gv = g.toFloatArray();
            Tensor dy = Tensor.zeros(n, classes), dx = Tensor.zeros(n, classes);
            MemorySegment ds = dy.segment();
            for (int i = 0; i < n; i++) ds.setAtIndex(Tensor.F32, (long) i * classes + y[i], gv[i]);
            Tensor.k().logSoftmaxRowsBackward(lp, ds, dx.segment(), n, classes);
            Autograd.accumulate(logits, dx);
        }, logits);
    }
}
