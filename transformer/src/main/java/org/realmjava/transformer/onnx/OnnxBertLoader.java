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
        Map<String, List<OnnxModel.Node>> consumers = new HashMap<>();
        for (OnnxModel.Node n : m.nodes()) for (String in : n.inputs()) consumers.computeIfAbsent(in, k -> new java.util.ArrayList<>()).add(n);
        Map<String, Tensor> params = new LinkedHashMap<>();
        List<String> notes = new java.util.ArrayList<>();
        // named constants that already carry Hugging Face names (embeddings, biases, LayerNorm)
        for (OnnxModel.Constant c : consts.values()) {
            if (c.floats() != null && c.name().matches("(bert\\.)?(embeddings|encoder)\\..*")) params.put(stripPrefix(c.name()), Tensor.of(c.floats(), c.shape()));
        }
        // weights of MatMul / Gemm nodes
        for (OnnxModel.Node n : m.nodes()) {
            boolean gemm = n.opType().equals("Gemm");
            if (!gemm && !n.opType().equals("MatMul")) continue;
            if (n.inputs().size() < 2) continue;
            OnnxModel.Constant w = consts.get(n.inputs().get(1));
            if (w == null || w.floats() == null || w.shape().length != 2) continue; // activation x activation (attention)
            String name = gemm && n.inputs().size() > 2 && consts.containsKey(n.inputs().get(2)) ? weightNameFromBias(n.inputs().get(2)) : null;
            if (name == null) name = biasAddedAfter(n, consumers, consts);
            if (name == null) name = fromNodeName(n.name());
            if (name == null) {
                throw new OnnxFormatException(onnx + ": cannot name the weight " + w.name() + " " + java.util.Arrays.toString(w.shape())
                        + " of node " + n.name() + " (no bias add and no encoder/layer.N node path)");
            }
            boolean alreadyOutIn = gemm && Long.valueOf(1L).equals(n.attributes().get("transB"));
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
        String act = m.nodes().stream().anyMatch(n -> n.opType().equals("Erf")) ? "gelu"
                : m.nodes().stream().anyMatch(n -> n.opType().equals("Tanh")) ? "gelu_new" : "relu";
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

    private static String stripPrefix(String name) {
        return name.startsWith("bert.") ? name.substring(5) : name;
    }

    private static String weightNameFromBias(String biasName) {
        String b = stripPrefix(biasName);
        return b.endsWith(".bias") ? b.substring(0, b.length() - 5) + ".weight" : null;
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

    /** head_dim from the constant that scales Q K^T: Div by sqrt(d) or Mul by 1/sqrt(d). */
    private static int headCount(OnnxModel m, Map<String, OnnxModel.Constant> consts, int hidden, Path onnx) {
        Map<String, OnnxModel.Node> producer = new HashMap<>();
        for (OnnxModel.Node n : m.nodes()) for (String o : n.outputs()) producer.put(o, n);
        for (OnnxModel.Node n : m.nodes()) {
            if (!n.opType().equals("Div") && !n.opType().equals("Mul")) continue;
            if (n.inputs().size() != 2) continue;
            OnnxModel.Node from = producer.get(n.inputs().get(0));
            OnnxModel.Constant c = consts.get(n.inputs().get(1));
            if (from == null || c == null || c.floats() == null || c.numel() != 1) continue;
            // the scaled product of two activations (no constant operand): attention scores, or the scaled query
            boolean scoresOrQuery = from.opType().equals("MatMul") || from.opType().equals("Transpose") || from.opType().equals("Add");
            if (!scoresOrQuery) continue;
            double v = c.floats()[0];
            double dd = n.opType().equals("Div") ? v * v : 1.0 / (v * v);
            long d = Math.round(dd);
            // Mul by 1/sqrt(sqrt(d)) on both q and k is another export pattern
            if (d > 0 && Math.abs(dd - d) < 1e-3 * d && hidden % d == 0 && d >= 8 && d <= hidden) return (int) (hidden / d);
            long d4 = Math.round(dd * dd);
            if (n.opType().equals("Mul") && d4 > 0 && Math.abs(dd * dd - d4) < 1e-2 * d4 && hidden % d4 == 0 && d4 >= 8) return (int) (hidden / d4);
        }
        throw new OnnxFormatException(onnx + ": cannot determine the number of attention heads (no 1/sqrt(head_dim) scale found)");
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
