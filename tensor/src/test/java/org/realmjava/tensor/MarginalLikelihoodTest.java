package org.realmjava.tensor;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Random;
import org.junit.jupiter.api.Test;
import org.realmjava.tensor.kernels.ScalarKernels;

/**
 * REALM's marginal log-likelihood op: its gradients by double-precision finite differences, and
 * the identity d log p(y|x) / d f(x,z) = p(z|x) (p(y|z,x) / p(y|x) - 1) computed from probabilities
 * (not logs) on random inputs with -inf log-likelihoods, one candidate, and a dominant document.
 */
class MarginalLikelihoodTest {
    private final Random rng = new Random(7);

    private Tensor scores(int batch, int z) {
        return Tensor.uniform(rng, -3, 3, batch, z);
    }

    private Tensor logLikelihoods(int batch, int z, int t, boolean withNegInf) {
        Tensor ll = Tensor.uniform(rng, -9, -0.05f, batch, z, t);
        if (withNegInf) {
            for (int b = 0; b < batch; b++) for (int j = 0; j < t; j++) if ((b + j) % 3 == 0 && z > 1) ll.set(Float.NEGATIVE_INFINITY, b, (b + j) % z, j);
        }
        return ll;
    }

    private static GradCheck.DoubleFunction reference(int batch, int z, int t, double[] mask) {
        return x -> ScalarKernels.marginalLogLikelihood(x[0], x[1], mask, batch, z, t);
    }

    @Test
    void gradientsMatchDoublePrecisionFiniteDifferences() {
        int[][] shapes = {{1, 1, 1}, {3, 9, 1}, {2, 9, 5}, {4, 3, 17}};
        for (int[] s : shapes) {
            int batch = s[0], z = s[1], t = s[2];
            Tensor f = scores(batch, z), ll = logLikelihoods(batch, z, t, true);
            GradCheck.checkDouble("marginal " + batch + "x" + z + "x" + t, reference(batch, z, t, null),
                    x -> Ops.marginalLogLikelihood(x[0], x[1], null), f, ll);
        }
    }

    @Test
    void maskedTargetsGetNoLossAndNoGradient() {
        int batch = 3, z = 4, t = 6;
        float[] m = new float[batch * t];
        double[] md = new double[m.length];
        for (int i = 0; i < m.length; i++) md[i] = m[i] = i % 4 == 1 ? 0f : 1f;
        Tensor mask = Tensor.of(m, batch, t);
        Tensor f = scores(batch, z), ll = logLikelihoods(batch, z, t, true);
        GradCheck.checkDouble("marginal masked", reference(batch, z, t, md), x -> Ops.marginalLogLikelihood(x[0], x[1], mask), f, ll);
        Tensor logp = Ops.marginalLogLikelihood(f.detach(), ll.detach(), mask);
        for (int i = 0; i < m.length; i++) if (m[i] == 0) assertEquals(0f, logp.toFloatArray()[i], "masked target " + i);
    }

    @Test
    void scoreGradientIsThePosteriorMinusThePrior() {
        // per sequence (t = 1), g = 1: df must equal p(z|x) (p(y|z,x) / p(y|x) - 1)
        for (int trial = 0; trial < 6; trial++) {
            int batch = 4, z = trial == 0 ? 1 : 2 + rng.nextInt(8);
            Tensor f = scores(batch, z);
            if (trial == 1) f.set(30f, 0, 0); // one dominant document: p(z|x) ~ 1 for it
            Tensor ll = logLikelihoods(batch, z, 1, trial >= 2);
            f.requiresGrad(true);
            Ops.marginalLogLikelihood(f, ll, null).sum().backward();
            float[] fv = f.detach().toFloatArray(), lv = ll.toFloatArray(), grad = f.grad().toFloatArray();
            for (int b = 0; b < batch; b++) {
                double norm = 0, py = 0;
                for (int c = 0; c < z; c++) norm += Math.exp(fv[b * z + c]);
                for (int c = 0; c < z; c++) py += Math.exp(fv[b * z + c]) / norm * Math.exp(lv[b * z + c]);
                for (int c = 0; c < z; c++) {
                    double prior = Math.exp(fv[b * z + c]) / norm;
                    double expected = prior * (Math.exp(lv[b * z + c]) / py - 1);
                    assertEquals(expected, grad[b * z + c], 1e-6 + 1e-5 * Math.abs(expected), "trial " + trial + " b " + b + " z " + c);
                }
                if (z == 1) assertEquals(0f, grad[b], "a single candidate has p(z|x) = 1 whatever its score");
            }
        }
    }

