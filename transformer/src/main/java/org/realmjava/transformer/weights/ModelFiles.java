package org.realmjava.transformer.weights;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import org.realmjava.tensor.Tensor;
import org.realmjava.transformer.bert.BertConfig;
import org.realmjava.transformer.bert.BertEncoder;
import org.realmjava.transformer.onnx.OnnxBertLoader;

/**
 * Loads an encoder from what users have: an ONNX file, or a directory with config.json and
 * model.safetensors (Hugging Face layout; names may sit under a module path such as "bert." and
 * use the TF-era LayerNorm gamma/beta; poolers, heads and buffers are ignored). Saving writes
 * that directory layout, which is also the engine's own checkpoint format.
 */
public final class ModelFiles {
    private ModelFiles() {}

    public static BertEncoder load(Path model) {
        if (Files.isDirectory(model)) {
            Path config = model.resolve("config.json"), weights = model.resolve("model.safetensors");
            if (!Files.exists(config)) throw new IllegalArgumentException(model + ": no config.json");
            if (!Files.exists(weights)) throw new IllegalArgumentException(model + ": no model.safetensors");
            BertConfig c;
            try {
                c = BertConfig.read(config);
            } catch (IOException e) {
                throw new IllegalArgumentException(config + ": cannot read: " + e.getMessage().lines().findFirst().orElse(""));
            }
            Map<String, Tensor> raw = Safetensors.read(weights), named = new LinkedHashMap<>();
            raw.forEach((k, v) -> {
                String name = BertEncoder.parameterName(k);
                if (name != null && named.put(name, v) != null) throw new IllegalArgumentException(weights + ": two tensors map to " + name);
            });
            try {
                return BertEncoder.fromParameters(c, named);
            } catch (IllegalArgumentException e) {
                throw new IllegalArgumentException(weights + ": " + e.getMessage());
            }
        }
        if (!Files.exists(model)) throw new IllegalArgumentException(model + ": no such file or directory");
        return OnnxBertLoader.load(model).encoder();
    }

    /** Writes config.json and model.safetensors into dir (each atomically). */
    public static void save(BertEncoder encoder, Path dir) throws IOException {
        Files.createDirectories(dir);
        Path cfgTmp = org.realmjava.io.TempFiles.create(dir, ".config.json", ".tmp");
        Files.writeString(cfgTmp, encoder.config.toJson(), StandardCharsets.UTF_8);
        Files.move(cfgTmp, dir.resolve("config.json"), java.nio.file.StandardCopyOption.ATOMIC_MOVE, java.nio.file.StandardCopyOption.REPLACE_EXISTING);
        Safetensors.write(dir.resolve("model.safetensors"), encoder.namedParameters(), Map.of("format", "pt"));
    }
}
