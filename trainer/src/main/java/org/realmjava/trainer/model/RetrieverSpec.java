package org.realmjava.trainer.model;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;

/**
 * How the retriever turns a tower's hidden states into the vector whose inner products are the
 * retrieval scores: pooling ("cls" or "mean", as the init model was trained), optional L2
 * normalisation (sentence-transformers models such as all-MiniLM-L6-v2 were trained on cosine
 * similarity), a linear projection to projectionDim, and the scale of the score:
 * f(x, z) = scoreScale * Embed_query(x) . Embed_doc(z). sharedTowers: one BERT for both sides.
 */
public record RetrieverSpec(String pooling, boolean normalize, float scoreScale, int projectionDim, boolean sharedTowers) {
    public RetrieverSpec {
        if (!pooling.equals("cls") && !pooling.equals("mean")) throw new IllegalArgumentException("pooling must be cls or mean, got '" + pooling + "'");
        if (projectionDim <= 0) throw new IllegalArgumentException("projection_dim must be positive, got " + projectionDim);
        if (!(scoreScale > 0)) throw new IllegalArgumentException("score scale must be positive, got " + scoreScale);
    }

    public String toJson() {
        ObjectNode n = new ObjectMapper().createObjectNode();
        n.put("pooling", pooling).put("normalize", normalize).put("score_scale", scoreScale).put("projection_dim", projectionDim)
                .put("shared_towers", sharedTowers);
        return n.toPrettyString();
    }

    public static RetrieverSpec fromJson(JsonNode n) {
        return new RetrieverSpec(n.path("pooling").asText(), n.path("normalize").asBoolean(), (float) n.path("score_scale").asDouble(),
                n.path("projection_dim").asInt(), n.path("shared_towers").asBoolean());
    }
}
