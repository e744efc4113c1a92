package org.realmjava.tensor.optim;

import java.util.Collection;
import org.realmjava.tensor.Backend;
import org.realmjava.tensor.Tensor;

/** Global-norm clipping: if the L2 norm of all gradients together exceeds maxNorm, scale them all down to it. */
public final class GradientClipping {
    private GradientClipping() {}

    /** Returns the norm before clipping. */
    public static double clipGlobalNorm(Collection<Tensor> params, double maxNorm) {
        double sq = 0;
        for (Tensor p : params) {
            if (p.grad() == null) continue;
            for (float g : p.grad().toFloatArray()) sq += (double) g * g;
        }
        double norm = Math.sqrt(sq);
        if (norm > maxNorm && norm > 0) {
            float s = (float) (maxNorm / (norm + 1e-6));
            for (Tensor p : params) {
                if (p.grad() == null) continue;
                var seg = p.grad().segment();
                Backend.current().kernels().scale(seg, s, seg, p.grad().numel());
            }
        }
        return norm;
    }
}
