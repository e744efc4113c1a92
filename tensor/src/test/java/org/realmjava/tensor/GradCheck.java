package org.realmjava.tensor;

import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.fail;

import java.util.Random;
import java.util.function.Function;

/**
 * Gradient checks in double precision: an op's analytic gradient (f32, through autograd) against
 * central finite differences of a double-precision reference of the same function
 * ({@link DoubleRef} for most ops). {@link #perturbed} scales every analytic gradient by (1 + e):
 * each check is shown to fail on a gradient 0.1% wrong (GradientCheckTest).
 */
public final class GradCheck {
    private GradCheck() {}

    /** Relative error put on the analytic gradients while {@link #perturbed} runs (0: none). */
    private static final ThreadLocal<Double> PERTURBATION = ThreadLocal.withInitial(() -> 0.0);

    /** Runs checks with every analytic gradient multiplied by (1 + relativeError). */
    public static void perturbed(double relativeError, Runnable checks) {
        PERTURBATION.set(relativeError);
        try {
            checks.run();
        } finally {
            PERTURBATION.set(0.0);
        }
    }

    /** A function of double inputs, the same math as an op: the double path's oracle. */
    @FunctionalInterface
    public interface DoubleFunction {
        double[] apply(double[][] inputs);
    }

    /**
     * The double path: the op's analytic gradients (f32, through autograd) against central finite
     * differences of a double-precision reference of the same function, so that the difference
     * quotient carries no f32 rounding: h = 1e-5 * max(1, |x|) gives a truncation error ~1e-10
     * and rounding ~1e-16 / h ~ 1e-11, both far below f32's own ~1e-7 relative error of the
     * analytic side. Tolerance (DL4J's defaults): atol 1e-6 + rtol 1e-5. Inputs that are
     * infinite (-inf log-likelihoods) are not perturbed; their gradient must be exactly 0.
     * Every element is checked (up to 400 per input).
     */
    public static void checkDouble(String name, DoubleFunction reference, Function<Tensor[], Tensor> f, Tensor... inputs) {
        checkDouble(name, 1e-6, 1e-5, reference, f, inputs);
    }

    public static void checkDouble(String name, double atol, double rtol, DoubleFunction reference, Function<Tensor[], Tensor> f, Tensor... inputs) {
        for (Tensor t : inputs) t.requiresGrad(true).zeroGrad();
        Tensor out = f.apply(inputs);
        Random rng = new Random(name.hashCode());
        double[] w = new double[Math.toIntExact(out.numel())];
        float[] wf = new float[w.length];
        for (int i = 0; i < w.length; i++) wf[i] = (float) (w[i] = (float) rng.nextGaussian());
        out.mul(Tensor.of(wf, out.shape())).sum().backward();
        double[][] x = new double[inputs.length][];
        for (int i = 0; i < inputs.length; i++) {
            float[] v = inputs[i].toFloatArray();
            x[i] = new double[v.length];
            for (int j = 0; j < v.length; j++) x[i][j] = v[j];
        }
        for (int which = 0; which < inputs.length; which++) {
            Tensor analytic = inputs[which].grad();
            assertNotNull(analytic, name + ": input " + which + " got no gradient");
            float[] ga = analytic.toFloatArray();
            double perturb = 1 + PERTURBATION.get();
            int n = x[which].length;
            int stride = Math.max(1, n / 400);
            for (int flat = 0; flat < n; flat += stride) {
                double orig = x[which][flat];
                double numeric;
                if (Double.isInfinite(orig)) {
                    numeric = 0;
                } else {
                    double h = 1e-5 * Math.max(1, Math.abs(orig));
                    x[which][flat] = orig + h;
                    double lp = dot(reference.apply(x), w);
                    x[which][flat] = orig - h;
                    double lm = dot(reference.apply(x), w);
                    x[which][flat] = orig;
                    numeric = (lp - lm) / (2 * h);
                }
                double a = ga[flat] * perturb;
                if (!(Math.abs(a - numeric) <= atol + rtol * Math.abs(numeric))) {
                    fail(name + ": d/d input" + which + java.util.Arrays.toString(unflatten(flat, inputs[which].shape())) + " analytic " + a
                            + " numeric (double) " + numeric + " (x = " + orig + ")");
                }
            }
        }
    }

    private static double dot(double[] v, double[] w) {
        double s = 0;
        for (int i = 0; i < v.length; i++) s += v[i] * w[i];
        return s;
    }

    static long[] unflatten(long flat, long[] shape) {
        long[] idx = new long[shape.length];
        for (int i = shape.length - 1; i >= 0; i--) {
            idx[i] = flat % shape[i];
            flat /= shape[i];
        }
        return idx;
    }
}
