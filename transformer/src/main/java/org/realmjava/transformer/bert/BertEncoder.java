package org.realmjava.transformer.bert;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.SplittableRandom;
import org.realmjava.tensor.Autograd;
import org.realmjava.tensor.Ops;
import org.realmjava.tensor.Tensor;
import org.realmjava.tensor.kernels.UnaryOp;
import org.realmjava.tensor.nn.Linear;
import org.realmjava.tensor.nn.Module;

/**
 * A BERT encoder (post-LN): embeddings (word + position + token type, LayerNorm), then per layer
 * multi-head self-attention with a padding mask, residual + LayerNorm, a GELU feed-forward,
 * residual + LayerNorm. Parameter names follow Hugging Face ({@code embeddings.word_embeddings.weight},
 * {@code encoder.layer.N.attention.self.query.weight}, ...), so safetensors checkpoints load as they are.
 */
public final class BertEncoder implements Module {
    /** Added to attention scores of padding keys: exp underflows to exactly 0 in f32. */
    static final float MASKED = -1e9f;

    public final BertConfig config;
    public final Tensor wordEmbeddings, positionEmbeddings, tokenTypeEmbeddings, embLnWeight, embLnBias;
    public final Layer[] layers;

    /** One transformer layer's parameters. */
    public static final class Layer implements Module {
        public final Linear query, key, value, attentionOut, intermediate, output;
        public final Tensor attentionLnWeight, attentionLnBias, outputLnWeight, outputLnBias;
        /**
         * The query, key and value weights [3 * hidden, hidden] and biases [3 * hidden] in one storage;
         * query/key/value hold row views of it, so training updates (in place, through the views)
         * keep it current. Inference runs one GEMM with N = 3 * hidden instead of three: measured
         * 1.37 -> 1.02 ms per MiniLM layer at one sequence of 128 tokens (docs/benchmarks.md).
         */
        final Tensor qkvWeight, qkvBias;

        Layer(Linear q, Linear k, Linear v, Linear ao, Tensor alw, Tensor alb, Linear inter, Linear out, Tensor olw, Tensor olb) {
            Tensor[] w = fuseRows(q.weight, k.weight, v.weight), b = fuseRows(q.bias, k.bias, v.bias);
            qkvWeight = w[0];
            qkvBias = b[0];
            query = new Linear(w[1], b[1]);
            key = new Linear(w[2], b[2]);
            value = new Linear(w[3], b[3]);
            attentionOut = ao;
            attentionLnWeight = alw;
            attentionLnBias = alb;
            intermediate = inter;
            output = out;
            outputLnWeight = olw;
            outputLnBias = olb;
        }

        @Override
        public void collectParameters(String p, Map<String, Tensor> out) {
            query.collectParameters(p + "attention.self.query.", out);
            key.collectParameters(p + "attention.self.key.", out);
            value.collectParameters(p + "attention.self.value.", out);
            attentionOut.collectParameters(p + "attention.output.dense.", out);
            out.put(p + "attention.output.LayerNorm.weight", attentionLnWeight);
            out.put(p + "attention.output.LayerNorm.bias", attentionLnBias);
            intermediate.collectParameters(p + "intermediate.dense.", out);
            output.collectParameters(p + "output.dense.", out);
            out.put(p + "output.LayerNorm.weight", outputLnWeight);
            out.put(p + "output.LayerNorm.bias", outputLnBias);
        }
    }

    /**
     * One tensor holding parts stacked along axis 0 (same dtype and trailing shape), and views of it
     * standing for each part: {fused, view0, view1, ...}. A view requires grad when its part did.
     */
    private static Tensor[] fuseRows(Tensor... parts) {
        long rows = 0;
        for (Tensor t : parts) rows += t.size(0);
        long[] shape = parts[0].shape();
        shape[0] = rows;
        Tensor fused = Tensor.zeros(parts[0].dtype(), shape);
        Tensor[] out = new Tensor[parts.length + 1];
        out[0] = fused;
        try (var g = Autograd.noGrad()) {
            long at = 0;
            for (int i = 0; i < parts.length; i++) {
                Tensor view = fused.narrow(0, at, parts[i].size(0));
                view.copyFrom(parts[i].detach());
                if (parts[i].requiresGrad()) view.requiresGrad(true);
                out[i + 1] = view;
                at += parts[i].size(0);
            }
        }
        return out;
    }

