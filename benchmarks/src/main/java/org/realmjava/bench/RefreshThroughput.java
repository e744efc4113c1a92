package org.realmjava.bench;

import ai.onnxruntime.OnnxTensor;
import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtSession;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import org.realmjava.tensor.Autograd;
import org.realmjava.trainer.config.InitConfig;
import org.realmjava.trainer.corpus.Block;
import org.realmjava.trainer.corpus.BlockSplitter;
import org.realmjava.trainer.corpus.CorpusFormat;
import org.realmjava.trainer.corpus.CorpusReader;
import org.realmjava.trainer.model.DefaultModel;
import org.realmjava.trainer.model.ModelInit;
import org.realmjava.trainer.model.RealmModel;
import org.realmjava.trainer.retrieval.BlockInputs;
import org.realmjava.trainer.retrieval.DocumentEmbedder;
import org.realmjava.transformer.tokenizer.WordPieceTokenizer;

/**
 * Index refresh throughput: every block of a corpus embedded by the document tower the way a
 * refresh does it (DocumentEmbedder: blocks sorted by length in passes of at most 256 blocks and
 * 2,048 wordpieces, run unpadded; [CLS] title [SEP] body [SEP], mean pooling + L2 of
 * all-MiniLM-L6-v2, identity projection) against ONNX Runtime running the same model on the same
 * passes, each padded to its longest block (the pooling done in Java for it); blocks/s of each and
 * the ratio. The engines take turns every 4 passes, not pass by pass: this
 * shared machine's speed drifts by 10-20% over seconds, which whole-pass alternation put into the
 * ratio (0.80-0.95 across runs of one build). A first whole pass of each warms up and checks that
 * the per-pass calls give DocumentEmbedder's vectors bit for bit; ours and ORT's are compared.
 * ORT on other batchings than ours: RefreshBatchings.
 *
 * <p>Usage: {@code RefreshThroughput [corpus=wordnet|squad.json] [limit=2000] [blockLen=288] [passes=3] [batch=256]}
 */
public final class RefreshThroughput {
    private RefreshThroughput() {}

    /**
     * Passes per turn. Not 1: ONNX Runtime's pool threads spin on after a run, and with batches of
     * 32 short blocks batch-by-batch turns gave our next batch their spinning (ratio 0.82-0.88
     * against 0.91-1.01 by whole passes); 8 such batches were a turn of ~0.7 s, as are 4 passes of
     * up to 2,048 wordpieces.
     */
    static final int TURN_BATCHES = Integer.getInteger("turnBatches", 4);

    public static void main(String[] args) throws Exception {
        String corpus = args.length > 0 ? args[0] : "wordnet";
        int limit = args.length > 1 ? Integer.parseInt(args[1]) : 2000, blockLen = args.length > 2 ? Integer.parseInt(args[2]) : 288;
        int passes = args.length > 3 ? Integer.parseInt(args[3]) : 3, batch = args.length > 4 ? Integer.parseInt(args[4]) : 256;
        ModelInit.Result init = ModelInit.create(new InitConfig(null, null, null, null, null, null), 384, false, 0);
        RealmModel model = init.model();
        var tok = init.tokenizer();
        List<Block> blocks = blocks(tok, corpus, limit, blockLen);
        BlockInputs inputs = new BlockInputs(blocks, tok, blockLen);
        long tokens = 0;
        for (int i = 0; i < inputs.size(); i++) tokens += inputs.ids(i).length;
        OrtEnvironment env = OrtEnvironment.getEnvironment();
        OrtSession.SessionOptions opts = new OrtSession.SessionOptions();
        opts.setIntraOpNumThreads(2);
        opts.setInterOpNumThreads(1);
        try (OrtSession session = env.createSession(DefaultModel.file(DefaultModel.ONNX).toString(), opts)) {
            // warm-up, and the check that the per-batch calls timed below are what a refresh computes
            float[] refresh = DocumentEmbedder.embed(model.documentTower(), inputs, tok.sepId(), batch, null);
            float[] peer = ort(env, session, inputs, tok.sepId(), tok.padId(), batch);
            int n = inputs.size(), dim = model.documentTower().spec().projectionDim();
            int[][] batches = batches(inputs, batch);
            float[] a = new float[n * dim], b = new float[n * 384];
            double ours = 0, theirs = 0;
            for (int p = 0; p < passes; p++) {
                for (int g0 = 0; g0 < batches.length; g0 += TURN_BATCHES) {
                    int g1 = Math.min(batches.length, g0 + TURN_BATCHES);
                    for (int turn = 0; turn < 2; turn++) {
                        boolean realm = (turn + g0 / TURN_BATCHES + p) % 2 == 0;
                        long t0 = System.nanoTime();
                        for (int i = g0; i < g1; i++) {
                            if (realm) realmBatch(model, inputs, batches[i], tok.sepId(), a, dim);
                            else ortBatch(env, session, inputs, batches[i], tok.sepId(), tok.padId(), b);
                        }
                        double sec = (System.nanoTime() - t0) / 1e9;
                        if (realm) ours += sec;
                        else theirs += sec;
                    }
                }
            }
            if (!Arrays.equals(a, refresh)) throw new IllegalStateException("per-batch vectors differ from DocumentEmbedder.embed's");
            if (!Arrays.equals(b, peer)) throw new IllegalStateException("ONNX Runtime's per-batch vectors differ from its whole pass");
            double maxDiff = 0;
            for (int i = 0; i < a.length; i++) maxDiff = Math.max(maxDiff, Math.abs(a[i] - b[i]));
            double mo = ours / passes, mt = theirs / passes;
            System.out.printf("batch=%d blocks=%d tokens=%d realm_s=%.2f ort_s=%.2f realm_blocks_per_s=%.1f ort_blocks_per_s=%.1f ratio=%.3f max_abs_diff=%.2e%n",
                    batch, blocks.size(), tokens, mo, mt, blocks.size() / mo, blocks.size() / mt, mt / mo, maxDiff);
        }
    }

