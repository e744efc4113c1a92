package org.realmjava.tensor.nn;

import java.util.LinkedHashMap;
import java.util.Map;
import org.realmjava.tensor.Tensor;

/**
 * Something with named parameters. Names form a tree with dots
 * ({@code encoder.layer.0.attention.self.query.weight}), the Hugging Face convention, so
 * checkpoints map one to one.
 */
public interface Module {
    /** Adds this module's parameters to out, each name prefixed (prefix is "" or ends with "."). */
    void collectParameters(String prefix, Map<String, Tensor> out);

    /** All parameters in a stable order. */
    default Map<String, Tensor> namedParameters() {
        Map<String, Tensor> out = new LinkedHashMap<>();
        collectParameters("", out);
        return out;
    }
}