    /**
     * Builds an encoder from named parameters (Hugging Face names); every expected name must be present
     * with its shape. The query, key and value tensors are copied into each layer's fused storage, so
     * later changes go through the encoder's own parameters ({@link #namedParameters()}), not the map's.
     */
    public static BertEncoder fromParameters(BertConfig c, Map<String, Tensor> p) {
        Layer[] layers = new Layer[c.layers()];
        int h = c.hiddenSize(), inter = c.intermediateSize();
        for (int i = 0; i < layers.length; i++) {
            String n = "encoder.layer." + i + ".";
            layers[i] = new Layer(linear(p, n + "attention.self.query.", h, h), linear(p, n + "attention.self.key.", h, h),
                    linear(p, n + "attention.self.value.", h, h), linear(p, n + "attention.output.dense.", h, h),
                    take(p, n + "attention.output.LayerNorm.weight", h), take(p, n + "attention.output.LayerNorm.bias", h),
                    linear(p, n + "intermediate.dense.", inter, h), linear(p, n + "output.dense.", h, inter),
                    take(p, n + "output.LayerNorm.weight", h), take(p, n + "output.LayerNorm.bias", h));
        }
        return new BertEncoder(c, take(p, "embeddings.word_embeddings.weight", c.vocabSize(), h),
                take(p, "embeddings.position_embeddings.weight", c.maxPositions(), h),
                take(p, "embeddings.token_type_embeddings.weight", c.typeVocabSize(), h),
                take(p, "embeddings.LayerNorm.weight", h), take(p, "embeddings.LayerNorm.bias", h), layers);
    }

    private static final java.util.regex.Pattern ENCODER_PATH = java.util.regex.Pattern.compile("(?:^|\\.)((?:embeddings|encoder)\\.)");

    /**
     * The Hugging Face BertModel parameter name a checkpoint or export stores under {@code name}:
     * the module path above the encoder ("bert.", "roberta.", "0.auto_model.", ...) is dropped and
     * the TF-era LayerNorm names {@code gamma}/{@code beta} become {@code weight}/{@code bias}.
     * Null for names outside the embeddings and the encoder (poolers, task heads).
     */
    public static String parameterName(String name) {
        java.util.regex.Matcher m = ENCODER_PATH.matcher(name);
        if (!m.find()) return null;
        String n = name.substring(m.start(1));
        if (n.contains("LayerNorm.")) n = n.replaceAll("\\.gamma$", ".weight").replaceAll("\\.beta$", ".bias");
        return n;
    }

    private static Linear linear(Map<String, Tensor> p, String prefix, int out, int in) {
        return new Linear(take(p, prefix + "weight", out, in), take(p, prefix + "bias", out));
    }

    private static Tensor take(Map<String, Tensor> p, String name, long... shape) {
        Tensor t = p.get(name);
        if (t == null) throw new IllegalArgumentException("BERT weights: missing " + name);
        if (!java.util.Arrays.equals(t.shape(), shape)) {
            throw new IllegalArgumentException("BERT weights: " + name + " has shape " + java.util.Arrays.toString(t.shape())
                    + ", the config needs " + java.util.Arrays.toString(shape));
        }
        return t;
    }

    private BertEncoder(BertConfig c, Tensor word, Tensor pos, Tensor type, Tensor lnW, Tensor lnB, Layer[] layers) {
        this.config = c;
        this.wordEmbeddings = word;
        this.positionEmbeddings = pos;
        this.tokenTypeEmbeddings = type;
        this.embLnWeight = lnW;
        this.embLnBias = lnB;
        this.layers = layers;
    }

    /** Random initialisation as BERT does it (N(0, 0.02) weights, zero biases, LayerNorm 1/0), all trainable. */
    public static BertEncoder random(BertConfig c, long seed) {
        Random rng = new Random(seed);
        Map<String, Tensor> p = new LinkedHashMap<>();
        int h = c.hiddenSize();
        p.put("embeddings.word_embeddings.weight", Tensor.randn(rng, 0.02f, c.vocabSize(), h));
        p.put("embeddings.position_embeddings.weight", Tensor.randn(rng, 0.02f, c.maxPositions(), h));
        p.put("embeddings.token_type_embeddings.weight", Tensor.randn(rng, 0.02f, c.typeVocabSize(), h));
        p.put("embeddings.LayerNorm.weight", Tensor.ones(h));
        p.put("embeddings.LayerNorm.bias", Tensor.zeros(h));
        for (int i = 0; i < c.layers(); i++) {
            String n = "encoder.layer." + i + ".";
            for (String s : new String[] {"attention.self.query.", "attention.self.key.", "attention.self.value.", "attention.output.dense."}) {
                p.put(n + s + "weight", Tensor.randn(rng, 0.02f, h, h));
                p.put(n + s + "bias", Tensor.zeros(h));
            }
            p.put(n + "intermediate.dense.weight", Tensor.randn(rng, 0.02f, c.intermediateSize(), h));
            p.put(n + "intermediate.dense.bias", Tensor.zeros(c.intermediateSize()));
            p.put(n + "output.dense.weight", Tensor.randn(rng, 0.02f, h, c.intermediateSize()));
            p.put(n + "output.dense.bias", Tensor.zeros(h));
            for (String s : new String[] {"attention.output.LayerNorm.", "output.LayerNorm."}) {
                p.put(n + s + "weight", Tensor.ones(h));
                p.put(n + s + "bias", Tensor.zeros(h));
            }
        }
        p.values().forEach(t -> t.requiresGrad(true));
        return fromParameters(c, p);
    }

