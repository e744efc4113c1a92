package org.realmjava.trainer.model;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import org.apache.commons.math3.linear.Array2DRowRealMatrix;
import org.apache.commons.math3.linear.SingularValueDecomposition;
import org.junit.jupiter.api.Test;
import org.realmjava.trainer.config.InitConfig;

/** Co-occurrence vectors: the randomized SVD against an exact one, kinds of wordpieces apart, the reader alone changed. */
class CorpusEmbeddingsTest {
    /** Sentences "w1 w2 YEAR w3" and "w4 COUNT w5 w6" with years 100-129 and counts 200-219 (ids), fillers 1-6. */
    private static List<int[]> world(long seed) {
        Random r = new Random(seed);
        List<int[]> out = new ArrayList<>();
        for (int i = 0; i < 400; i++) {
            out.add(new int[] {1, 2, 100 + r.nextInt(30), 3});
            out.add(new int[] {4, 200 + r.nextInt(20), 5, 6});
        }
        return out;
    }

    private static double cosine(float[] v, int a, int b, int dim) {
        double dot = 0, na = 0, nb = 0;
        for (int c = 0; c < dim; c++) {
            dot += v[a * dim + c] * v[b * dim + c];
            na += v[a * dim + c] * v[a * dim + c];
            nb += v[b * dim + c] * v[b * dim + c];
        }
        return dot / Math.sqrt(na * nb);
    }

    @Test
    void wordpiecesOfOneKindShareADirection() {
        int dim = 8, vocab = 300;
        float[] v = CorpusEmbeddings.compute(world(1), vocab, dim, 2, 5);
        double within = 0, across = 0;
        int nw = 0, na = 0;
        for (int a = 100; a < 130; a++) {
            for (int b = a + 1; b < 130; b++, nw++) within += cosine(v, a, b, dim);
            for (int b = 200; b < 220; b++, na++) across += cosine(v, a, b, dim);
        }
        within /= nw;
        across /= na;
        assertTrue(within > 0.9, "years with years: " + within);
        assertTrue(across < 0.3, "years with counts: " + across);
        for (int id = 0; id < vocab; id++) {
            double norm = 0;
            for (int c = 0; c < dim; c++) norm += v[id * dim + c] * v[id * dim + c];
            boolean seen = (id >= 1 && id <= 6) || (id >= 100 && id < 130) || (id >= 200 && id < 220);
            assertEquals(seen ? 1.0 : 0.0, norm, 1e-5, "row " + id);
        }
    }

    @Test
    void randomizedRowsMatchTheExactSvd() {
        // a random symmetric non-negative matrix, as PPMI is; sketch = n, so the range is found exactly
        int n = 20, dim = 12;
        Random r = new Random(3);
        double[][] m = new double[n][n];
        for (int a = 0; a < n; a++) for (int b = a; b < n; b++) m[a][b] = m[b][a] = r.nextDouble() < 0.4 ? r.nextDouble() * 3 : 0;
        sameRowsAsExact(m, dim, 1e-6);
        // rank 5 plus noise, 60 x 60: the sketch (15 columns) is much smaller than the matrix
        n = 60;
        double[][] f = new double[n][5], low = new double[n][n];
        for (double[] row : f) for (int c = 0; c < 5; c++) row[c] = r.nextDouble();
        for (int a = 0; a < n; a++) {
            for (int b = a; b < n; b++) {
                double v = 1e-4 * r.nextDouble();
                for (int c = 0; c < 5; c++) v += f[a][c] * f[b][c] * (5 - c);
                low[a][b] = low[b][a] = v;
            }
        }
        sameRowsAsExact(low, 5, 1e-4);
    }

    private static void sameRowsAsExact(double[][] m, int dim, double tolerance) {
        int n = m.length;
        double[][] fast = CorpusEmbeddings.rows(m, dim, 7);
        SingularValueDecomposition svd = new SingularValueDecomposition(new Array2DRowRealMatrix(m));
        double[] s = svd.getSingularValues();
        double[][] u = svd.getU().getData();
        // sign-free comparison: the Gram matrices of the unit rows
        for (int a = 0; a < n; a++) {
            double[] ea = unitRow(u[a], s, dim);
            for (int b = 0; b < n; b++) {
                double[] eb = unitRow(u[b], s, dim);
                double dotExact = 0, dotFast = 0;
                for (int c = 0; c < dim; c++) {
                    dotExact += ea[c] * eb[c];
                    dotFast += fast[a][c] * fast[b][c];
                }
                assertEquals(dotExact, dotFast, tolerance, a + "," + b);
            }
        }
    }

    /** The first dim columns of a row of U S^(1/2), scaled to unit length. */
    private static double[] unitRow(double[] u, double[] s, int dim) {
        double[] out = new double[dim];
        double norm = 0;
        for (int c = 0; c < dim; c++) {
            out[c] = u[c] * Math.sqrt(s[c]);
            norm += out[c] * out[c];
        }
        for (int c = 0; c < dim; c++) out[c] /= Math.sqrt(norm);
        return out;
    }

    @Test
    void onlyTheReaderGetsTheVectors() {
        InitConfig init = new InitConfig(null, null, null, new InitConfig.RandomBert(1, 32, 2, 64, 0, false, 0.5), null, null);
        ModelInit.Result with = ModelInit.create(init, 16, false, 4);
        ModelInit.Result without = ModelInit.create(new InitConfig(null, null, null, new InitConfig.RandomBert(1, 32, 2, 64, 0, false), null, null), 16,
                false, 4);
        List<int[]> blocks = List.of(new int[] {101, 2000, 2001, 2002, 102}, new int[] {101, 2003, 2001, 2004, 102});
        assertTrue(with.addCorpusVectors(blocks) != null);
        assertEquals(null, without.addCorpusVectors(blocks));
        float[] a = with.model().reader.wordEmbeddings.toFloatArray(), b = without.model().reader.wordEmbeddings.toFloatArray();
        int h = 32;
        for (int id : new int[] {101, 2000, 2001, 2002, 2003, 2004, 102}) {
            double d = 0;
            for (int c = 0; c < h; c++) d += Math.pow(a[id * h + c] - b[id * h + c], 2);
            assertEquals(0.5, Math.sqrt(d), 1e-4, "row " + id + " moved by the vector's length");
        }
        assertArrayEquals(java.util.Arrays.copyOfRange(b, 0, 100 * h), java.util.Arrays.copyOfRange(a, 0, 100 * h), "unseen rows unchanged");
        assertArrayEquals(without.model().queryTower.wordEmbeddings.toFloatArray(), with.model().queryTower.wordEmbeddings.toFloatArray());
        assertArrayEquals(without.model().docTower.wordEmbeddings.toFloatArray(), with.model().docTower.wordEmbeddings.toFloatArray());
    }
}
