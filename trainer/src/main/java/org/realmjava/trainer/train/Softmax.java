package org.realmjava.trainer.train;

/** Softmax of a row of float scores in double precision (metrics, answers): -inf entries get probability 0. */
public final class Softmax {
    private Softmax() {}

    /** softmax(x[from .. from + n)) as doubles. */
    public static double[] of(float[] x, int from, int n) {
        double max = Double.NEGATIVE_INFINITY;
        for (int i = 0; i < n; i++) max = Math.max(max, x[from + i]);
        double[] p = new double[n];
        double sum = 0;
        for (int i = 0; i < n; i++) sum += p[i] = Math.exp(x[from + i] - max);
        for (int i = 0; i < n; i++) p[i] /= sum;
        return p;
    }
}