    /**
     * The same encoder with its matrices (embedding tables and every Linear weight, 98% of the
     * parameters) stored in bf16 — half the memory — for inference. Biases and LayerNorm stay f32;
     * activations and accumulation stay f32 (GEMM widens the weights while packing them). The
     * result holds no gradients: bf16 is a storage type here, not a training one.
     */
    public BertEncoder withBf16Weights() {
        Map<String, Tensor> p = new LinkedHashMap<>();
        collectParameters("", p);
        Map<String, Tensor> q = new LinkedHashMap<>();
        p.forEach((name, t) -> {
            Tensor d = t.detach();
            q.put(name, d.rank() == 2 ? d.to(org.realmjava.tensor.DType.BF16) : d);
        });
        return fromParameters(config, q);
    }

    @Override
    public void collectParameters(String p, Map<String, Tensor> out) {
        out.put(p + "embeddings.word_embeddings.weight", wordEmbeddings);
        out.put(p + "embeddings.position_embeddings.weight", positionEmbeddings);
        out.put(p + "embeddings.token_type_embeddings.weight", tokenTypeEmbeddings);
        out.put(p + "embeddings.LayerNorm.weight", embLnWeight);
        out.put(p + "embeddings.LayerNorm.bias", embLnBias);
        for (int i = 0; i < layers.length; i++) layers[i].collectParameters(p + "encoder.layer." + i + ".", out);
    }

    /**
     * Hidden states [batch, len, hidden] for ids and typeIds ([batch, len], i32) and mask
     * ([batch, len], f32: 1 real token, 0 padding). dropoutRng null means inference (no dropout).
     */
    public Tensor forward(Tensor ids, Tensor typeIds, Tensor mask, SplittableRandom dropoutRng) {
        return forward(ids, typeIds, mask, dropoutRng, LayerMemory.KEEP);
    }

    /**
     * What a training forward keeps of each layer for the backward. KEEP: every activation (the
     * fastest backward). RECOMPUTE: only the layer's input; the backward runs the layer again with
     * its graph (Autograd.recompute), about one more forward of time for the memory of all but
     * one layer's activations. Each layer's dropout then draws from its own seed, taken from the
     * step's generator before the layer runs, so that both runs drop the same units; SEEDED draws
     * those seeds and keeps everything (the same values as RECOMPUTE: what its test compares to).
     */
    public enum LayerMemory { KEEP, SEEDED, RECOMPUTE }

    /** {@link #forward(Tensor, Tensor, Tensor, SplittableRandom)} keeping each layer's activations as {@code memory} says (inference: ignored). */
    public Tensor forward(Tensor ids, Tensor typeIds, Tensor mask, SplittableRandom dropoutRng, LayerMemory memory) {
        long b = ids.size(0), len = ids.size(1);
        if (len > config.maxPositions()) {
            throw new IllegalArgumentException("BERT: sequence length " + len + " exceeds max_position_embeddings " + config.maxPositions());
        }
        boolean training = dropoutRng != null;
        float p = config.dropout();
        int[] positions = new int[(int) len];
        for (int i = 0; i < len; i++) positions[i] = i;
        Tensor x = Ops.dropout(embeddings(ids, Tensor.ofInts(positions, len), typeIds), p, dropoutRng, training);
        // [b, len]: 0 for real keys, MASKED for padding keys
        Tensor maskBias = Tensor.ones(b, len).sub(mask).scale(MASKED);
        for (Layer layer : layers) {
            if (training && memory != LayerMemory.KEEP) {
                long seed = dropoutRng.nextLong();
                if (memory == LayerMemory.SEEDED) {
                    x = layer(layer, x, maskBias, new SplittableRandom(seed));
                } else {
                    Map<String, Tensor> params = new LinkedHashMap<>();
                    layer.collectParameters("", params);
                    x = Autograd.recompute("bert_layer", x, in -> layer(layer, in, maskBias, new SplittableRandom(seed)), List.copyOf(params.values()));
                }
                continue;
            }
            boolean graphFree = !training && !layerRecordsGrad(layer, x);
            Tensor next = layer(layer, x, maskBias, dropoutRng);
            // inference: the layer input is dead once the layer has run (it is an activation made
            // above, never the caller's tensor); giving its memory back now spares a collection
            if (graphFree) x.release();
            x = next;
        }
        return x;
    }

