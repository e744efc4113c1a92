package org.realmjava.bench;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.realmjava.tensor.Autograd;
import org.realmjava.tensor.Ops;
import org.realmjava.tensor.Tensor;
import org.realmjava.tensor.kernels.UnaryOp;
import org.realmjava.trainer.config.InitConfig;
import org.realmjava.trainer.corpus.Block;
import org.realmjava.trainer.corpus.BlockSplitter;
import org.realmjava.trainer.corpus.CorpusFormat;
import org.realmjava.trainer.corpus.CorpusReader;
import org.realmjava.trainer.model.ModelInit;
import org.realmjava.trainer.retrieval.Batches;
import org.realmjava.trainer.retrieval.BlockInputs;
import org.realmjava.transformer.bert.BertEncoder;

/**
 * Where an index refresh's time goes, op by op: the document tower's inference forward
 * (BertEncoder's no-grad path: QKV GEMM, fused attention, output GEMM + residual + LayerNorm,
 * intermediate GEMM + bias + GELU, output GEMM + residual + LayerNorm) written out here with a
 * timer around each op, on the batches a refresh makes (32 blocks sorted by length). The
 * intermediate GEMM is also run once more without its activation, so that the bias + GELU pass
 * can be told apart from the GEMM. Milliseconds per pass (median over the passes) and the
 * GFLOP/s of each GEMM. Not a replacement for RefreshThroughput: the extra timers and the extra
 * GEMM make the total a little larger than a refresh.
 *
 * <p>Usage: {@code RefreshProfile [corpus=wordnet|squad.json] [limit=2000] [blockLen=288] [passes=3]}
 */
public final class RefreshProfile {
    private RefreshProfile() {}

    public static void main(String[] args) {
        String corpus = args.length > 0 ? args[0] : "wordnet";
        int limit = args.length > 1 ? Integer.parseInt(args[1]) : 2000, blockLen = args.length > 2 ? Integer.parseInt(args[2]) : 288;
        int passes = args.length > 3 ? Integer.parseInt(args[3]) : 3;
        ModelInit.Result init = ModelInit.create(new InitConfig(null, null, null, null, null, null), 384, false, 0);
        BertEncoder enc = init.model().documentTower().tower();
        var tok = init.tokenizer();
        List<Block> blocks = new BlockSplitter(tok, blockLen).split(corpus.equals("wordnet") ? CorpusReader.read(null, CorpusFormat.WORDNET, limit)
                : CorpusReader.read(Path.of(corpus), CorpusFormat.guess(Path.of(corpus)), limit));
        BlockInputs inputs = new BlockInputs(blocks, tok, blockLen);
        int n = inputs.size();
        Integer[] order = new Integer[n];
        for (int i = 0; i < n; i++) order[i] = i;
        Arrays.sort(order, Comparator.comparingInt(i -> inputs.ids(i).length));
        List<Batches> batches = new ArrayList<>();
        long rows = 0;
        for (int start = 0; start < n; start += 32) {
            int m = Math.min(32, n - start);
            List<int[]> ids = new ArrayList<>(), types = new ArrayList<>();
            for (int i = 0; i < m; i++) {
                int[] s = inputs.ids(order[start + i]);
                ids.add(s);
                types.add(BlockInputs.typeIds(s, tok.sepId()));
            }
            Batches b = Batches.pad(ids, types, tok.padId());
            batches.add(b);
            rows += (long) m * b.length();
        }
        int h = enc.config.hiddenSize(), inter = enc.config.intermediateSize(), layers = enc.layers.length;
        Map<String, List<Double>> perPass = new LinkedHashMap<>();
        try (var g = Autograd.noGrad()) {
            // each layer's query, key and value as one weight and bias, as the encoder's fused storage holds them
            Tensor[][] qkv = new Tensor[layers][];
            for (int i = 0; i < layers; i++) {
                BertEncoder.Layer l = enc.layers[i];
                qkv[i] = new Tensor[] {Ops.concat(List.of(l.query.weight, l.key.weight, l.value.weight), 0),
                        Ops.concat(List.of(l.query.bias, l.key.bias, l.value.bias), 0)};
            }
            for (int p = 0; p <= passes; p++) {
                Map<String, Long> t = new LinkedHashMap<>();
                for (Batches b : batches) pass(enc, qkv, b, t);
                if (p == 0) continue; // warm-up
                t.forEach((k, v) -> perPass.computeIfAbsent(k, x -> new ArrayList<>()).add(v / 1e6));
            }
        }
        System.out.printf("%d blocks, %d batches, %d padded rows (%.1f per block)%n", n, batches.size(), rows, rows / (double) n);
        double total = 0;
        Map<String, Double> flops = Map.of("qkv", 2.0 * rows * h * 3 * h * layers, "attn_out+ln", 2.0 * rows * h * h * layers,
                "inter+gelu", 2.0 * rows * h * inter * layers, "inter gemm only", 2.0 * rows * h * inter * layers, "out+ln", 2.0 * rows * inter * h * layers);
        for (var e : perPass.entrySet()) {
            double ms = median(e.getValue());
            if (!e.getKey().equals("inter gemm only")) total += ms;
            Double f = flops.get(e.getKey());
            System.out.printf("  %-16s %8.1f ms%s%n", e.getKey(), ms, f == null ? "" : String.format("  (%.0f GFLOP/s)", f / ms / 1e6));
        }
        System.out.printf("  %-16s %8.1f ms (without 'inter gemm only')%n", "total", total);
    }

