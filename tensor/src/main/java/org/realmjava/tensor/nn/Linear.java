package org.realmjava.tensor.nn;

import java.util.Map;
import java.util.Random;
import org.realmjava.tensor.Tensor;

/**
 * y = x W^T + b with W stored [out, in] (the PyTorch layout, so weights load unchanged);
 * the transpose is a view that GEMM reads as a transposed operand, and the bias (optional) is
 * fused ({@link org.realmjava.tensor.Ops#linear}).
 */
public final class Linear implements Module {
    public final Tensor weight;
    public final Tensor bias;

    public Linear(Tensor weight, Tensor bias) {
        if (weight.rank() != 2 || (bias != null && (bias.rank() != 1 || bias.size(0) != weight.size(0)))) {
            throw new IllegalArgumentException("Linear: weight " + java.util.Arrays.toString(weight.shape()) + " and bias "
                    + (bias == null ? "none" : java.util.Arrays.toString(bias.shape())) + " — need [out, in] and [out]");
        }
        this.weight = weight;
        this.bias = bias;
    }

    /** Weights from N(0, std^2) (BERT uses std 0.02), zero bias. */
    public static Linear init(Random rng, int in, int out, float std, boolean withBias) {
        return new Linear(Tensor.randn(rng, std, out, in).requiresGrad(true), withBias ? Tensor.zeros(out).requiresGrad(true) : null);
    }

    public Tensor forward(Tensor x) {
        return org.realmjava.tensor.Ops.linear(x, weight, bias);
    }

    @Override
    public void collectParameters(String prefix, Map<String, Tensor> out) {
        out.put(prefix + "weight", weight);
        if (bias != null) out.put(prefix + "bias", bias);
    }
}
