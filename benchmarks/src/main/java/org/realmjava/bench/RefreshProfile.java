package org.realmjava.bench;

import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtSession;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.realmjava.tensor.Autograd;
import org.realmjava.tensor.Ops;
import org.realmjava.tensor.Tensor;
import org.realmjava.tensor.kernels.UnaryOp;
import org.realmjava.trainer.config.InitConfig;
import org.realmjava.trainer.model.DefaultModel;
import org.realmjava.trainer.model.ModelInit;
import org.realmjava.trainer.retrieval.BlockInputs;
import org.realmjava.transformer.bert.BertEncoder;

/**
 * Where an index refresh's time goes, op by op: the document tower's inference forward
 * (BertEncoder's no-grad path: QKV GEMM, fused attention, output GEMM + residual + LayerNorm,
 * the FFN's two GEMMs + GELU as one kernel + residual + LayerNorm) written out here with a
 * timer around each op, on the unpadded passes a refresh makes (blocks sorted by length, at most
 * 256 blocks and 2,048 wordpieces a pass). The FFN's first GEMM + bias + GELU is also run once
 * more on its own, row-major as the composed path would write it ('inter+gelu only', left out of
 * the total), so that the FFN's halves can be told apart. Milliseconds per pass (median over the passes) and the
 * GFLOP/s of each GEMM. Then ONNX Runtime runs the same blocks with its profiler on, padded per pass, and its
 * node times are summed into the same groups (by node name: query/key/value MatMul + Add; the
 * attention's transposes, products and softmax; output dense + Add + LayerNorm; intermediate
 * MatMul + BiasGelu; ...), so each op can be set beside the peer's. Not a replacement for
 * RefreshThroughput: the timers, the extra GEMM and ORT's profiler add to the totals.
 *
 * <p>Usage: {@code RefreshProfile [corpus=wordnet|squad.json] [limit=2000] [blockLen=288] [passes=3]}
 */
public final class RefreshProfile {
    private RefreshProfile() {}

    /** Blocks per pass at most, as a refresh runs them (refresh_batch's default). */
    static final int BATCH = 256;