    @Test
    void aTargetNoCandidateProducesIsMinusInfinityWithZeroGradients() {
        Tensor f = scores(1, 3).requiresGrad(true);
        Tensor ll = Tensor.of(new float[] {Float.NEGATIVE_INFINITY, -1f, Float.NEGATIVE_INFINITY, -2f, Float.NEGATIVE_INFINITY, -3f}, 1, 3, 2)
                .requiresGrad(true);
        Tensor logp = Ops.marginalLogLikelihood(f, ll, null);
        assertEquals(Float.NEGATIVE_INFINITY, logp.toFloatArray()[0]);
        assertTrue(Float.isFinite(logp.toFloatArray()[1]));
        logp.select(1, 0).sum().backward();
        for (float g : f.grad().toFloatArray()) assertEquals(0f, g);
        for (float g : ll.grad().toFloatArray()) assertEquals(0f, g);
    }

    @Test
    void theChecksFailOnAGradientOffByATenthOfAPercent() {
        org.junit.jupiter.api.Assertions.assertThrows(org.opentest4j.AssertionFailedError.class,
                () -> GradCheck.perturbed(1e-3, this::gradientsMatchDoublePrecisionFiniteDifferences));
        org.junit.jupiter.api.Assertions.assertThrows(org.opentest4j.AssertionFailedError.class,
                () -> GradCheck.perturbed(1e-3, this::maskedTargetsGetNoLossAndNoGradient));
        org.junit.jupiter.api.Assertions.assertThrows(org.opentest4j.AssertionFailedError.class,
                () -> GradCheck.perturbed(1e-3, this::targetLogProbMatchesDoubleFiniteDifferences));
    }

    @Test
    void targetLogProbMatchesDoubleFiniteDifferences() {
        int n = 5, classes = 37;
        int[] y = new int[n];
        for (int i = 0; i < n; i++) y[i] = rng.nextInt(classes);
        Tensor targets = Tensor.ofInts(y, n);
        Tensor logits = Tensor.uniform(rng, -4, 4, n, classes);
        GradCheck.checkDouble("targetLogProb", x -> {
            double[] out = new double[n];
            for (int i = 0; i < n; i++) {
                double max = Double.NEGATIVE_INFINITY, sum = 0;
                for (int c = 0; c < classes; c++) max = Math.max(max, x[0][i * classes + c]);
                for (int c = 0; c < classes; c++) sum += Math.exp(x[0][i * classes + c] - max);
                out[i] = x[0][i * classes + y[i]] - max - Math.log(sum);
            }
            return out;
        }, x -> Ops.targetLogProb(x[0], targets), logits);
    }

    @Test
    void badShapesAreRefusedWithTheShapes() {
        var e = assertThrows(IllegalArgumentException.class, () -> Ops.marginalLogLikelihood(Tensor.zeros(2, 3), Tensor.zeros(2, 4, 1), null));
        assertTrue(e.getMessage().contains("[2, 3]") && e.getMessage().contains("[2, 4, 1]"), e.getMessage());
        assertThrows(IndexOutOfBoundsException.class, () -> Ops.targetLogProb(Tensor.zeros(2, 3), Tensor.ofInts(new int[] {0, 3}, 2)));
    }
}
