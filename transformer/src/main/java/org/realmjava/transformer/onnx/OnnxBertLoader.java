package org.realmjava.transformer.onnx;

import java.nio.file.Path;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.realmjava.tensor.Tensor;
import org.realmjava.transformer.bert.BertConfig;
import org.realmjava.transformer.bert.BertEncoder;

/**
 * Maps a BERT-family ONNX export onto {@link BertEncoder}. Works from the graph, not from one
 * file's naming: a MatMul's constant operand B of {@code A @ B} is [in, out] (so it is transposed
 * into the [out, in] layout), and its name comes from the bias added to its output
 * ({@code X.bias} names weight {@code X.weight}), or from the node name when there is no bias;
 * Gemm honours transB. Sizes come from the tensors (vocabulary, hidden, positions, layers,
 * intermediate), the head count from the attention scale constant (1/sqrt(head_dim) or
 * sqrt(head_dim)), the LayerNorm epsilon from the constant added before Sqrt, the activation from
 * the ops used (Erf: exact GELU; Tanh: tanh form). What cannot be mapped is named in the error.
 */
public final class OnnxBertLoader {
    private static final Pattern LAYER = Pattern.compile("encoder\\.layer\\.(\\d+)\\.");
    private static final Pattern NODE_PATH = Pattern.compile("/?encoder/layer\\.(\\d+)/(.+)/(MatMul|Gemm)\\w*");

    private OnnxBertLoader() {}

    /** The encoder and the graph facts it was derived from. */
    public record Loaded(BertEncoder encoder, BertConfig config, List<String> notes) {}

