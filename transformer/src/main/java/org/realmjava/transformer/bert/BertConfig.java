package org.realmjava.transformer.bert;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.nio.file.Path;

/**
 * BERT sizes and options, with the Hugging Face {@code config.json} names. activation is
 * "gelu" (erf form), "gelu_new"/"gelu_pytorch_tanh" (tanh form) or "relu".
 */
public record BertConfig(int vocabSize, int hiddenSize, int layers, int heads, int intermediateSize,
                         int maxPositions, int typeVocabSize, float layerNormEps, String activation, float dropout) {
    public BertConfig {
        if (hiddenSize <= 0 || heads <= 0 || hiddenSize % heads != 0) {
            throw new IllegalArgumentException("BertConfig: hidden size " + hiddenSize + " is not a multiple of " + heads + " heads");
        }
        if (!activation.equals("gelu") && !activation.equals("gelu_new") && !activation.equals("gelu_pytorch_tanh") && !activation.equals("relu")) {
            throw new IllegalArgumentException("BertConfig: activation '" + activation + "' is not supported (gelu, gelu_new, relu)");
        }
    }

    public int headDim() {
        return hiddenSize / heads;
    }

    /** A tiny configuration for tests. */
    public static BertConfig tiny(int vocab, int hidden, int layers, int heads, int intermediate, int maxPositions) {
        return tiny(vocab, hidden, layers, heads, intermediate, maxPositions, 0.1f);
    }

    public static BertConfig tiny(int vocab, int hidden, int layers, int heads, int intermediate, int maxPositions, float dropout) {
        return new BertConfig(vocab, hidden, layers, heads, intermediate, maxPositions, 2, 1e-12f, "gelu", dropout);
    }

    public static BertConfig read(Path configJson) throws IOException {
        JsonNode c = new ObjectMapper().readTree(configJson.toFile());
        String[] required = {"vocab_size", "hidden_size", "num_hidden_layers", "num_attention_heads", "intermediate_size"};
        for (String r : required) {
            if (!c.has(r)) throw new IllegalArgumentException(configJson + ": missing \"" + r + "\"");
        }
        // models whose config reads like BERT's but whose positions or embeddings work differently
        String type = c.path("model_type").asText("bert");
        if (!java.util.Set.of("bert", "electra").contains(type)) {
            throw new IllegalArgumentException(configJson + ": model_type \"" + type + "\" is not supported (BERT-layout encoders: bert, electra)");
        }
        String positions = c.path("position_embedding_type").asText("absolute");
        if (!positions.equals("absolute")) {
            throw new IllegalArgumentException(configJson + ": position_embedding_type \"" + positions + "\" is not supported (absolute only)");
        }
        if (c.has("embedding_size") && c.get("embedding_size").asInt() != c.get("hidden_size").asInt()) {
            throw new IllegalArgumentException(configJson + ": embedding_size " + c.get("embedding_size").asInt() + " differs from hidden_size (projected embeddings are not supported)");
        }
        return new BertConfig(c.get("vocab_size").asInt(), c.get("hidden_size").asInt(), c.get("num_hidden_layers").asInt(),
                c.get("num_attention_heads").asInt(), c.get("intermediate_size").asInt(), c.path("max_position_embeddings").asInt(512),
                c.path("type_vocab_size").asInt(2), (float) c.path("layer_norm_eps").asDouble(1e-12), c.path("hidden_act").asText("gelu"),
                (float) c.path("hidden_dropout_prob").asDouble(0.1));
    }

    public String toJson() {
        ObjectNode o = new ObjectMapper().createObjectNode();
        o.put("model_type", "bert");
        o.put("vocab_size", vocabSize);
        o.put("hidden_size", hiddenSize);
        o.put("num_hidden_layers", layers);
        o.put("num_attention_heads", heads);
        o.put("intermediate_size", intermediateSize);
        o.put("max_position_embeddings", maxPositions);
        o.put("type_vocab_size", typeVocabSize);
        o.put("layer_norm_eps", layerNormEps);
        o.put("hidden_act", activation);
        o.put("hidden_dropout_prob", dropout);
        o.put("attention_probs_dropout_prob", dropout);
        return o.toPrettyString();
    }
}
