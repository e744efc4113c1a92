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

    /** Writes the optimizer state (step count, moments) exactly, bit for bit. */
    void saveState(DataOutputStream out) throws IOException;

    /** Restores what {@link #saveState} wrote; fails if names or shapes differ. */
    void loadState(DataInputStream in) throws IOException;
}