    public static Loaded load(Path onnx) {
        OnnxModel m = OnnxModel.read(onnx);
        Map<String, OnnxModel.Constant> consts = m.constants();
        if (m.nodes().stream().anyMatch(n -> n.opType().equals("CumSum"))) {
            throw new OnnxFormatException(onnx + ": position ids are computed from the input (CumSum, as RoBERTa-style models do); only BERT's absolute positions 0..L-1 are supported");
        }
        Map<String, List<OnnxModel.Node>> consumers = new HashMap<>();
        for (OnnxModel.Node n : m.nodes()) for (String in : n.inputs()) consumers.computeIfAbsent(in, k -> new java.util.ArrayList<>()).add(n);
        Map<String, Tensor> params = new LinkedHashMap<>();
        List<String> notes = new java.util.ArrayList<>();
        // named constants that already carry Hugging Face names (embeddings, biases, LayerNorm)
        for (OnnxModel.Constant c : consts.values()) {
            String name = stripPrefix(c.name());
            if (c.floats() != null && name != null) params.put(name, Tensor.of(c.floats(), c.shape()));
        }
        // weights of MatMul / Gemm nodes
        Map<String, OnnxModel.Node> producer = new HashMap<>();
        for (OnnxModel.Node n : m.nodes()) for (String o : n.outputs()) producer.put(o, n);
        OnnxModel.Node firstIntermediate = null;
        for (OnnxModel.Node n : m.nodes()) {
            boolean gemm = n.opType().equals("Gemm");
            if (!gemm && !n.opType().equals("MatMul")) continue;
            if (n.inputs().size() < 2) continue;
            OnnxModel.Constant w = consts.get(n.inputs().get(1));
            boolean transposedInGraph = false; // B = Transpose(W) with W stored [out, in]: exports without constant folding
            OnnxModel.Node bProducer = producer.get(n.inputs().get(1));
            if (w == null && bProducer != null && bProducer.opType().equals("Transpose") && consts.containsKey(bProducer.inputs().get(0))) {
                Object perm = bProducer.attributes().get("perm");
                if (perm == null || perm.equals(List.of(1L, 0L))) {
                    w = consts.get(bProducer.inputs().get(0));
                    transposedInGraph = true;
                }
            }
            if (w == null || w.floats() == null || w.shape().length != 2) continue; // activation x activation (attention)
            String name = gemm && n.inputs().size() > 2 && consts.containsKey(n.inputs().get(2)) ? weightNameFromBias(n.inputs().get(2)) : null;
            if (name == null) name = biasAddedAfter(n, consumers, consts);
            if (name == null) name = fromNodeName(n.name());
            if (name == null) {
                String outside = outsideEncoder(n, w, consumers, consts);
                if (outside != null) { // a pooler or a task head exported with the encoder
                    notes.add("ignored " + outside + " (not part of the encoder)");
                    continue;
                }
                throw new OnnxFormatException(onnx + ": cannot name the weight " + w.name() + " " + java.util.Arrays.toString(w.shape())
                        + " of node " + n.name() + " (no bias add and no encoder/layer.N node path)");
            }
            if (name.equals("encoder.layer.0.intermediate.dense.weight")) firstIntermediate = n;
            boolean alreadyOutIn = (gemm && Long.valueOf(1L).equals(n.attributes().get("transB"))) != transposedInGraph;
            Tensor t = Tensor.of(w.floats(), w.shape());
            params.put(name, alreadyOutIn ? t : t.transpose(0, 1).contiguous());
            if (gemm && n.inputs().size() > 2 && consts.containsKey(n.inputs().get(2))) {
                OnnxModel.Constant bias = consts.get(n.inputs().get(2));
                params.putIfAbsent(name.replace(".weight", ".bias"), Tensor.of(bias.floats(), bias.shape()));
            }
        }
        Tensor word = params.get("embeddings.word_embeddings.weight");
        if (word == null) throw new OnnxFormatException(onnx + ": no embeddings.word_embeddings.weight initializer (not a BERT export?)");
        int hidden = (int) word.size(1);
        TreeSet<Integer> layerIds = new TreeSet<>();
        for (String k : params.keySet()) {
            Matcher lm = LAYER.matcher(k);
            if (lm.find()) layerIds.add(Integer.parseInt(lm.group(1)));
        }
        if (layerIds.isEmpty()) throw new OnnxFormatException(onnx + ": found no encoder.layer.N parameters");
        Tensor inter = params.get("encoder.layer.0.intermediate.dense.bias");
        if (inter == null) throw new OnnxFormatException(onnx + ": missing encoder.layer.0.intermediate.dense.bias");
        int heads = headCount(m, consts, hidden, onnx);
        float eps = layerNormEps(m, consts, notes);
        String act = activation(firstIntermediate, consumers, onnx);
        Tensor pos = params.get("embeddings.position_embeddings.weight");
        Tensor type = params.get("embeddings.token_type_embeddings.weight");
        if (pos == null || type == null) throw new OnnxFormatException(onnx + ": missing position or token type embeddings");
        BertConfig config = new BertConfig((int) word.size(0), hidden, layerIds.last() + 1, heads, (int) inter.size(0),
                (int) pos.size(0), (int) type.size(0), eps, act, 0.1f);
        notes.add("heads " + heads + " from the attention scale; activation " + act);
        try {
            return new Loaded(BertEncoder.fromParameters(config, params), config, notes);
        } catch (IllegalArgumentException e) {
            throw new OnnxFormatException(onnx + ": " + e.getMessage());
        }
    }

    /**
     * The feed-forward activation, from the ops between the first intermediate projection and the
     * next MatMul (not from the whole graph: a pooler adds a Tanh to models whose GELU is exact,
     * or whose activation is ReLU).
     */
    private static String activation(OnnxModel.Node intermediate, Map<String, List<OnnxModel.Node>> consumers, Path onnx) {
        if (intermediate == null) throw new OnnxFormatException(onnx + ": no MatMul/Gemm maps to encoder.layer.0.intermediate.dense.weight");
        java.util.Set<String> ops = new java.util.HashSet<>();
        java.util.ArrayDeque<String> frontier = new java.util.ArrayDeque<>(intermediate.outputs());
        java.util.Set<String> seen = new java.util.HashSet<>();
        while (!frontier.isEmpty() && seen.size() < 64) {
            String t = frontier.poll();
            if (!seen.add(t)) continue;
            for (OnnxModel.Node c : consumers.getOrDefault(t, List.of())) {
                if (c.opType().equals("MatMul") || c.opType().equals("Gemm")) continue; // the output projection
                if (c.opType().equals("Gelu") || c.opType().equals("FastGelu")) {
                    ops.add(("tanh".equals(c.attributes().get("approximate")) || c.opType().equals("FastGelu")) ? "Tanh" : "Erf");
                }
                ops.add(c.opType());
                frontier.addAll(c.outputs());
            }
        }
        if (ops.contains("Erf")) return "gelu";
        if (ops.contains("Tanh")) return "gelu_new";
        if (ops.contains("Relu")) return "relu";
        throw new OnnxFormatException(onnx + ": unsupported feed-forward activation (ops after the intermediate projection: " + new java.util.TreeSet<>(ops) + ")");
    }

