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

/**
 * Index refresh throughput: every block of a corpus embedded by the document tower the way a
 * refresh does it (DocumentEmbedder: batches of 32 sorted by length, [CLS] title [SEP] body [SEP],
 * mean pooling + L2 of all-MiniLM-L6-v2, identity projection) against ONNX Runtime running the
 * same model on the same padded batches of the same token ids (the pooling done in Java for it),
 * alternating whole passes; blocks/s of each and the ratio. A pass's vectors are compared too.
 *
 * <p>Usage: {@code RefreshThroughput [corpus=wordnet|squad.json] [limit=2000] [blockLen=288] [passes=3]}
 */
public final class RefreshThroughput {
    private RefreshThroughput() {}

    public static void main(String[] args) throws Exception {
        String corpus = args.length > 0 ? args[0] : "wordnet";
        int limit = args.length > 1 ? Integer.parseInt(args[1]) : 2000, blockLen = args.length > 2 ? Integer.parseInt(args[2]) : 288;
        int passes = args.length > 3 ? Integer.parseInt(args[3]) : 3;
        ModelInit.Result init = ModelInit.create(new InitConfig(null, null, null, null, null, null), 384, false, 0);
        RealmModel model = init.model();
        var tok = init.tokenizer();
        List<Block> blocks = new BlockSplitter(tok, blockLen).split(corpus.equals("wordnet") ? CorpusReader.read(null, CorpusFormat.WORDNET, limit)
                : CorpusReader.read(Path.of(corpus), CorpusFormat.guess(Path.of(corpus)), limit));
        BlockInputs inputs = new BlockInputs(blocks, tok, blockLen);
        long tokens = 0;
        for (int i = 0; i < inputs.size(); i++) tokens += inputs.ids(i).length;
        OrtEnvironment env = OrtEnvironment.getEnvironment();
        OrtSession.SessionOptions opts = new OrtSession.SessionOptions();
        opts.setIntraOpNumThreads(2);
        opts.setInterOpNumThreads(1);
        try (OrtSession session = env.createSession(DefaultModel.file(DefaultModel.ONNX).toString(), opts)) {
            List<Double> ours = new ArrayList<>(), theirs = new ArrayList<>();
            float[] a = null, b = null;
            for (int p = 0; p <= passes; p++) { // pass 0 warms both up and is not counted
                long t0 = System.nanoTime();
                a = DocumentEmbedder.embed(model.documentTower(), inputs, tok.padId(), tok.sepId(), 32, null);
                double s1 = (System.nanoTime() - t0) / 1e9;
                t0 = System.nanoTime();
                b = ort(env, session, inputs, tok.sepId(), tok.padId());
                double s2 = (System.nanoTime() - t0) / 1e9;
                if (p > 0) {
                    ours.add(s1);
                    theirs.add(s2);
                }
            }
            double maxDiff = 0;
            for (int i = 0; i < a.length; i++) maxDiff = Math.max(maxDiff, Math.abs(a[i] - b[i]));
            double mo = median(ours), mt = median(theirs);
            System.out.printf("blocks=%d tokens=%d realm_s=%.2f ort_s=%.2f realm_blocks_per_s=%.1f ort_blocks_per_s=%.1f ratio=%.3f max_abs_diff=%.2e%n",
                    blocks.size(), tokens, mo, mt, blocks.size() / mo, blocks.size() / mt, mt / mo, maxDiff);
        }
    }

    private static double median(List<Double> v) {
        double[] x = v.stream().mapToDouble(Double::doubleValue).sorted().toArray();
        return x[x.length / 2];
    }

    /** The same batches as DocumentEmbedder (sorted by length, 32 per batch), through ONNX Runtime, mean-pooled and normalised. */
    static float[] ort(OrtEnvironment env, OrtSession session, BlockInputs inputs, int sep, int pad) throws Exception {
        int n = inputs.size(), h = 384;
        Integer[] order = new Integer[n];
        for (int i = 0; i < n; i++) order[i] = i;
        Arrays.sort(order, Comparator.comparingInt(i -> inputs.ids(i).length));
        float[] out = new float[n * h];
        for (int start = 0; start < n; start += 32) {
            int m = Math.min(32, n - start), len = 0;
            for (int i = 0; i < m; i++) len = Math.max(len, inputs.ids(order[start + i]).length);
            long[][] ids = new long[m][len], mask = new long[m][len], types = new long[m][len];
            for (int i = 0; i < m; i++) {
                int[] s = inputs.ids(order[start + i]);
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
                    for (int d = 0; d < h; d++) out[order[start + i] * h + d] = v[d] * inv;
                }
            }
        }
        return out;
    }
}