    public static void main(String[] args) throws Exception {
        String corpus = args.length > 0 ? args[0] : "wordnet";
        int limit = args.length > 1 ? Integer.parseInt(args[1]) : 2000, blockLen = args.length > 2 ? Integer.parseInt(args[2]) : 288;
        int passes = args.length > 3 ? Integer.parseInt(args[3]) : 3;
        ModelInit.Result init = ModelInit.create(new InitConfig(null, null, null, null, null, null), 384, false, 0);
        BertEncoder enc = init.model().documentTower().tower();
        var tok = init.tokenizer();
        BlockInputs inputs = new BlockInputs(RefreshThroughput.blocks(tok, corpus, limit, blockLen), tok, blockLen);
        int n = inputs.size();
        List<List<int[]>> batches = new ArrayList<>();
        long rows = 0;
        long paddedRows = 0; // what ORT computes: each pass padded to its longest block
        for (int[] idx : RefreshThroughput.batches(inputs, BATCH)) {
            List<int[]> ids = new ArrayList<>();
            int longest = 0;
            for (int i : idx) {
                ids.add(inputs.ids(i));
                rows += inputs.ids(i).length;
                longest = Math.max(longest, inputs.ids(i).length);
            }
            paddedRows += (long) longest * idx.length;
            batches.add(ids);
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
                for (List<int[]> b : batches) pass(enc, qkv, b, tok.sepId(), t);
                if (p == 0) continue; // warm-up
                t.forEach((k, v) -> perPass.computeIfAbsent(k, x -> new ArrayList<>()).add(v / 1e6));
            }
        }
        System.out.printf("%d blocks, %d passes, %d rows (%.1f per block, unpadded)%n", n, batches.size(), rows, rows / (double) n);
        double total = 0;
        Map<String, Double> flops = gemmFlops(rows, h, inter, layers), ortFlops = gemmFlops(paddedRows, h, inter, layers);
        for (var e : perPass.entrySet()) {
            double ms = median(e.getValue());
            if (!e.getKey().endsWith(" only")) total += ms;
            Double f = flops.get(e.getKey());
            System.out.printf("  %-16s %8.1f ms%s%n", e.getKey(), ms, f == null ? "" : String.format("  (%.0f GFLOP/s)", f / ms / 1e6));
        }
        System.out.printf("  %-16s %8.1f ms (without 'inter+gelu only')%n", "total", total);
        Map<String, Double> ort = ortProfile(inputs, tok.sepId(), tok.padId());
        System.out.printf("ONNX Runtime, the same blocks in the same passes, padded (%d rows; node times of one profiled pass after a warm-up pass):%n", paddedRows);
        double ortTotal = 0;
        for (double v : ort.values()) ortTotal += v;
        // ORT's FFN nodes set beside ours: the first half alone, and both halves as our fused op
        Map<String, Double> asOurs = new LinkedHashMap<>();
        for (String g : List.of("embeddings", "qkv", "attention", "attn_out+ln")) asOurs.put(g, ort.get(g));
        asOurs.put("inter+gelu only", ort.get("inter+gelu"));
        asOurs.put("ffn", ort.get("inter+gelu") + ort.get("out+ln"));
        asOurs.put("other", ort.get("other"));
        for (var e : asOurs.entrySet()) {
            Double f = ortFlops.get(e.getKey());
            System.out.printf("  %-16s %8.1f ms%s%n", e.getKey(), e.getValue(), f == null ? "" : String.format("  (%.0f GFLOP/s)", f / e.getValue() / 1e6));
        }
        System.out.printf("  %-16s %8.1f ms%n", "total", ortTotal);
    }

    /** Floating-point operations of each GEMM group over a pass of this many token rows. */
    private static Map<String, Double> gemmFlops(long rows, int h, int inter, int layers) {
        return Map.of("qkv", 2.0 * rows * h * 3 * h * layers, "attn_out+ln", 2.0 * rows * h * h * layers,
                "inter+gelu only", 2.0 * rows * h * inter * layers, "ffn", 4.0 * rows * inter * h * layers);
    }

    /** ORT's node times (ms) for one pass over the refresh's batches, summed into this profile's groups. */
    private static Map<String, Double> ortProfile(BlockInputs inputs, int sep, int pad) throws Exception {
        OrtEnvironment env = OrtEnvironment.getEnvironment();
        OrtSession.SessionOptions opts = new OrtSession.SessionOptions();
        opts.setIntraOpNumThreads(2);
        opts.setInterOpNumThreads(1);
        Path dir = Files.createTempDirectory("ort-profile");
        opts.enableProfiling(dir.resolve("refresh").toString());
        String file;
        try (OrtSession session = env.createSession(DefaultModel.file(DefaultModel.ONNX).toString(), opts)) {
            RefreshThroughput.ort(env, session, inputs, sep, pad, BATCH); // warm-up, profiled too: skipped below
            int warmRuns = RefreshThroughput.batches(inputs, BATCH).length;
            RefreshThroughput.ort(env, session, inputs, sep, pad, BATCH);
            file = session.endProfiling();
            JsonNode events = new ObjectMapper().readTree(Path.of(file).toFile());
            List<Long> runStarts = new ArrayList<>();
            for (JsonNode e : events) if ("Session".equals(e.path("cat").asText()) && "model_run".equals(e.path("name").asText())) runStarts.add(e.path("ts").asLong());
            runStarts.sort(null);
            long firstTimedUs = runStarts.get(warmRuns);
            Map<String, Double> out = new LinkedHashMap<>();
            for (String g : List.of("embeddings", "qkv", "attention", "attn_out+ln", "inter+gelu", "out+ln", "other")) out.put(g, 0.0);
            for (JsonNode e : events) {
                String name = e.path("name").asText();
                if (!"Node".equals(e.path("cat").asText()) || !name.endsWith("_kernel_time") || e.path("ts").asLong() < firstTimedUs) continue;
                out.merge(ortGroup(name), e.path("dur").asLong() / 1e3, Double::sum);
            }
            return out;
        } finally {
            try (var files = Files.list(dir)) {
                for (Path f : files.toList()) Files.deleteIfExists(f);
            }
            Files.deleteIfExists(dir);
        }
    }

    private static String ortGroup(String node) {
        if (node.contains("/attention/self/query/") || node.contains("/attention/self/key/") || node.contains("/attention/self/value/")) return "qkv";
        if (node.contains("/attention/self/")) return "attention";
        if (node.contains("/attention/output/")) return "attn_out+ln";
        if (node.contains("/intermediate/") || node.startsWith("BiasGelu")) return "inter+gelu";
        if (node.contains("/output/")) return "out+ln";
        if (node.startsWith("/embeddings/")) return "embeddings";
        return "other";
    }

    private static void pass(BertEncoder e, Tensor[][] qkvParams, List<int[]> ids, int sep, Map<String, Long> t) {
        var c = e.config;
        long t0 = System.nanoTime();
        int n = ids.size(), total = 0;
        int[] starts = new int[n], lens = new int[n];
        for (int s = 0; s < n; s++) {
            starts[s] = total;
            lens[s] = ids.get(s).length;
            total += lens[s];
        }
        int[] flat = new int[total], types = new int[total], positions = new int[total];
        for (int s = 0; s < n; s++) {
            System.arraycopy(ids.get(s), 0, flat, starts[s], lens[s]);
            System.arraycopy(BlockInputs.typeIds(ids.get(s), sep), 0, types, starts[s], lens[s]);
            for (int i = 0; i < lens[s]; i++) positions[starts[s] + i] = i;
        }
        Tensor x = Ops.embedding(e.wordEmbeddings, Tensor.ofInts(flat, 1, total)).add(Ops.embedding(e.positionEmbeddings, Tensor.ofInts(positions, 1, total)))
                .add(Ops.embedding(e.tokenTypeEmbeddings, Tensor.ofInts(types, 1, total)));
        x = Ops.layerNorm(x, e.embLnWeight, e.embLnBias, c.layerNormEps());
        t0 = lap(t, "embeddings", t0);
        int nh = c.heads(), hd = c.headDim();
        long hh = (long) nh * hd;
        float scale = (float) (1.0 / Math.sqrt(hd)), eps = c.layerNormEps();
        for (int i = 0; i < e.layers.length; i++) {
            BertEncoder.Layer l = e.layers[i];
            t0 = System.nanoTime();
            Tensor qkv = Ops.linear(x, qkvParams[i][0], qkvParams[i][1]);
            t0 = lap(t, "qkv", t0);
            Tensor ctx = Ops.attentionVarlen(qkv.narrow(2, 0, hh), qkv.narrow(2, hh, hh), qkv.narrow(2, 2 * hh, hh), starts, lens, nh, scale);
            t0 = lap(t, "attention", t0);
            Tensor attn = Ops.linearResidualLayerNorm(ctx, l.attentionOut.weight, l.attentionOut.bias, x, l.attentionLnWeight, l.attentionLnBias, eps);
            t0 = lap(t, "attn_out+ln", t0);
            // the FFN's first product alone (row-major, as the composed path writes it), then the fused FFN the encoder runs
            Ops.linear(attn, l.intermediate.weight, l.intermediate.bias, UnaryOp.GELU_ERF).release();
            t0 = lap(t, "inter+gelu only", t0);
            Tensor out = Ops.feedForwardResidualLayerNorm(attn, l.intermediate.weight, l.intermediate.bias, UnaryOp.GELU_ERF, l.output.weight,
                    l.output.bias, l.outputLnWeight, l.outputLnBias, eps);
            lap(t, "ffn", t0);
            qkv.release();
            ctx.release();
            attn.release();
            x.release();
            x = out;
        }
        t0 = System.nanoTime();
        Tensor pooled = Ops.segmentMean(x, starts, lens);
        pooled.div(pooled.mul(pooled).sum(1, true).add(1e-12f).sqrt()).toFloatArray();
        x.release();
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