    private static void pass(BertEncoder e, Tensor[][] qkvParams, Batches batch, Map<String, Long> t) {
        var c = e.config;
        long t0 = System.nanoTime();
        long len = batch.ids().size(1), b = batch.ids().size(0);
        int[] positions = new int[(int) len];
        for (int i = 0; i < len; i++) positions[i] = i;
        Tensor x = Ops.embedding(e.wordEmbeddings, batch.ids()).add(Ops.embedding(e.positionEmbeddings, Tensor.ofInts(positions, len)))
                .add(Ops.embedding(e.tokenTypeEmbeddings, batch.types()));
        x = Ops.layerNorm(x, e.embLnWeight, e.embLnBias, c.layerNormEps());
        Tensor maskBias = Tensor.ones(b, len).sub(batch.mask()).scale(-1e9f);
        t0 = lap(t, "embeddings", t0);
        int nh = c.heads(), hd = c.headDim();
        long hh = (long) nh * hd;
        float scale = (float) (1.0 / Math.sqrt(hd)), eps = c.layerNormEps();
        for (int i = 0; i < e.layers.length; i++) {
            BertEncoder.Layer l = e.layers[i];
            t0 = System.nanoTime();
            Tensor qkv = Ops.linear(x, qkvParams[i][0], qkvParams[i][1]);
            t0 = lap(t, "qkv", t0);
            Tensor ctx = Ops.attention(qkv.narrow(2, 0, hh), qkv.narrow(2, hh, hh), qkv.narrow(2, 2 * hh, hh), maskBias, nh, scale);
            t0 = lap(t, "attention", t0);
            Tensor attn = Ops.linearResidualLayerNorm(ctx, l.attentionOut.weight, l.attentionOut.bias, x, l.attentionLnWeight, l.attentionLnBias, eps);
            t0 = lap(t, "attn_out+ln", t0);
            Tensor mid = Ops.linear(attn, l.intermediate.weight, l.intermediate.bias, UnaryOp.GELU_ERF);
            t0 = lap(t, "inter+gelu", t0);
            Ops.linear(attn, l.intermediate.weight, l.intermediate.bias).release();
            t0 = lap(t, "inter gemm only", t0);
            Tensor out = Ops.linearResidualLayerNorm(mid, l.output.weight, l.output.bias, attn, l.outputLnWeight, l.outputLnBias, eps);
            lap(t, "out+ln", t0);
            qkv.release();
            ctx.release();
            mid.release();
            x = out;
        }
        t0 = System.nanoTime();
        Tensor pooled = BertEncoder.poolMean(x, batch.mask());
        pooled.div(pooled.mul(pooled).sum(1, true).add(1e-12f).sqrt()).toFloatArray();
        lap(t, "pool+norm", t0);
    }

    private static long lap(Map<String, Long> t, String what, long since) {
        long now = System.nanoTime();
        t.merge(what, now - since, Long::sum);
        return now;
    }

    private static double median(List<Double> v) {
        double[] x = v.stream().mapToDouble(Double::doubleValue).sorted().toArray();
        return x[x.length / 2];
    }
}
