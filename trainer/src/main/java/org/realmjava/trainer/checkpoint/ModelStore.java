package org.realmjava.trainer.checkpoint;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import org.realmjava.tensor.Autograd;
import org.realmjava.tensor.Tensor;
import org.realmjava.tensor.nn.Linear;
import org.realmjava.trainer.model.RealmModel;
import org.realmjava.trainer.model.RetrieverSpec;
import org.realmjava.transformer.bert.BertEncoder;
import org.realmjava.transformer.bert.MaskedLanguageModelHead;
import org.realmjava.transformer.weights.ModelFiles;
import org.realmjava.transformer.weights.Safetensors;

/**
 * A REALM model on disk, inside a checkpoint directory: {@code realm-model.json} (the retriever
 * spec and a format tag), {@code query/}, {@code doc/} (absent when the towers are shared) and
 * {@code reader/} as Hugging Face BERT directories (config.json + model.safetensors: any tool that
 * reads BERT reads them), and {@code heads.safetensors} (projections and the MLM head).
 */
public final class ModelStore {
    public static final String MANIFEST = "realm-model.json";
    static final String FORMAT = "realm-java/realm-model/1";

    private ModelStore() {}

    public static boolean isModelDirectory(Path dir) {
        return Files.isRegularFile(dir.resolve(MANIFEST));
    }

    public static void save(RealmModel m, Path dir) throws IOException {
        Files.createDirectories(dir);
        ModelFiles.save(m.queryTower, dir.resolve("query"));
        if (!m.spec.sharedTowers()) ModelFiles.save(m.docTower, dir.resolve("doc"));
        ModelFiles.save(m.reader, dir.resolve("reader"));
        Map<String, Tensor> heads = new LinkedHashMap<>();
        m.queryProjection.collectParameters("query_projection.", heads);
        m.docProjection.collectParameters("doc_projection.", heads);
        m.mlm.collectParameters("", heads);
        Safetensors.write(dir.resolve("heads.safetensors"), heads, Map.of("format", "pt"));
        ObjectMapper json = new ObjectMapper();
        var manifest = json.createObjectNode().put("format", FORMAT);
        manifest.set("retriever", json.readTree(m.spec.toJson()));
        Files.writeString(dir.resolve(MANIFEST), manifest.toPrettyString(), StandardCharsets.UTF_8);
    }

    /** Loads what {@link #save} wrote; every parameter trainable. Errors name the directory and what is wrong. */
    public static RealmModel load(Path dir) {
        Path manifest = dir.resolve(MANIFEST);
        if (!Files.isDirectory(dir)) throw new IllegalArgumentException(dir + ": no such checkpoint directory");
        if (!Files.isRegularFile(manifest)) throw new IllegalArgumentException(dir + ": not a REALM checkpoint (no " + MANIFEST + ")");
        JsonNode m;
        try {
            m = new ObjectMapper().readTree(manifest.toFile());
        } catch (IOException e) {
            throw new IllegalArgumentException(manifest + ": cannot read: " + e.getMessage().lines().findFirst().orElse(""));
        }
        if (!FORMAT.equals(m.path("format").asText())) {
            throw new IllegalArgumentException(manifest + ": format '" + m.path("format").asText() + "', expected " + FORMAT);
        }
        RetrieverSpec spec = RetrieverSpec.fromJson(m.path("retriever"));
        BertEncoder query = trainable(ModelFiles.load(dir.resolve("query")));
        BertEncoder doc = spec.sharedTowers() ? query : trainable(ModelFiles.load(dir.resolve("doc")));
        BertEncoder reader = trainable(ModelFiles.load(dir.resolve("reader")));
        Map<String, Tensor> heads = Safetensors.read(dir.resolve("heads.safetensors"));
        MaskedLanguageModelHead mlm = new MaskedLanguageModelHead(reader, 0);
        Linear qp = projection(heads, "query_projection.", dir), dp = projection(heads, "doc_projection.", dir);
        copyInto(mlm.namedParameters(), heads, dir);
        RealmModel model = new RealmModel(spec, query, doc, qp, dp, reader, mlm);
        // checksums catch damage on disk; this catches a checkpoint written with a NaN in it
        for (var e : model.namedParameters().entrySet()) {
            if (!org.realmjava.tensor.optim.Optimizer.finite(e.getValue())) {
                throw new IllegalArgumentException(dir + ": weight " + e.getKey() + " holds a NaN or an infinity");
            }
        }
        return model;
    }

    /** Marks every parameter of a loaded encoder as trainable. */
    public static BertEncoder trainable(BertEncoder e) {
        e.namedParameters().values().forEach(t -> t.requiresGrad(true));
        return e;
    }

    private static Linear projection(Map<String, Tensor> heads, String prefix, Path dir) {
        Tensor w = heads.get(prefix + "weight");
        if (w == null) throw new IllegalArgumentException(dir + "/heads.safetensors: missing " + prefix + "weight");
        Tensor b = heads.get(prefix + "bias");
        return new Linear(w.requiresGrad(true), b == null ? null : b.requiresGrad(true));
    }

    private static void copyInto(Map<String, Tensor> params, Map<String, Tensor> saved, Path dir) {
        try (var g = Autograd.noGrad()) {
            for (var e : params.entrySet()) {
                Tensor s = saved.get(e.getKey());
                if (s == null) throw new IllegalArgumentException(dir + "/heads.safetensors: missing " + e.getKey());
                if (!java.util.Arrays.equals(s.shape(), e.getValue().shape())) {
                    throw new IllegalArgumentException(dir + "/heads.safetensors: " + e.getKey() + " has shape " + java.util.Arrays.toString(s.shape())
                            + ", the model needs " + java.util.Arrays.toString(e.getValue().shape()));
                }
                e.getValue().copyFrom(s);
            }
        }
    }
}