    /** Block indices per forward pass, as DocumentEmbedder cuts them (sorted by length; at most batch blocks and its token budget). */
    static int[][] batches(BlockInputs inputs, int batch) {
        return DocumentEmbedder.batches(inputs, batch, DocumentEmbedder.MAX_BATCH_TOKENS);
    }

    /** The blocks of a corpus ("wordnet": the built-in glosses; otherwise a file of a format CorpusFormat guesses). */
    static List<Block> blocks(WordPieceTokenizer tok, String corpus, int limit, int blockLen) {
        return new BlockSplitter(tok, blockLen).split(corpus.equals("wordnet") ? CorpusReader.read(null, CorpusFormat.WORDNET, limit)
                : CorpusReader.read(Path.of(corpus), CorpusFormat.guess(Path.of(corpus)), limit));
    }

    /** One batch through the document tower as DocumentEmbedder runs it (unpadded); rows into out at their block's place. */
    static void realmBatch(RealmModel model, BlockInputs inputs, int[] idx, int sep, float[] out, int dim) {
        try (var g = Autograd.noGrad()) {
            List<int[]> ids = new ArrayList<>(idx.length), types = new ArrayList<>(idx.length);
            for (int i : idx) {
                ids.add(inputs.ids(i));
                types.add(BlockInputs.typeIds(inputs.ids(i), sep));
            }
            float[] rows = model.documentTower().embedUnpadded(ids, types).toFloatArray();
            for (int i = 0; i < idx.length; i++) System.arraycopy(rows, i * dim, out, idx[i] * dim, dim);
        }
    }

    /** The same batches as DocumentEmbedder, through ONNX Runtime, mean-pooled and normalised. */
    static float[] ort(OrtEnvironment env, OrtSession session, BlockInputs inputs, int sep, int pad, int batch) throws Exception {
        float[] out = new float[inputs.size() * 384];
        for (int[] idx : batches(inputs, batch)) ortBatch(env, session, inputs, idx, sep, pad, out);
        return out;
    }

    private static double median(List<Double> v) {
        double[] x = v.stream().mapToDouble(Double::doubleValue).sorted().toArray();
        return x[x.length / 2];
    }

    /** One batch (block indices idx) through ONNX Runtime, mean-pooled and normalised, rows into out at their block's place. */
    static void ortBatch(OrtEnvironment env, OrtSession session, BlockInputs inputs, int[] idx, int sep, int pad, float[] out) throws Exception {
        int h = 384, m = idx.length, len = 0;
        for (int i : idx) len = Math.max(len, inputs.ids(i).length);
        long[][] ids = new long[m][len], mask = new long[m][len], types = new long[m][len];
        for (int i = 0; i < m; i++) {
            int[] s = inputs.ids(idx[i]);
            int[] t = BlockInputs.typeIds(s, sep);
            Arrays.fill(ids[i], pad);
            for (int j = 0; j < s.length; j++) {
                ids[i][j] = s[j];
                mask[i][j] = 1;
                types[i][j] = t[j];
            }
        }
        try (OnnxTensor a = OnnxTensor.createTensor(env, ids); OnnxTensor b = OnnxTensor.createTensor(env, mask);
             OnnxTensor c = OnnxTensor.createTensor(env, types);
             OrtSession.Result r = session.run(Map.of("input_ids", a, "attention_mask", b, "token_type_ids", c))) {
            float[][][] hs = (float[][][]) r.get(0).getValue();
            for (int i = 0; i < m; i++) {
                float[] v = new float[h];
                int count = 0;
                for (int j = 0; j < len; j++) {
                    if (mask[i][j] == 0) continue;
                    count++;
                    for (int d = 0; d < h; d++) v[d] += hs[i][j][d];
                }
                double norm = 0;
                for (int d = 0; d < h; d++) {
                    v[d] /= count;
                    norm += (double) v[d] * v[d];
                }
                float inv = (float) (1 / Math.sqrt(norm + 1e-12));
                for (int d = 0; d < h; d++) out[idx[i] * h + d] = v[d] * inv;
            }
        }
    }
}