    /** Word + position + token-type embeddings, then the embedding LayerNorm (forward and forwardUnpadded: the same adds in the same order). */
    private Tensor embeddings(Tensor ids, Tensor positions, Tensor typeIds) {
        Tensor x = Ops.embedding(wordEmbeddings, ids).add(Ops.embedding(positionEmbeddings, positions)).add(Ops.embedding(tokenTypeEmbeddings, typeIds));
        return Ops.layerNorm(x, embLnWeight, embLnBias, config.layerNormEps());
    }

    /** Hidden states of sequences packed one after another without padding: rows starts[s] .. starts[s] + lens[s] - 1 of hidden [1, T, hidden] are sequence s. */
    public record Unpadded(Tensor hidden, int[] starts, int[] lens) {
        /** Each sequence's first ([CLS]) row: [sequences, hidden], as {@link #poolCls} of the padded batch. */
        public Tensor poolCls() {
            return Ops.embedding(hidden.reshape(hidden.size(1), hidden.size(2)), Tensor.ofInts(starts, starts.length));
        }

        /** Each sequence's mean row: [sequences, hidden], as {@link #poolMean} of the padded batch. */
        public Tensor poolMean() {
            return Ops.segmentMean(hidden, starts, lens);
        }
    }

    /**
     * Inference over texts of different lengths without padding them to a batch: the token rows of
     * all sequences go through every row-wise op (embeddings, GEMMs, layer norms) as one [1, T, hidden]
     * activation, and the attention keeps each sequence to its own keys (Ops.attentionVarlen). Each
     * real row gets the bits {@link #forward} gives it in a padded batch when the products take the
     * same GEMM path (within the packed-weight path's row limit; a larger product may take another
     * kernel with another summation order). Run it under Autograd.noGrad() when the weights are trainable.
     */
    public Unpadded forwardUnpadded(java.util.List<int[]> ids, java.util.List<int[]> typeIds) {
        int n = ids.size();
        if (typeIds.size() != n) throw new IllegalArgumentException("BERT: " + n + " id sequences but " + typeIds.size() + " type sequences");
        if (Autograd.enabled() && namedParameters().values().stream().anyMatch(Tensor::requiresGrad)) {
            throw new IllegalArgumentException("BERT: forwardUnpadded is for inference; run it under Autograd.noGrad()");
        }
        int[] starts = new int[n], lens = new int[n];
        if (n == 0) return new Unpadded(Tensor.zeros(1, 0, config.hiddenSize()), starts, lens);
        int total = 0;
        for (int s = 0; s < n; s++) {
            int len = ids.get(s).length;
            if (len == 0) throw new IllegalArgumentException("BERT: sequence " + s + " is empty");
            if (len > config.maxPositions()) {
                throw new IllegalArgumentException("BERT: sequence length " + len + " exceeds max_position_embeddings " + config.maxPositions());
            }
            if (typeIds.get(s).length != len) throw new IllegalArgumentException("BERT: sequence " + s + " has " + len + " ids but " + typeIds.get(s).length + " type ids");
            starts[s] = total;
            lens[s] = len;
            total += len;
        }
        int[] flatIds = new int[total], flatTypes = new int[total], positions = new int[total];
        for (int s = 0; s < n; s++) {
            System.arraycopy(ids.get(s), 0, flatIds, starts[s], lens[s]);
            System.arraycopy(typeIds.get(s), 0, flatTypes, starts[s], lens[s]);
            for (int i = 0; i < lens[s]; i++) positions[starts[s] + i] = i;
        }
        Tensor x = embeddings(Tensor.ofInts(flatIds, 1, total), Tensor.ofInts(positions, 1, total), Tensor.ofInts(flatTypes, 1, total));
        for (Layer layer : layers) {
            Tensor next = layer(layer, x, null, null, starts, lens);
            x.release();
            x = next;
        }
        return new Unpadded(x, starts, lens);
    }

    private Tensor layer(Layer l, Tensor x, Tensor maskBias, SplittableRandom rng) {
        return layer(l, x, maskBias, rng, null, null);
    }

