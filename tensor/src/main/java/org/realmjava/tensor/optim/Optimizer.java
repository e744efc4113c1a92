package org.realmjava.tensor.optim;

import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.IOException;
import java.util.Map;
import org.realmjava.tensor.Tensor;

/** Updates named parameters from their gradients. */
public interface Optimizer {
    /** One update with the given learning rate; parameters without a gradient are skipped. */
    void step(float learningRate);

    /** Drops every parameter's gradient. */
    default void zeroGrad() {
        for (Tensor p : parameters().values()) p.zeroGrad();
    }

    Map<String, Tensor> parameters();

    /**
     * The name of the first parameter (or state tensor, as "name (moment)") holding a NaN or an
     * infinity, or null when everything is finite: checked before every update and after a load.
     */
    default String firstNonFinite() {
        for (var e : parameters().entrySet()) if (!finite(e.getValue())) return e.getKey();
        return null;
    }

    /** Whether every value of t is finite (the backend's allFinite kernel). */
    static boolean finite(Tensor t) {
        Tensor c = (t.dtype() == org.realmjava.tensor.DType.F32 ? t : t.to(org.realmjava.tensor.DType.F32)).contiguous();
        return org.realmjava.tensor.Backend.current().kernels().allFinite(c.segment(), c.numel());
    }

    /** Writes the optimizer state (step count, moments) exactly, bit for bit. */
    void saveState(DataOutputStream out) throws IOException;

    /** Restores what {@link #saveState} wrote; fails if names or shapes differ. */
    void loadState(DataInputStream in) throws IOException;
}
