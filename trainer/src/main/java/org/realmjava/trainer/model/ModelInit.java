package org.realmjava.trainer.model;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import org.realmjava.tensor.Autograd;
import org.realmjava.tensor.Tensor;
import org.realmjava.tensor.nn.Linear;
import org.realmjava.trainer.checkpoint.ModelStore;
import org.realmjava.trainer.config.InitConfig;
import org.realmjava.transformer.bert.BertConfig;
import org.realmjava.transformer.bert.BertEncoder;
import org.realmjava.transformer.bert.MaskedLanguageModelHead;
import org.realmjava.transformer.bert.MimeticInit;
import org.realmjava.transformer.tokenizer.WordPieceTokenizer;
import org.realmjava.transformer.weights.ModelFiles;

/**
 * Builds the starting REALM model from an {@link InitConfig}. The retriever starts where its init
 * model stands (docs/architecture.md, "retriever start"): the built-in all-MiniLM-L6-v2 keeps the
 * mean pooling and L2 normalisation it was trained with, scores are cosines times 20 (its training
 * scale); its projection is the identity at the hidden size, or, below it, the corpus PCA
 * ({@link #needsCorpusPca}, set by the trainer from the corpus embeddings before step 0). A random
 * BERT is mean-pooled (see {@link #create}) through a random projection. The three BERTs are copies of one init model
 * (separate weights), the MLM head is new and tied to the reader's word embeddings.
 */
public final class ModelInit {
    /** Built-in model's training scale for cosine similarities (sentence-transformers' MultipleNegativesRankingLoss). */
    static final float COSINE_SCALE = 20f;

    public record Result(RealmModel model, WordPieceTokenizer tokenizer, Path tokenizerFile, boolean needsCorpusPca, String description,
                         double readerCorpusVectors) {
        public Result(RealmModel model, WordPieceTokenizer tokenizer, Path tokenizerFile, boolean needsCorpusPca, String description) {
            this(model, tokenizer, tokenizerFile, needsCorpusPca, description, 0);
        }

        /**
         * init.random.corpus_vectors: adds the corpus's co-occurrence vectors at that length to the
         * reader's word embeddings (a no-op when it is 0, as for any model not created at random).
         * blocks: the wordpieces of every block. Returns a line for the log, or null.
         */
        public String addCorpusVectors(List<int[]> blocks) {
            if (readerCorpusVectors <= 0) return null;
            long t = System.nanoTime();
            BertEncoder reader = model.reader;
            float[] v = CorpusEmbeddings.compute(blocks, (int) reader.wordEmbeddings.size(0), reader.config.hiddenSize(), CorpusEmbeddings.WINDOW,
                    CorpusEmbeddings.SEED);
            CorpusEmbeddings.addTo(reader, v, (float) readerCorpusVectors);
            return String.format(java.util.Locale.ROOT, "reader: corpus co-occurrence vectors (length %.2f) added to its word embeddings in %.1f s",
                    readerCorpusVectors, (System.nanoTime() - t) / 1e9);
        }
    }

    private ModelInit() {}

    /**
     * What decides a run's model, its start and its shapes (state.json's model_key): a
     * checkpoint_dir holds one run of one model.
     */
    public static String key(InitConfig i, int projectionDim, boolean sharedTowers) {
        String source = i.checkpoint() != null ? "checkpoint " + i.checkpoint() : i.random() != null ? "random " + i.random() : i.model() != null
                ? "model " + i.model() : "built-in all-MiniLM-L6-v2";
        return source + ", projection " + projectionDim + (sharedTowers ? ", shared towers" : "") + (i.pooling() != null ? ", pooling " + i.pooling() : "")
                + (i.normalize() != null ? ", normalize " + i.normalize() : "");
    }

    /**
     * The model a training run starts from: the checkpoint it resumes (resume not null: model and
     * tokenizer as saved), else {@link #create} from init.
     */
    public static Result startOrResume(Path resume, InitConfig init, int projectionDim, boolean sharedTowers, long seed) throws IOException {
        if (resume == null) return create(init, projectionDim, sharedTowers, seed);
        Path tokenizerFile = CheckpointPaths.tokenizerIn(resume);
        return new Result(ModelStore.load(resume), WordPieceTokenizer.load(tokenizerFile), tokenizerFile, false, "checkpoint " + resume);
    }