    /** One encoder layer; starts/lens not null: x holds unpadded sequences (inference only) and maskBias is unused. */
    private Tensor layer(Layer l, Tensor x, Tensor maskBias, SplittableRandom rng, int[] starts, int[] lens) {
        long b = x.size(0), len = x.size(1);
        int nh = config.heads(), hd = config.headDim();
        boolean training = rng != null;
        float p = config.dropout();
        float scale = (float) (1.0 / Math.sqrt(hd));
        Tensor ctx;
        boolean graphFree = !training && !layerRecordsGrad(l, x);
        if (training || recordsGrad(x, l.query.weight, l.key.weight, l.value.weight, l.query.bias, l.key.bias, l.value.bias)) {
            // one GEMM for the three projections (the parameters are row blocks of qkvWeight, used in
            // place; each gets its own gradient); the fused attention kernels keep the probabilities
            // for their backward, apply the attention dropout themselves and return one dqkv
            Tensor qkv = Ops.linearConcat(x, new Tensor[] {l.query.weight, l.key.weight, l.value.weight},
                    new Tensor[] {l.query.bias, l.key.bias, l.value.bias});
            ctx = Ops.packedAttention(qkv, maskBias, nh, scale, training ? p : 0f, rng);
        } else {
            // inference: one QKV GEMM, then the fused attention kernel reads its column slices in place
            long h = (long) nh * hd;
            Tensor qkv = Ops.linear(x, l.qkvWeight, l.qkvBias);
            ctx = starts != null
                    ? Ops.attentionVarlen(qkv.narrow(2, 0, h), qkv.narrow(2, h, h), qkv.narrow(2, 2 * h, h), starts, lens, nh, scale)
                    : Ops.attention(qkv.narrow(2, 0, h), qkv.narrow(2, h, h), qkv.narrow(2, 2 * h, h), maskBias, nh, scale);
            if (graphFree) qkv.release();
        }
        float eps = config.layerNormEps();
        if (!training) {
            // no dropout: projection, bias, residual and post-LN as one GEMM and one row pass (in
            // inference; with a gradient recorded the op composes the differentiable ones)
            Tensor attn = Ops.linearResidualLayerNorm(ctx, l.attentionOut.weight, l.attentionOut.bias, x, l.attentionLnWeight, l.attentionLnBias, eps);
            if (graphFree) ctx.release();
            // the FFN as one op: its intermediate activation never leaves the kernel (Kernels.feedForward)
            Tensor out = Ops.feedForwardResidualLayerNorm(attn, l.intermediate.weight, l.intermediate.bias, activation(), l.output.weight, l.output.bias,
                    l.outputLnWeight, l.outputLnBias, eps);
            if (graphFree) attn.release();
            return out;
        }
        Tensor attn = Ops.layerNorm(Ops.dropout(l.attentionOut.forward(ctx), p, rng, training).add(x), l.attentionLnWeight, l.attentionLnBias, eps);
        Tensor inter = Ops.linear(attn, l.intermediate.weight, l.intermediate.bias, activation());
        return Ops.layerNorm(Ops.dropout(l.output.forward(inter), p, rng, training).add(attn), l.outputLnWeight, l.outputLnBias, eps);
    }

    /** True when any op of layer l on input x would record a gradient (then no activation may be released early). */
    private static boolean layerRecordsGrad(Layer l, Tensor x) {
        return recordsGrad(x, l.query.weight, l.key.weight, l.value.weight, l.query.bias, l.key.bias, l.value.bias,
                l.attentionOut.weight, l.attentionOut.bias, l.attentionLnWeight, l.attentionLnBias,
                l.intermediate.weight, l.intermediate.bias, l.output.weight, l.output.bias, l.outputLnWeight, l.outputLnBias);
    }

    /** True when an op on these tensors would record a gradient. */
    private static boolean recordsGrad(Tensor... ts) {
        if (!Autograd.enabled()) return false;
        for (Tensor t : ts) if (t.requiresGrad()) return true;
        return false;
    }

    private UnaryOp activation() {
        return switch (config.activation()) {
            case "gelu" -> UnaryOp.GELU_ERF;
            case "relu" -> UnaryOp.RELU;
            default -> UnaryOp.GELU_TANH;
        };
    }

    /** [CLS] vectors [batch, hidden]. */
    public static Tensor poolCls(Tensor hidden) {
        return hidden.select(1, 0);
    }

    /** Mean of the real tokens' vectors [batch, hidden] (mask [batch, len], f32 0/1). */
    public static Tensor poolMean(Tensor hidden, Tensor mask) {
        Tensor m = mask.unsqueeze(-1);
        return hidden.mul(m).sum(1, false).div(m.sum(1, false));
    }
}