    /**
     * The module path of a MatMul/Gemm weight that lies outside the embeddings and the encoder
     * (from the weight's own name, its bias or the node's scope name), or null when nothing names it.
     */
    private static String outsideEncoder(OnnxModel.Node n, OnnxModel.Constant w, Map<String, List<OnnxModel.Node>> consumers,
                                         Map<String, OnnxModel.Constant> consts) {
        List<String> names = new java.util.ArrayList<>();
        names.add(w.name());
        if (n.inputs().size() > 2) names.add(n.inputs().get(2));
        for (OnnxModel.Node add : consumers.getOrDefault(n.outputs().get(0), List.of())) {
            if (add.opType().equals("Add")) for (String in : add.inputs()) if (consts.containsKey(in)) names.add(in);
        }
        for (String candidate : names) {
            if (candidate.matches("[\\w.]*\\.(weight|bias)") && stripPrefix(candidate) == null) return candidate.replaceAll("\\.(weight|bias)$", "");
        }
        String node = n.name();
        if (node.startsWith("/") && node.lastIndexOf('/') > 0 && !node.contains("/encoder/") && !node.contains("/embeddings/")) {
            return node.substring(0, node.lastIndexOf('/'));
        }
        return null;
    }

    /** The Hugging Face parameter name (see {@link BertEncoder#parameterName}), or null outside the encoder. */
    private static String stripPrefix(String name) {
        return BertEncoder.parameterName(name);
    }

    private static String weightNameFromBias(String biasName) {
        String b = stripPrefix(biasName);
        return b != null && b.endsWith(".bias") ? b.substring(0, b.length() - 5) + ".weight" : null;
    }

    /** The weight name implied by a named bias added to the MatMul output. */
    private static String biasAddedAfter(OnnxModel.Node matmul, Map<String, List<OnnxModel.Node>> consumers, Map<String, OnnxModel.Constant> consts) {
        for (OnnxModel.Node add : consumers.getOrDefault(matmul.outputs().get(0), List.of())) {
            if (!add.opType().equals("Add")) continue;
            for (String in : add.inputs()) {
                OnnxModel.Constant c = consts.get(in);
                if (c != null && c.shape().length == 1 && in.endsWith(".bias")) return weightNameFromBias(in);
            }
        }
        return null;
    }

    private static String fromNodeName(String nodeName) {
        Matcher m = NODE_PATH.matcher(nodeName);
        if (!m.find()) return null;
        return "encoder.layer." + m.group(1) + "." + m.group(2).replace('/', '.') + ".weight";
    }

    /**
     * head_dim from the scale applied to the attention scores: the product of every scalar
     * constant multiplied into (or divided out of) the path from a Softmax back to the MatMul of
     * two activations, and into that MatMul's operands (q and k scaled before the product). That
     * product is 1/sqrt(head_dim) for Div by sqrt(d), Mul by 1/sqrt(d), and q and k each scaled by
     * d^-1/4.
     */
    private static int headCount(OnnxModel m, Map<String, OnnxModel.Constant> consts, int hidden, Path onnx) {
        Map<String, OnnxModel.Node> producer = new HashMap<>();
        for (OnnxModel.Node n : m.nodes()) for (String o : n.outputs()) producer.put(o, n);
        for (OnnxModel.Node n : m.nodes()) {
            if (!n.opType().equals("Softmax")) continue;
            Double scale = scoreScale(n.inputs().get(0), producer, consts, 0);
            if (scale == null || !(scale > 0)) continue;
            double dd = 1.0 / (scale * scale);
            long d = Math.round(dd);
            if (d > 0 && Math.abs(dd - d) < 1e-3 * d && hidden % d == 0) return (int) (hidden / d);
            throw new OnnxFormatException(onnx + ": the attention scores are scaled by " + scale
                    + ", which is not 1/sqrt(head_dim) for a head_dim dividing hidden size " + hidden);
        }
        throw new OnnxFormatException(onnx + ": cannot determine the number of attention heads (no Softmax over scaled Q K^T found)");
    }