    /** projectionDim 0: the checkpoint's, or the encoder's hidden size (identity projection). */
    public static Result create(InitConfig init, int projectionDim, boolean sharedTowers, long seed) {
        try {
            Path tokFile = init.tokenizer();
            if (init.checkpoint() != null) {
                Path dir = CheckpointPaths.modelDirectory(init.checkpoint());
                RealmModel m = ModelStore.load(dir);
                if (projectionDim > 0 && m.spec.projectionDim() != projectionDim) {
                    throw new IllegalArgumentException("init.checkpoint " + dir + " projects to " + m.spec.projectionDim() + " dimensions, projection_dim is "
                            + projectionDim);
                }
                if (tokFile == null) tokFile = CheckpointPaths.tokenizerIn(dir);
                WordPieceTokenizer tok = tokenizer(tokFile, m.reader.config);
                return new Result(m, tok, tokFile, false, "checkpoint " + dir);
            }
            boolean builtIn = init.model() == null && init.random() == null;
            if (tokFile == null) tokFile = DefaultModel.file(DefaultModel.TOKENIZER);
            if (init.random() != null) {
                WordPieceTokenizer tok = WordPieceTokenizer.load(tokFile);
                InitConfig.RandomBert r = init.random();
                if (projectionDim <= 0) projectionDim = r.hidden();
                BertConfig c = BertConfig.tiny(tok.vocabSize(), r.hidden(), r.layers(), r.heads(), r.intermediate(), 512, (float) r.dropout());
                // a random BERT was trained no way at all; its [CLS] vectors barely depend on the input, and
                // measured: ICT over 8 in-batch candidates stayed at log 8 for 40 steps from [CLS] and fell to
                // 1.62 nats from mean pooling (PretrainRunTest), so mean pooling is its default
                // normalised vectors score as cosines times the same scale as the built-in model's (a cosine alone
                // spans [-1, 1]: p(z|x) could not prefer one block much)
                boolean normalize = Boolean.TRUE.equals(init.normalize());
                RetrieverSpec spec = new RetrieverSpec(init.pooling() == null ? "mean" : init.pooling(), normalize, normalize ? COSINE_SCALE : 1f,
                        projectionDim, sharedTowers);
                BertEncoder q = BertEncoder.random(c, seed + 1);
                BertEncoder d = sharedTowers ? q : BertEncoder.random(c, seed + 2);
                BertEncoder reader = BertEncoder.random(c, seed + 3);
                MaskedLanguageModelHead head = new MaskedLanguageModelHead(reader, seed + 5);
                // the reader only: on the towers it cost ICT its generalisation (probe recall@5 4.5% against 53.5%
                // after 500 steps on the synthetic world, docs/experiments.md)
                if (r.mimetic()) {
                    MimeticInit.apply(reader, new Random(seed + 6), MimeticInit.QK_STD, MimeticInit.OV_GAIN);
                    MimeticInit.apply(head, MimeticInit.HEAD_GAIN);
                }
                Random rng = new Random(seed + 4);
                Linear qp = Linear.init(rng, r.hidden(), projectionDim, 0.02f, false), dp = Linear.init(rng, r.hidden(), projectionDim, 0.02f, false);
                return new Result(new RealmModel(spec, q, d, qp, dp, reader, head), tok, tokFile, false,
                        "random BERT (" + r.layers() + " layers, hidden " + r.hidden() + ", " + r.heads() + " heads" + (r.mimetic() ? ", mimetic" : "")
                                + (r.corpusVectors() > 0 ? ", reader with corpus vectors" : "") + ")", r.corpusVectors());
            }
            Path modelFile = builtIn ? DefaultModel.file(DefaultModel.ONNX) : init.model();
            BertEncoder base = ModelFiles.load(modelFile);
            WordPieceTokenizer tok = tokenizer(tokFile, base.config);
            int h = base.config.hiddenSize();
            if (projectionDim <= 0) projectionDim = h;
            if (projectionDim > h) {
                throw new IllegalArgumentException("projection_dim " + projectionDim + " exceeds the init model's hidden size " + h
                        + " (a projection up adds nothing a pre-trained geometry could fill)");
            }
            String pooling = init.pooling() != null ? init.pooling() : builtIn ? "mean" : "cls";
            boolean normalize = init.normalize() != null ? init.normalize() : builtIn;
            RetrieverSpec spec = new RetrieverSpec(pooling, normalize, normalize ? COSINE_SCALE : 1f, projectionDim, sharedTowers);
            BertEncoder q = copy(base), d = sharedTowers ? q : copy(base), reader = copy(base);
            // identity at the hidden size; below it a placeholder that the corpus PCA replaces before step 0
            Linear qp = new Linear(identityRows(projectionDim, h).requiresGrad(true), null);
            Linear dp = new Linear(identityRows(projectionDim, h).requiresGrad(true), null);
            RealmModel m = new RealmModel(spec, q, d, qp, dp, reader, new MaskedLanguageModelHead(reader, seed + 5));
            return new Result(m, tok, tokFile, projectionDim < h, (builtIn ? "all-MiniLM-L6-v2 (built-in)" : modelFile.toString()) + ", " + pooling
                    + " pooling" + (normalize ? " + L2" : "") + ", projection " + (projectionDim < h ? "corpus PCA " + h + " -> " + projectionDim : "identity"));
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    private static WordPieceTokenizer tokenizer(Path file, BertConfig c) {
        WordPieceTokenizer tok = WordPieceTokenizer.load(file);
        if (tok.vocabSize() > c.vocabSize()) {
            throw new IllegalArgumentException("tokenizer " + file + " has " + tok.vocabSize() + " tokens, the model's vocabulary " + c.vocabSize());
        }
        return tok;
    }

    /** An independent, trainable copy of an encoder. */
    public static BertEncoder copy(BertEncoder e) {
        try (var g = Autograd.noGrad()) {
            Map<String, Tensor> p = new LinkedHashMap<>();
            e.namedParameters().forEach((n, t) -> p.put(n, t.detach().copy()));
            return ModelStore.trainable(BertEncoder.fromParameters(e.config, p));
        }
    }

    /** [rows, cols] with ones on the diagonal: the first rows coordinates. */
    static Tensor identityRows(int rows, int cols) {
        float[] w = new float[rows * cols];
        for (int i = 0; i < rows; i++) w[i * cols + i] = 1f;
        return Tensor.of(w, rows, cols);
    }

    /** Makes both projections the top principal directions of the pooled corpus vectors (rows: pooled [n, hidden]). */
    public static void setProjectionToPca(RealmModel m, float[] pooled, int n) {
        int h = (int) m.queryProjection.weight.size(1), dim = m.spec.projectionDim();
        double[] mean = new double[h];
        for (int i = 0; i < n; i++) for (int j = 0; j < h; j++) mean[j] += pooled[i * h + j];
        for (int j = 0; j < h; j++) mean[j] /= n;
        double[][] cov = new double[h][h];
        for (int i = 0; i < n; i++) {
            for (int a = 0; a < h; a++) {
                double xa = pooled[i * h + a] - mean[a];
                for (int b = a; b < h; b++) cov[a][b] += xa * (pooled[i * h + b] - mean[b]);
            }
        }
        for (int a = 0; a < h; a++) for (int b = 0; b < a; b++) cov[a][b] = cov[b][a];
        var eig = new org.apache.commons.math3.linear.EigenDecomposition(new org.apache.commons.math3.linear.Array2DRowRealMatrix(cov, false));
        double[] values = eig.getRealEigenvalues();
        Integer[] order = new Integer[h];
        for (int i = 0; i < h; i++) order[i] = i;
        java.util.Arrays.sort(order, (x, y) -> Double.compare(values[y], values[x]));
        float[] w = new float[dim * h];
        for (int r = 0; r < dim; r++) {
            double[] v = eig.getEigenvector(order[r]).toArray();
            for (int j = 0; j < h; j++) w[r * h + j] = (float) v[j];
        }
        // no centring term: subtracting the mean shifts every score of a query by one constant, which no ranking or softmax sees
        try (var g = Autograd.noGrad()) {
            Tensor t = Tensor.of(w, dim, h);
            m.queryProjection.weight.copyFrom(t);
            m.docProjection.weight.copyFrom(t);
        }
    }

    /** Where a checkpoint's model and tokenizer are. */
    public static final class CheckpointPaths {
        private CheckpointPaths() {}

        /**
         * dir itself when it holds a model; else the newest step directory of a run's
         * checkpoint_dir. Either way its files must match their checksums (one line naming the
         * damaged file otherwise): nothing damaged is loaded.
         */
        public static Path modelDirectory(Path dir) {
            if (!Files.isDirectory(dir)) throw new IllegalArgumentException(dir + ": no such checkpoint directory (not a REALM checkpoint)");
            Path d = dir;
            if (!ModelStore.isModelDirectory(dir)) {
                d = org.realmjava.trainer.checkpoint.CheckpointDirectory.latest(dir);
                if (d == null) throw new IllegalArgumentException(dir + ": not a REALM checkpoint (no " + ModelStore.MANIFEST + ", no step-* checkpoints)");
            }
            org.realmjava.trainer.checkpoint.Checksums.requireIntact(d);
            return d;
        }

        public static Path tokenizerIn(Path dir) throws IOException {
            for (String n : new String[] {"tokenizer.json", "vocab.txt"}) if (Files.isRegularFile(dir.resolve(n))) return dir.resolve(n);
            return DefaultModel.file(DefaultModel.TOKENIZER);
        }
    }
}
