package org.realmjava.trainer.model;

import java.util.Arrays;
import java.util.List;
import java.util.Random;
import org.apache.commons.math3.linear.Array2DRowRealMatrix;
import org.apache.commons.math3.linear.EigenDecomposition;
import org.apache.commons.math3.linear.RealMatrix;
import org.realmjava.tensor.Autograd;
import org.realmjava.tensor.Tensor;
import org.realmjava.transformer.bert.BertEncoder;

/**
 * Wordpiece vectors from a corpus's own co-occurrence counts: the positive pointwise mutual
 * information of wordpieces within a window, reduced to {@code dim} columns by a randomized
 * truncated SVD (Halko, Martinsson and Tropp 2011), rows U S^(1/2) scaled to unit length (Levy,
 * Goldberg and Dagan 2015 for the recipe). Wordpieces that occur in the same contexts (every year,
 * every count, every town) get close vectors.
 *
 * <p>Why a random BERT wants them: to copy a fact off a block, the reader's attention must pick
 * the wordpiece of the asked-for kind (the year, not the count). With random embeddings the 300
 * years of a corpus share no direction, so no attention pattern can find "the year" until training
 * has built one; added to the random embeddings, these vectors give every kind its direction from
 * step 0 while the random part keeps each wordpiece's identity. Nothing but the corpus goes in.
 */
public final class CorpusEmbeddings {
    private CorpusEmbeddings() {}

    /** The window (neighbours each side) and SVD seed the trainer uses. */
    public static final int WINDOW = 2;
    public static final long SEED = 5;

    /**
     * Vectors [vocab, dim] (row-major; zero for wordpieces not in the corpus) from the wordpiece
     * sequences of a corpus. window: neighbours on each side counted (weighted 1/distance); seed:
     * the SVD's random projection.
     */
    public static float[] compute(List<int[]> sequences, int vocab, int dim, int window, long seed) {
        // compact ids: only wordpieces that occur
        int[] compact = new int[vocab];
        Arrays.fill(compact, -1);
        int n = 0;
        for (int[] s : sequences) for (int id : s) if (compact[id] < 0) compact[id] = n++;
        int[] original = new int[n];
        for (int id = 0; id < vocab; id++) if (compact[id] >= 0) original[compact[id]] = id;
        float[] out = new float[vocab * dim];
        if (n < 2) return out;
        double[][] u = rows(ppmi(sequences, compact, n, window), dim, seed);
        for (int a = 0; a < n; a++) for (int c = 0; c < u[a].length; c++) out[original[a] * dim + c] = (float) u[a][c];
        return out;
    }

    /** PPMI [n, n] of the compact ids' co-occurrences within the window (weighted 1/distance; symmetric). */
    static double[][] ppmi(List<int[]> sequences, int[] compact, int n, int window) {
        double[][] m = new double[n][n];
        for (int[] s : sequences) {
            for (int i = 0; i < s.length; i++) {
                for (int j = Math.max(0, i - window); j <= Math.min(s.length - 1, i + window); j++) {
                    if (j != i) m[compact[s[i]]][compact[s[j]]] += 1.0 / Math.abs(i - j);
                }
            }
        }
        double[] row = new double[n];
        double total = 0;
        for (int a = 0; a < n; a++) {
            for (int b = 0; b < n; b++) row[a] += m[a][b];
            total += row[a];
        }
        for (int a = 0; a < n; a++) {
            for (int b = 0; b < n; b++) {
                double c = m[a][b];
                m[a][b] = c == 0 ? 0 : Math.max(0, Math.log(c * total / (row[a] * row[b])));
            }
        }
        return m;
    }

    /**
     * Rows U S^(1/2) of the rank-min(dim, n) truncated SVD of m [n, n], each scaled to unit length
     * (zero rows stay zero): a randomized range finder with two power iterations, then the exact
     * SVD of the small Q^T m.
     */
    static double[][] rows(double[][] matrix, int dim, long seed) {
        int n = matrix.length, rank = Math.min(dim, n), sketch = Math.min(n, rank + 10);
        RealMatrix m = new Array2DRowRealMatrix(matrix, false);
        Random rnd = new Random(seed);
        double[][] omega = new double[n][sketch];
        for (double[] r : omega) for (int j = 0; j < sketch; j++) r[j] = rnd.nextGaussian();
        RealMatrix q = orthonormal(m.multiply(new Array2DRowRealMatrix(omega, false)));
        for (int it = 0; it < 2; it++) q = orthonormal(m.multiply(orthonormal(m.transpose().multiply(q))));
        RealMatrix b = q.transpose().multiply(m); // [sketch, n]
        EigenDecomposition eig = new EigenDecomposition(b.multiply(b.transpose()));
        double[] values = eig.getRealEigenvalues();
        Integer[] order = new Integer[values.length];
        for (int i = 0; i < order.length; i++) order[i] = i;
        Arrays.sort(order, (x, y) -> Double.compare(values[y], values[x]));
        // left singular vectors U = Q V_b; singular values S = sqrt(eigenvalues of B B^T)
        double[][] u = new double[n][rank];
        for (int c = 0; c < rank; c++) {
            double s = Math.sqrt(Math.max(0, values[order[c]]));
            double[] v = q.operate(eig.getEigenvector(order[c])).toArray();
            for (int a = 0; a < n; a++) u[a][c] = v[a] * Math.sqrt(s);
        }
        for (double[] r : u) {
            double norm = 0;
            for (double x : r) norm += x * x;
            norm = Math.sqrt(norm);
            if (norm > 0) for (int c = 0; c < rank; c++) r[c] /= norm;
        }
        return u;
    }

    /** Orthonormal columns spanning y's (modified Gram-Schmidt; y is tall and thin). */
    private static RealMatrix orthonormal(RealMatrix y) {
        int rows = y.getRowDimension(), cols = y.getColumnDimension();
        double[][] c = new double[cols][];
        for (int j = 0; j < cols; j++) c[j] = y.getColumn(j);
        for (int j = 0; j < cols; j++) {
            for (int i = 0; i < j; i++) {
                double dot = 0;
                for (int r = 0; r < rows; r++) dot += c[i][r] * c[j][r];
                for (int r = 0; r < rows; r++) c[j][r] -= dot * c[i][r];
            }
            double norm = 0;
            for (double x : c[j]) norm += x * x;
            norm = Math.sqrt(norm);
            for (int r = 0; r < rows; r++) c[j][r] = norm < 1e-12 ? 0 : c[j][r] / norm;
        }
        return new Array2DRowRealMatrix(c, false).transpose();
    }

    /**
     * Adds scale times the vectors to an encoder's word embeddings (rows of unit length: scale is
     * the added length; BERT's random rows are about 0.02 sqrt(hidden) long).
     */
    public static void addTo(BertEncoder encoder, float[] vectors, float scale) {
        try (var g = Autograd.noGrad()) {
            Tensor e = encoder.wordEmbeddings;
            float[] w = e.toFloatArray();
            if (w.length != vectors.length) throw new IllegalArgumentException("vectors for " + vectors.length + " values, embeddings have " + w.length);
            for (int i = 0; i < w.length; i++) w[i] += scale * vectors[i];
            e.copyFrom(Tensor.of(w, e.size(0), e.size(1)));
        }
    }
}