    private static final java.util.Set<String> PASS_THROUGH = java.util.Set.of("Transpose", "Reshape", "Squeeze", "Unsqueeze", "Cast", "Identity");

    /** The scalar factor on the way back from {@code name} to an activation x activation MatMul, or null. */
    private static Double scoreScale(String name, Map<String, OnnxModel.Node> producer, Map<String, OnnxModel.Constant> consts, int depth) {
        OnnxModel.Node n = producer.get(name);
        if (n == null || depth > 12) return null;
        switch (n.opType()) {
            case "MatMul" -> {
                if (n.inputs().size() != 2 || consts.containsKey(n.inputs().get(0)) || consts.containsKey(n.inputs().get(1))) return null;
                return operandScale(n.inputs().get(0), producer, consts) * operandScale(n.inputs().get(1), producer, consts);
            }
            case "Mul", "Div" -> {
                Double c = scalarOperand(n, consts);
                if (c != null) {
                    Double f = scoreScale(n.inputs().get(consts.containsKey(n.inputs().get(0)) ? 1 : 0), producer, consts, depth + 1);
                    return f == null ? null : n.opType().equals("Mul") ? f * c : f / c;
                }
            }
            default -> {}
        }
        if (PASS_THROUGH.contains(n.opType())) return scoreScale(n.inputs().get(0), producer, consts, depth + 1);
        // Add (the mask), Where, Sub, ...: the scores are whichever operand leads to the product
        for (String in : n.inputs()) {
            if (consts.containsKey(in)) continue;
            Double f = scoreScale(in, producer, consts, depth + 1);
            if (f != null) return f;
        }
        return null;
    }

    /** Scalar factors applied to q or k (through reshapes and transposes) before their product. */
    private static double operandScale(String name, Map<String, OnnxModel.Node> producer, Map<String, OnnxModel.Constant> consts) {
        double f = 1;
        for (int step = 0; step < 12; step++) {
            OnnxModel.Node n = producer.get(name);
            if (n == null) break;
            if (PASS_THROUGH.contains(n.opType())) {
                name = n.inputs().get(0);
                continue;
            }
            Double c = (n.opType().equals("Mul") || n.opType().equals("Div")) ? scalarOperand(n, consts) : null;
            if (c == null) break;
            f = n.opType().equals("Mul") ? f * c : f / c;
            name = n.inputs().get(consts.containsKey(n.inputs().get(0)) ? 1 : 0);
        }
        return f;
    }

    /** The value of a one-element float constant operand (the divisor for Div), or null. */
    private static Double scalarOperand(OnnxModel.Node n, Map<String, OnnxModel.Constant> consts) {
        if (n.inputs().size() != 2) return null;
        int at = n.opType().equals("Div") ? 1 : consts.containsKey(n.inputs().get(0)) ? 0 : 1;
        OnnxModel.Constant c = consts.get(n.inputs().get(at));
        if (c == null || c.floats() == null || c.numel() != 1 || consts.containsKey(n.inputs().get(1 - at))) return null;
        return (double) c.floats()[0];
    }

    /** eps: a LayerNormalization attribute, or the scalar added to the variance before Sqrt. */
    private static float layerNormEps(OnnxModel m, Map<String, OnnxModel.Constant> consts, List<String> notes) {
        Map<String, OnnxModel.Node> producer = new HashMap<>();
        for (OnnxModel.Node n : m.nodes()) for (String o : n.outputs()) producer.put(o, n);
        for (OnnxModel.Node n : m.nodes()) {
            if (n.opType().equals("LayerNormalization") && n.attributes().get("epsilon") instanceof Float f) return f;
            if (!n.opType().equals("Sqrt")) continue;
            OnnxModel.Node add = producer.get(n.inputs().get(0));
            if (add == null || !add.opType().equals("Add")) continue;
            for (String in : add.inputs()) {
                OnnxModel.Constant c = consts.get(in);
                if (c != null && c.floats() != null && c.numel() == 1) return c.floats()[0];
            }
        }
        notes.add("LayerNorm epsilon not found in the graph; using 1e-12");
        return 1e-12f;
    }
}
